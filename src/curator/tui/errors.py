"""The app's one error path. Errors met in normal use (`EXPECTED_ERRORS`: every `CuratorError` — a
busy, read-only, full, damaged or deleted database, a refused export — a file the system refuses, a
value that does not validate) are shown to the curator as one line (`describe`) and the screen goes
on. Where they are met:
- a screen's action or handler on the UI thread: `guarded` (or `attempt`, which also says whether it worked);
- a worker: its screen mixes in `ShowsWorkerErrors` (or the worker posts its own message), and the
  app's `_handle_exception` shows any worker failure that reaches it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from curator.display.inert import visible
from curator.errors import CuratorError

EXPECTED_ERRORS = (CuratorError, OSError, ValueError)


def describe(error: BaseException, what: str = "") -> str:
    """One inert line for the curator: a CuratorError's message and hint, another error's type and text,
    after `what` (the action that failed) if given."""
    text = error.line() if isinstance(error, CuratorError) else f"{type(error).__name__}: {error}"
    return visible(f"{what}: {text}" if what else text)


def guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run a screen method; an expected error is shown (`app.show_error`) instead of ending the app."""

    @functools.wraps(method)
    def wrapper(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except EXPECTED_ERRORS as exc:
            self.app.show_error(describe(exc))
            return None

    return wrapper


def attempt(app, what: str, fn: Callable[[], Any]) -> tuple[Any, bool]:
    """Run a write on the UI thread; an expected error is shown ("<what> not saved: ...") and changes
    nothing. Returns (result, whether it worked)."""
    try:
        return fn(), True
    except EXPECTED_ERRORS as exc:
        app.show_error(describe(exc, f"{what} not saved"))
        return None, False
