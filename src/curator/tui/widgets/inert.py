"""The one rule for untrusted text in widgets: shown through `display.inert.visible` (control pictures,
never terminal codes, never markup), copied through `copyable` (escapes).

`plain` makes a Rich Text for Static, DataTable cells, Select options and the like. `InertTextArea`
and `InertInput` edit the true text while drawing only its inert form: `visible` maps one character to
one, so every position (cursor, selection, word moves, wrapping) is the same in both, and each edit is
applied to the true text at the same place. What the curator did not touch is saved as it was.
"""

from __future__ import annotations

from rich.text import Text
from textual.actions import SkipAction
from textual.widgets import Static

from curator.display.inert import copyable, visible
from curator.tui.textual_private import EditResult, Location, OwnDocumentTextArea, ShownDocument, ShownInput


def plain(text: object, style: str = "") -> Text:
    """Untrusted text as a Rich Text: control pictures, never markup."""
    return Text(visible(str(text)), style=style, end="")


class Carried(str):
    """A string that leaves the document (a copy, a cut, the text an undo puts back) and carries the
    true text it stands for, so putting it back into an inert document restores the true characters."""

    true: str

    def __new__(cls, value: str, true: str) -> Carried:
        self = super().__new__(cls, value)
        self.true = true
        return self


def _true(text: str) -> str:
    return text.true if isinstance(text, Carried) else text


def _copy(app, text: str) -> None:
    """Escapes to the terminal's clipboard; the true text kept for a paste inside the app."""
    app.copy_to_clipboard(Carried(copyable(_true(text)), _true(text)))


class InertDocument(ShownDocument):
    """A document whose `text` is the true text and whose `lines` (what a TextArea lays out and draws)
    are its inert form. Lines are split at line feeds only, so every other character, a carriage
    return or a form feed included, is kept and shown as a picture."""

    def __init__(self, text: str) -> None:
        self._true = text.split("\n")
        super().__init__([visible(line) for line in self._true])

    @property
    def text(self) -> str:
        return "\n".join(self._true)

    def replace_range(self, start: Location, end: Location, text: str) -> EditResult:
        top, bottom = sorted((start, end))
        (top_row, top_column), (bottom_row, bottom_column) = top, bottom
        replaced = self.get_text_range(top, bottom)
        before = self._true[top_row][:top_column] if top_row < len(self._true) else ""
        after = self._true[bottom_row][bottom_column:] if bottom_row < len(self._true) else ""
        inserted = _true(text).split("\n")
        column = len(inserted[-1]) + (len(before) if len(inserted) == 1 else 0)
        inserted[0] = before + inserted[0]
        inserted[-1] += after
        self._true[top_row:bottom_row + 1] = inserted
        self.shown[top_row:bottom_row + 1] = [visible(line) for line in inserted]
        return EditResult((top_row + len(inserted) - 1, column), replaced)

    def get_text_range(self, start: Location, end: Location) -> Carried:
        """The shown text between two locations, carrying its true text."""
        (top_row, top_column), (bottom_row, bottom_column) = sorted((start, end))
        if (top_row, top_column) == (bottom_row, bottom_column):
            return Carried("", "")
        lines = self._true
        if top_row == bottom_row:
            true = lines[top_row][top_column:bottom_column]
        else:
            true = "\n".join([lines[top_row][top_column:], *lines[top_row + 1:bottom_row],
                              lines[bottom_row][:bottom_column] if bottom_row < len(lines) else ""])
        return Carried(visible(true), true)


class InertTextArea(OwnDocumentTextArea):
    """A TextArea over untrusted text: it draws control pictures (one cell each), `text` is the true
    text, and a copy or a cut puts escapes on the clipboard (the true text for a paste in the app).
    Plain text only (no syntax highlighting)."""

    def make_document(self, text: str) -> InertDocument:
        return InertDocument(text)

    def action_copy(self) -> None:
        selected = self.selected_text
        if not selected:
            raise SkipAction()
        _copy(self.app, selected)

    def action_cut(self) -> None:
        if self.read_only:
            return
        result = self.delete_selection_or_line()
        if result is not None:
            _copy(self.app, result.replaced_text)


class InertInput(ShownInput):
    """An Input over untrusted text: `value` is the true text, drawn as control pictures (one cell
    each); a copy or a cut puts escapes on the clipboard (the true text for a paste in the app)."""

    def shown(self, value: str) -> str:
        return visible(value)

    def action_copy(self) -> None:
        if self.selected_text:
            _copy(self.app, self.selected_text)

    def action_cut(self) -> None:
        _copy(self.app, self.selected_text)
        self.delete_selection()

    def action_paste(self) -> None:
        start, end = self.selection
        self.replace(_true(self.app.clipboard), start, end)


def tell(node, text: str, **kwargs) -> None:
    """A notification that may hold untrusted text (an error, a path): drawn inert, never markup."""
    node.notify(visible(text), markup=False, **kwargs)


class ShowsFormError:
    """A form screen's `#error` line: why it was not saved, scrolled into sight (at 80x24 it sits below
    the turns)."""

    def show_error(self, text: str) -> None:
        error = self.query_one("#error", Static)  # type: ignore[attr-defined]
        error.update(text)
        error.scroll_visible(animate=False)
