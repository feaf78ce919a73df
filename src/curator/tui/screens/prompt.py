"""Small modals: a one-line question (returns the text, or None when cancelled), a yes/no question, and a
choice from a list (returns the chosen item). Questions, values and items may hold untrusted text: all are
drawn inert."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from curator.display.cell import fit
from curator.display.rtl import has_rtl
from curator.tui.widgets.inert import InertInput, plain


class PromptScreen(ModalScreen[str | None]):
    """A one-line question. `check(text)`: why the answer cannot be taken, or None; an answer it refuses is
    kept in the field with the reason under it, to be corrected (never thrown away). `problem`: the reason
    an answer given before (the `value` asked again) was refused."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]
    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical { width: 70; height: auto; border: round $accent; padding: 1 2; background: $surface; }
    PromptScreen #preview { color: $text-muted; padding: 0 1; }
    PromptScreen #error { color: $error; padding: 0 1; height: auto; }
    """

    def __init__(self, question: str, value: str = "", check: Callable[[str], str | None] | None = None,
                 problem: str = "") -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.check = check
        self.problem = problem  # why the answer given before (`value`) could not be taken, shown at once

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(plain(self.question))
            # (the cursor after the value, nothing selected: a key typed adds to it, as to a tag list or a filter)
            yield InertInput(value=self.value, id="answer", select_on_focus=False)
            yield Static("", id="preview", markup=False)
            yield Static(plain(self.problem), id="error", markup=False)

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.focus()
        field.cursor_position = len(self.value)
        self.show_preview(self.value)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.show_preview(event.value)

    def show_preview(self, value: str) -> None:
        """The field holds the logical text; right-to-left text is also shown as it reads."""
        preview = self.query_one("#preview", Static)
        preview.display = has_rtl(value) and self.app.bidi_mode == "app"
        if preview.display:
            preview.update("reads: " + fit(value, max(10, (self.query_one(Input).size.width or 60) - 8), "app"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        problem = self.check(event.value) if self.check is not None else None
        if problem:
            self.query_one("#error", Static).update(plain(problem))
            return
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question as a modal: y confirms; n or escape declines. Drawn inert. Enter does neither: each
    question spends money or moves many rows or the eval set, and an enter meant for the screen below (or
    typed ahead) must not answer it."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 70; max-width: 100%; height: auto; border: round $warning; padding: 1 2;
                               background: $surface; }
    ConfirmScreen #keys { color: $text-muted; margin-top: 1; }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(plain(self.question), id="question")
            yield Static("y yes · n no", id="keys")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class ChooseScreen(ModalScreen[str | None]):
    """One item from a list as a modal: ↑/↓ move, enter chooses, escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="choose.cancel")]
    DEFAULT_CSS = """
    ChooseScreen { align: center middle; }
    ChooseScreen > Vertical { width: 64; max-width: 100%; height: auto; max-height: 90%; border: round $accent;
                              padding: 0 1; background: $surface; }
    ChooseScreen OptionList { height: auto; max-height: 14; }
    ChooseScreen #keys { color: $text-muted; }
    """

    def __init__(self, question: str, items: list[str], current: str | None = None) -> None:
        super().__init__()
        self.question = question
        self.items = items
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(plain(self.question), id="question")
            yield OptionList(*(Option(plain(item), id=str(i)) for i, item in enumerate(self.items)), id="items")
            yield Static("↑/↓ move · enter chooses · esc cancels", id="keys")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = self.items.index(self.current) if self.current in self.items else 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.items[int(event.option.id)])

    def action_cancel(self) -> None:
        self.dismiss(None)
