"""Editing a candidate: every turn editable with a live RTL preview; saving makes a revision."""

from __future__ import annotations

from pydantic import ValidationError
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from curator.services.triage import save_revision
from curator.models import Example, Message
from curator.errors import CuratorError
from curator.display.inert import visible
from curator.tui.widgets.keyline import KeyLine
from curator.tui.widgets.editor import TurnEditor
from curator.tui.widgets.inert import ShowsFormError, plain


class EditScreen(ShowsFormError, ModalScreen[int | None]):
    """ctrl+s saves a revision that supersedes the original (kept, but out of the queues) and runs the
    cheap gates; escape cancels."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save revision", id="edit.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="edit.cancel"),
    ]
    DEFAULT_CSS = """
    EditScreen { background: $background 60%; }
    EditScreen > VerticalScroll { margin: 1 2; border: round $accent; background: $surface; padding: 0 1; }
    EditScreen #error { color: $error; height: auto; }
    """

    def __init__(self, example: Example) -> None:
        super().__init__()
        self.example = example

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(plain(f"Editing #{self.example.id} ({self.example.family}); ctrl+s saves a revision, "
                               "escape cancels"))
            for turn in self.example.messages:
                yield TurnEditor(turn.role, turn.content, mode=self.app.bidi_mode, editable=not turn.tool_calls,
                                 turn=turn)
            yield Static("", id="error", markup=False)
        yield KeyLine()

    def on_mount(self) -> None:
        self.query(TurnEditor).first().query_one("TextArea").focus()

    def action_save(self) -> None:
        editors = list(self.query(TurnEditor))
        try:
            messages = [Message(**editor.message()) for editor in editors]
        except ValidationError as exc:
            self.show_error(plain(f"not saved: {exc.errors()[0]['msg'].removeprefix('Value error, ')}"))
            return
        if messages == self.example.messages:
            self.dismiss(None)
            return
        try:
            revision_id = save_revision(self.app.store, self.example.id, messages, self.app.families)
        except CuratorError as exc:  # busy, read-only, or no longer editable: nothing was written
            self.show_error(plain(f"not saved: {exc}"))
            self.app.show_error(visible(f"revision not saved: {exc}"))
            return
        self.dismiss(revision_id)

    def action_cancel(self) -> None:
        self.dismiss(None)
