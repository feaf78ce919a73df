"""Messages the app's workers and screens send each other."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class CoverageLoaded(Message):
    """Live coverage counts, computed in a worker (or why there are none)."""

    def __init__(self, live: Any | None, error: str | None = None) -> None:
        super().__init__()
        self.live = live
        self.error = error


class BidiChanged(Message):
    """The `b` toggle: who reorders right-to-left text now (`app` or `terminal`)."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode


class DataChanged(Message):
    """Something changed the store behind the screen's back (a palette command finished): reload."""
