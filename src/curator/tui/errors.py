"""Errors met in normal use (a busy or damaged database, a full disk, bad input) are shown to the
curator and the screen goes on: `guarded` wraps an action or handler that may meet one."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from curator.display.inert import visible
from curator.store import StoreError

EXPECTED_ERRORS = (StoreError, OSError, ValueError)


def guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run a screen method; an expected error is shown (`app.show_error`) instead of ending the app."""

    @functools.wraps(method)
    def wrapper(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except EXPECTED_ERRORS as exc:
            self.app.show_error(visible(str(exc) if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"))
            return None

    return wrapper
