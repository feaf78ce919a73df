"""What every service shares: the progress callback and the cancel token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

Progress = Callable[[int, int], None]  # (done, total)


class Cancel(Protocol):
    """Anything with `is_set()`: a `threading.Event`, or `NEVER`."""

    def is_set(self) -> bool: ...


class _Never:
    def is_set(self) -> bool:
        return False


NEVER: Cancel = _Never()
