"""Passages: browse and search, change tags and quality, assign families, queue generation.
Pages load in a worker on a read-only connection; a change is one quick write through the store."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from curator.models import Passage
from curator.services.passages import list_passages, queue_generation, update_passage
from curator.display.cell import cell, fit, fit_path
from curator.tui.widgets.keyline import KeyLine
from curator.tui.errors import guarded
from curator.tui.messages import BidiChanged, DataChanged
from curator.tui.screens.prompt import ChooseScreen, PromptScreen
from curator.tui.screens.worker_errors import ShowsWorkerErrors
from curator.tui.widgets.inert import tell
from curator.tui.widgets.rtl import RtlText
from curator.tui.widgets.table_room import last_column_room

PAGE = 2000


class PassagesLoaded(Message):
    def __init__(self, rows: list[Passage], total: int) -> None:
        super().__init__()
        self.rows = rows
        self.total = total


class PassagesScreen(ShowsWorkerErrors, Screen):
    BINDINGS = [
        Binding("slash", "search", "Search", id="passages.search"),
        Binding("1", "quality('high')", "High", id="passages.high"),
        Binding("2", "quality('medium')", "Medium", id="passages.medium"),
        Binding("3", "quality('reject')", "Reject", id="passages.reject"),
        Binding("T", "tags", "Tags", id="passages.tags"),
        Binding("a", "families", "Families", id="passages.families"),
        Binding("space", "mark", "Mark", id="passages.mark"),
        Binding("g", "generate", "Queue generation", id="passages.generate"),
    ]
    DEFAULT_CSS = """
    PassagesScreen #body { layout: horizontal; }
    PassagesScreen #passage-table { width: 3fr; }
    PassagesScreen #passage-side { width: 2fr; padding: 0 1; border-left: solid $primary-background; }
    PassagesScreen.narrow #body { layout: vertical; }
    PassagesScreen.narrow #passage-table { width: 1fr; height: 1fr; }
    PassagesScreen.narrow #passage-side { width: 1fr; height: 8; border-left: none;
                                          border-top: solid $primary-background; }
    PassagesScreen #rules { color: $text-muted; height: auto; }
    PassagesScreen #info { height: 1; background: $boost; padding: 0 1; }
    """
    BESIDE = 110  # columns from which the text sits beside the list, not under it
    WIDE = 160  # columns from which tags and families get columns of their own (else they are in the side panel)

    def __init__(self) -> None:
        super().__init__()
        self.search = ""
        self.marked: set[int] = set()
        self.rows: list[Passage] = []
        self.text_room = 50  # cells for the text column (see last_column_room)
        self.total = 0
        self.last_family: str | None = None  # the family `g` queued last: the chooser starts on it
        self.wide: bool | None = None  # the columns shown: with tags and families, or not

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="info", markup=False)
        with Container(id="body"):
            yield DataTable(id="passage-table", cursor_type="row", zebra_stripes=True)
            with Vertical(id="passage-side"):
                with VerticalScroll():
                    yield RtlText("", id="passage-text", mode=self.app.bidi_mode)
                    yield RtlText("", id="rules", mode=self.app.bidi_mode)
        yield KeyLine()

    def on_mount(self) -> None:
        self.set_columns(self.app.size.width)
        self.load()

    def on_resize(self, event) -> None:
        if self.set_columns(event.size.width) and self.rows:
            self.show_rows()

    def set_columns(self, width: int) -> bool:
        """Columns for this width (at 80 the text needs the room: tags and families go to the side panel).
        True if they changed."""
        self.set_class(width < self.BESIDE, "narrow")
        wide = width >= self.WIDE
        if wide == self.wide:
            return False
        self.wide = wide
        table = self.query_one("#passage-table", DataTable)
        table.clear(columns=True)
        table.add_columns("", "id", "quality", *(("tags", "families") if wide else ()), "text")
        return True

    def on_data_changed(self, _message: DataChanged) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="passages", name="loading passages")
    def load(self) -> None:
        with self.app.project.reader() as store:
            page = list_passages(store, search=self.search, limit=PAGE)
            rows, total = page.rows, page.total
        self.post_message(PassagesLoaded(rows, total))

    def on_passages_loaded(self, message: PassagesLoaded) -> None:
        self.rows, self.total = message.rows, message.total
        self.call_after_refresh(self.show_rows)  # once laid out: the text column's room is the table's real width

    def show_rows(self) -> None:
        table = self.query_one("#passage-table", DataTable)
        row = table.cursor_row
        self.text_room = self.room_for_text()
        table.clear(columns=True)  # the text column's width fixed to its room: the header never waits for the rows
        table.add_columns("", "id", "quality", *(("tags", "families") if self.wide else ()))
        table.add_column("text", width=self.text_room)
        for p in self.rows:
            table.add_row(*self.cells(p), key=str(p.id))
        if self.rows:
            table.move_cursor(row=min(row, len(self.rows) - 1), animate=False)
        self.show_info()
        self.show_selected()

    def room_for_text(self) -> int:
        table = self.query_one("#passage-table", DataTable)
        return last_column_room(table, [self.cells(p)[:-1] for p in self.rows], most=80)

    def show_info(self) -> None:
        shown = f"{len(self.rows)} of {self.total}" if self.total > len(self.rows) else str(self.total)
        self.query_one("#info", Static).update(
            f"{shown} passages{' matching «' + fit(self.search, 30, self.app.bidi_mode) + '»' if self.search else ''}"
            f" · {len(self.marked)} marked (space marks, g queues generation for them)")

    def cells(self, p: Passage) -> tuple:
        mode = self.app.bidi_mode
        names = (cell(",".join(p.tags), 24, mode), cell(",".join(p.families), 24, mode)) if self.wide else ()
        return ("●" if p.id in self.marked else " ", str(p.id), p.quality, *names, cell(p.text, self.text_room, mode))

    def on_bidi_changed(self, _message: BidiChanged) -> None:
        self.redraw_cells()

    def redraw_cells(self) -> None:
        """Redraw the rows' cells in place (the cursor stays where it is)."""
        table = self.query_one("#passage-table", DataTable)
        for p in self.rows:
            for column, value in zip(table.columns, self.cells(p)):
                table.update_cell(str(p.id), column, value)

    def current(self) -> Passage | None:
        table = self.query_one("#passage-table", DataTable)
        if not self.rows or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self.show_selected()

    def show_selected(self) -> None:
        p = self.current()
        self.query_one("#passage-text", RtlText).text = p.text if p else ""
        where = f"{fit_path(p.source_path, 36, 'terminal')} [{p.start}:{p.end}]" if p else ""  # logical: RtlText reorders
        tags = "" if p is None or self.wide else f"tags: {', '.join(p.tags) or '-'} · families: {', '.join(p.families) or '-'}\n"
        self.query_one("#rules", RtlText).text = tags + "\n".join(p.rules) + "\n" + where if p else ""

    @guarded
    def _update(self, **fields) -> None:
        p = self.current()
        if p is None:
            return
        updated = update_passage(self.app.store, p.id, known_families=self.app.families, **fields)
        index = self.query_one("#passage-table", DataTable).cursor_row
        self.rows[index] = updated
        table = self.query_one("#passage-table", DataTable)
        for column, value in zip(table.columns, self.cells(updated)):
            table.update_cell(str(p.id), column, value)
        self.show_selected()

    def action_search(self) -> None:
        def done(text: str | None) -> None:
            if text is not None:
                self.search = text
                self.load()

        self.app.push_screen(PromptScreen("Search passages", self.search), done)

    def action_quality(self, quality: str) -> None:
        self._update(quality=quality)

    def action_tags(self) -> None:
        p = self.current()
        if p is None:
            return
        self.app.push_screen(PromptScreen("Tags (comma-separated)", ",".join(p.tags)),
                             lambda t: t is not None and self._update(tags=[x.strip() for x in t.split(",") if x.strip()]))

    def action_families(self) -> None:
        p = self.current()
        if p is None:
            return
        known = ", ".join(sorted(self.app.families))

        def done(text: str | None) -> None:
            if text is not None:
                self._update(families=text.split(","))  # an unknown family is shown, nothing written

        self.app.push_screen(PromptScreen(f"Families ({known})", ",".join(p.families)), done)

    def action_mark(self) -> None:
        p = self.current()
        if p is None:
            return
        self.marked ^= {p.id}
        self.show_mark(p.id)
        self.show_info()
        self.query_one("#passage-table", DataTable).action_cursor_down()

    def show_mark(self, passage_id: int) -> None:
        table = self.query_one("#passage-table", DataTable)
        table.update_cell(str(passage_id), table.ordered_columns[0].key, "●" if passage_id in self.marked else " ")

    def action_generate(self) -> None:
        ids = sorted(self.marked) or ([self.current().id] if self.current() else [])
        if not ids:
            return

        def done(family: str | None) -> None:
            if family is None:
                return
            fam = self.app.families[family]
            self.last_family = family
            report = queue_generation(self.app.store, fam, self.app.settings, ids)
            self.notify(f"queued {report.added} {fam.name} jobs for {len(ids)} passages; run them from Jobs (j)")
            unmarked, self.marked = self.marked, set()
            for passage_id in unmarked:
                self.show_mark(passage_id)
            self.show_info()

        if not self.app.families:
            tell(self, "no task families: add one under prompts/families/", severity="error")
            return
        self.app.push_screen(ChooseScreen(f"Queue generation for {len(ids)} passages: which family?",
                                          sorted(self.app.families), self.last_family), done)
