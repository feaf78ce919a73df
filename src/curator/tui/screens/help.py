"""`?` help: this screen's keys first, then the app's, then Textual's own, each with its description,
as bound now; scrollable, so nothing is cut at 80x24."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from curator.tui.keys import ScreenKeys


def help_text(title: str, keys: ScreenKeys) -> Text:
    """The three groups, one key per line: the keys in a column, the description after them."""
    groups = [(f"{title} keys", keys.screen), ("Everywhere", keys.app), ("Textual's own", keys.textual)]
    text = Text()
    for name, group in groups:
        if not group:
            continue
        width = max(cell_len(k.label) for k in group)
        if text.plain:
            text.append("\n")
        text.append(name + "\n", style="bold underline")
        for key in group:
            text.append(key.label + " " * (width - cell_len(key.label) + 2), style="bold")
            # (Textual's own in sentence case, as ours: "Page left", "Palette", not "Page Left", "palette")
            text.append((key.description.capitalize() if group is keys.textual else key.description) + "\n")
    return text


class HelpScreen(ModalScreen[None]):
    """The keys of the screen under this one (not this one's own: close it with esc, ? or q)."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help.close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 72; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, title: str, keys: ScreenKeys) -> None:
        super().__init__()
        self.title_text = title
        self.keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "keys · esc closes"
            yield Static(help_text(self.title_text, self.keys), id="help-keys")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()
