"""The one base of every error met in normal use: a busy, read-only, full or damaged database, a bad
file, row or setting, a refused export, an unreachable teacher. Its message names the file, row or
setting; its `hint` says what to do. The shells show it (the CLI as one line and a non-zero exit, the
app as a message on screen) and go on; anything else is a bug.

Control flow that never reaches the curator (a cancelled import, a lost job lease) is not one of them.
"""

from __future__ import annotations


class CuratorError(Exception):
    """An expected error: `str(error)` says what went wrong, `hint` what to do (may be empty)."""

    hint: str = ""

    def __init__(self, *args: object, hint: str = "") -> None:
        super().__init__(*args)
        if hint:
            self.hint = hint

    @property
    def message(self) -> str:
        return str(self)

    def line(self) -> str:
        """The message and its hint, on one line."""
        return f"{self}; {self.hint}" if self.hint else str(self)
