"""A failed job's raw response, shown inert and left to right (its Persian through the RTL pipeline)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen

from curator.tui.widgets.rtl import RtlText


class RawScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="raw.close")]
    DEFAULT_CSS = """
    RawScreen > VerticalScroll { margin: 1 2; border: round $warning; background: $surface; padding: 0 1; }
    """

    def __init__(self, title: str, raw: str) -> None:
        super().__init__()
        self.title_text = title
        self.raw = raw

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield RtlText(self.title_text, mode=self.app.bidi_mode)
            yield RtlText(self.raw, ltr=True, mode=self.app.bidi_mode)
