"""The progress callback and the cancel token every long task takes (services, the job engine, gates, import)."""

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
