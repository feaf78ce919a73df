"""TurnEditor: an inert TextArea for one turn with a live right-to-left preview of what is typed.

A TextArea shows logical order, which is unreadable for Persian; the preview below it runs the same
RTL pipeline as everywhere else, updated on every change. Control characters are drawn as pictures
and saved as they were (see widgets.inert).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static, TextArea

from curator.tui.widgets.inert import InertTextArea, plain

from curator.tui.widgets.rtl import RtlText


class TurnEditor(Vertical):
    DEFAULT_CSS = """
    TurnEditor { height: auto; margin-bottom: 1; }
    TurnEditor .role { text-style: bold; color: $secondary; height: 1; }
    TurnEditor TextArea { height: 5; }
    TurnEditor .preview { color: $text-muted; border-left: wide $accent; padding-left: 1; }
    """

    def __init__(self, role: str, text: str, *, mode: str = "app", editable: bool = True, turn=None) -> None:
        super().__init__(classes=role)
        self.role = role
        self.turn = turn  # the Message being edited, if any (its tool calls are kept as they are)
        self.initial = text
        self.mode = mode
        self.editable = editable

    def compose(self) -> ComposeResult:
        yield Static(plain(f"{self.role} (preview below)"), classes="role")
        yield InertTextArea(self.initial, read_only=not self.editable, soft_wrap=True, show_line_numbers=False)
        yield RtlText(self.initial, mode=self.mode, classes="preview")

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.query_one(RtlText).text = event.text_area.text

    @property
    def text(self) -> str:
        return self.query_one(TextArea).text

    def message(self) -> dict:
        """The edited turn as a message dict."""
        base = self.turn.model_dump(exclude_none=True) if self.turn is not None else {"role": self.role}
        return {**base, "content": self.text}
