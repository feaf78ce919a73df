"""RtlText: the one widget that shows Persian (or any untrusted) text, through the RTL pipeline."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from curator.display.rtl import display_lines, ltr_lines


class RtlText(Widget):
    """Text laid out for the terminal: reshaped, wrapped, reordered and right-aligned (mode `app`),
    or only wrapped (mode `terminal`, for terminals that reorder by themselves). `ltr=True` keeps
    code, JSON and tool calls left to right (the Persian inside them is still reordered in mode `app`). Text is never read as markup or control codes."""

    DEFAULT_CSS = """
    RtlText { height: auto; width: 1fr; }
    """
    text: reactive[str] = reactive("")  # a new text is laid out again only when it takes other lines (watch_text)
    mode: reactive[str] = reactive("app", layout=True)

    def __init__(self, text: str = "", *, ltr: bool = False, style: str = "", mode: str = "app",
                 name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.ltr = ltr
        self.line_style = style
        self.set_reactive(RtlText.text, text)
        self.set_reactive(RtlText.mode, mode)

    def watch_text(self, old: str, new: str) -> None:
        """Repaint; lay the screen out again only if the height changes (a relayout costs a list of
        passages or cards ~10 ms a key, a repaint of the same height does not)."""
        width = self.content_region.width
        self.refresh(layout=not width or len(self.lines(width)) != len(self._lines_of(old, width)))

    def _lines_of(self, text: str, width: int) -> tuple:
        return ltr_lines(text, width, self.mode) if self.ltr else display_lines(text, width, self.mode)

    def lines(self, width: int) -> tuple:
        return ltr_lines(self.text, width, self.mode) if self.ltr else display_lines(self.text, width, self.mode)

    def render(self) -> Text:
        width = max(1, self.content_region.width or self.size.width or 80)
        return Text("\n".join(line.text for line in self.lines(width)), style=self.line_style, no_wrap=True,
                    overflow="crop", end="")

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(self.lines(max(1, width))))
