"""Messages the app's workers and screens send each other."""

from __future__ import annotations

from typing import Any

from textual.message import Message
from textual.worker import NoActiveWorker, get_current_worker


class Reading(Message):
    """What a worker read from the store for a screen. An exclusive worker is cancelled when a newer one
    of its group starts, and its thread still ends and posts: such a reading is `stale`, and the handler
    drops it, so a slow older reading never overwrites a newer one (an import's counts, a new filter's
    queue). Checked where the message is handled, on the UI thread that cancels: no race."""

    def __init__(self) -> None:
        super().__init__()
        try:
            self.worker = get_current_worker()
        except NoActiveWorker:  # made outside a worker (a test, a direct call): never superseded
            self.worker = None

    @property
    def stale(self) -> bool:
        return self.worker is not None and self.worker.is_cancelled


class CoverageLoaded(Message):
    """Live coverage counts, computed in a worker (or why there are none)."""

    def __init__(self, live: Any | None, error: str | None = None, shown: bool = False) -> None:
        super().__init__()
        self.live = live
        self.error = error
        self.shown = shown  # the error is shown as one (not only where coverage would be)


class BidiChanged(Message):
    """The `b` toggle: who reorders right-to-left text now (`app` or `terminal`)."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode


class DataChanged(Message):
    """Something changed the store behind the screen's back (a palette command finished): reload."""
