"""Every use of Textual's private API, in one place (written against Textual 8.2; check this module
first when Textual is upgraded). The rest of the app uses Textual's public API only
(`tests/test_layout.py` checks that no other module reaches into Textual's private names).

- The app: worker failures shown instead of ending the app (`App._handle_exception`), bytes written
  to the terminal (the driver), the bindings and keymap as they are now.
- The inert editors: a TextArea over a document of our own (`TextArea._set_document`), a Document
  whose shown lines differ from its text, TextArea's cut of the line or the selection, and an Input
  that draws another form of its value (one cell per character, so positions are the same).
"""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.binding import BindingsMap
from textual.document._document import Document, EditResult, Location
from textual.document._document_navigator import DocumentNavigator
from textual.document._wrapped_document import WrappedDocument
from textual.dom import DOMNode
from rich.cells import cell_len, get_character_cell_size
from rich.text import Text
from textual.expand_tabs import expand_tabs_inline
from textual.widgets import Input, TextArea

__all__ = ["Document", "EditResult", "Location", "ShownDocument", "OwnDocumentTextArea", "ShownInput", "ShowsWorkerFailures",
           "bindings_of", "keymap_of", "write_to_terminal"]


def write_to_terminal(app: App, data: str) -> bool:
    """Write control bytes to the terminal (not through the screen); False when there is no terminal
    (a headless test)."""
    driver = app._driver
    if driver is None:
        return False
    driver.write(data)
    driver.flush()
    return True


def bindings_of(node: DOMNode) -> BindingsMap:
    """The bindings a screen, widget or the app declares (the live map: changing it changes the node's)."""
    return node._bindings


def keymap_of(app: App) -> dict[str, str]:
    """The keymap in force (binding id -> keys), as given to `App.set_keymap`."""
    return dict(app._keymap or {})


class ShowsWorkerFailures(App):
    """An App that asks `worker_failed(error)` before Textual ends the app on an unhandled error: a
    worker's failure the app shows is not fatal."""

    def worker_failed(self, error: Exception) -> bool:
        """Show `error` and return True to go on; False lets Textual end the app."""
        return False

    def _handle_exception(self, error: Exception) -> None:
        if not self.worker_failed(error):
            super()._handle_exception(error)


class ShownDocument(Document):
    """A Document whose shown lines (what a TextArea lays out and draws) are given apart from its text:
    subclasses keep `shown` (a list of lines, changed in place) and define `text`."""

    def __init__(self, shown: list[str]) -> None:
        self._newline = "\n"
        self._lines = shown

    @property
    def shown(self) -> list[str]:
        return self._lines


class OwnDocumentTextArea(TextArea):
    """A TextArea whose document comes from `make_document(text)` (plain text: no highlighting)."""

    def __init__(self, text: str = "", **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self._set_document(text, None)

    def make_document(self, text: str) -> Document:
        return Document(text)

    def _set_document(self, text: str, language: str | None) -> None:
        # TextArea._set_document (Textual 8.2) with our document in place of its Document.
        self._highlight_query = None
        self.document = self.make_document(text)
        self.wrapped_document = WrappedDocument(self.document, tab_width=self.indent_width)
        self.navigator = DocumentNavigator(self.wrapped_document)
        self._build_highlight_map()
        self.move_cursor((0, 0))
        self._rewrap_and_refresh_virtual_size()

    def delete_selection_or_line(self) -> Any:
        """What `cut` deletes (the selection, else the cursor's line); the EditResult or None."""
        start, end = self.selection
        return self._delete_cursor_line() if start == end else self._delete_via_keyboard(start, end)


class ShownInput(Input):
    """An Input that draws `shown(value)` in place of its value: `shown` must map one character to one
    (control pictures), so cursor positions and clicks are the same in both."""

    def shown(self, value: str) -> str:
        return value

    @property
    def _value(self) -> Text:
        return Text(self.shown(self.value), no_wrap=True, overflow="ignore", end="")

    def _position_to_cell(self, position: int) -> int:
        return cell_len(expand_tabs_inline(self.shown(self.value[:position]), 4))

    def _cell_offset_to_index(self, offset: int) -> int:
        # Input._cell_offset_to_index (Textual 8.2), measured on what is drawn.
        cells, offset = 0, offset + self.scroll_offset.x
        for index, char in enumerate(self.shown(self.value)):
            width = get_character_cell_size(char)
            if cells <= offset < cells + width:
                return index
            cells += width
        return max(0, min(offset, len(self.value)))
