"""A card's gates in full: each duplicate's or leak's evidence side by side (this candidate and the matched
item, with the content they share and what each says alone), then every gate's verdict and the card's
history. Everything inert; Persian through the RTL pipeline."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen

from curator.services.triage import Evidence
from curator.tui.widgets.rtl import RtlText


class EvidenceScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,g", "dismiss", "Close", id="evidence.close")]
    DEFAULT_CSS = """
    EvidenceScreen > VerticalScroll { margin: 1 2; border: round $warning; background: $surface; padding: 0 1; }
    EvidenceScreen .side-by-side { height: auto; margin: 1 0 0 0; }
    EvidenceScreen .side { width: 1fr; height: auto; border-left: tall $primary 40%; padding: 0 1; }
    EvidenceScreen .label { text-style: bold; }
    EvidenceScreen .summary { text-style: bold; color: $warning; }
    """

    def __init__(self, title: str, found: list[Evidence], details: str) -> None:
        super().__init__()
        self.title_text, self.found, self.details = title, found, details

    def compose(self) -> ComposeResult:
        mode = self.app.bidi_mode
        with VerticalScroll():
            yield RtlText(self.title_text, mode=mode)
            for item in self.found:
                yield RtlText(item.summary, mode=mode, classes="summary")
                with Horizontal(classes="side-by-side"):
                    with Vertical(classes="side"):
                        yield RtlText("this candidate", ltr=True, mode=mode, classes="label")
                        yield RtlText(item.this, mode=mode)
                    with Vertical(classes="side"):
                        yield RtlText(item.other_label, ltr=True, mode=mode, classes="label")
                        yield RtlText(item.other, mode=mode)
                diff = item.diff
                yield RtlText("shared: " + ("، ".join(diff["shared"]) or "-"), mode=mode)
                yield RtlText("only here: " + ("، ".join(diff["only_a"]) or "-"), mode=mode)
                yield RtlText(f"only in {item.other_label}: " + ("، ".join(diff["only_b"]) or "-"), mode=mode)
            yield RtlText(self.details, ltr=True, mode=mode)
