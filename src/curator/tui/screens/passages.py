"""Passages: browse and search, change tags and quality, assign families, queue generation.
Every visible passage is in the list, however many: a worker reads their ids (those matching the
search) on a read-only connection, and the list draws line by line, reading the rows in view a
screenful at a time on a read-only connection of its own. A change is one quick write through the store."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Mapping, Sequence

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static

from curator.models import Passage
from curator.services.passages import matching_ids, passages_by_id, queue_generation, update_passage
from curator.display.cell import fit, fit_path
from curator.display.rtl import display_lines
from curator.tui.widgets.keyline import KeyLine
from curator.tui.errors import EXPECTED_ERRORS, describe, guarded
from curator.tui.messages import BidiChanged, DataChanged, Reading
from curator.tui.screens.prompt import ChooseScreen, PromptScreen
from curator.tui.screens.worker_errors import ShowsWorkerErrors
from curator.tui.widgets.inert import tell
from curator.tui.widgets.line_table import LineTable
from curator.tui.widgets.rtl import RtlText
from curator.display.wording import counted


class PassageIdsLoaded(Reading):
    """The ids of the passages to list (those matching `search`), in id order; `keep`: the passage the
    cursor stays on (or the next one) if still listed, else the cursor goes to the top."""

    def __init__(self, ids: Sequence[int], search: str, keep: int | None) -> None:
        super().__init__()
        self.ids = ids
        self.search = search
        self.keep = keep


class PassagesScreen(ShowsWorkerErrors, Screen):
    ON_THE_SELECTED = frozenset({"quality", "tags", "families", "mark", "generate"})  # (see the triage screen's)
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
    NAMES = 24  # cells for the tags and the families columns

    def __init__(self) -> None:
        super().__init__()
        self.search = ""
        self.marked: set[int] = set()
        self.ids: Sequence[int] = array("q")  # the listed passages' ids, in order (not the passages)
        self.last_family: str | None = None  # the family `g` queued last: the chooser starts on it
        self.last_change = ""  # what the last key that changes a passage did, on the info line
        self.wide: bool | None = None  # the columns shown: with tags and families, or not
        self._reader = None  # the UI thread's read-only connection, for the rows in view
        self._read_failed = False  # the last read of rows failed (said once)

    @property
    def table(self) -> LineTable:
        return self.query_one("#passage-table", LineTable)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="info", markup=False)
        with Container(id="body"):
            yield LineTable(self.read_rows, self.row_cells, lambda _id: self.show_selected(), self.lay_out_ahead,
                            id="passage-table")
            with Vertical(id="passage-side"):
                with VerticalScroll():
                    yield RtlText("", id="passage-text", mode=self.app.bidi_mode)
                    yield RtlText("", id="rules", mode=self.app.bidi_mode)
        yield KeyLine()

    def on_mount(self) -> None:
        self.set_columns(self.app.size.width)
        self.load()

    def on_unmount(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def on_resize(self, event) -> None:
        self.set_columns(event.size.width)

    def set_columns(self, width: int) -> None:
        """Columns for this width (at 80 the text needs the room: tags and families go to the side
        panel); the id column as wide as the largest id listed."""
        self.set_class(width < self.BESIDE, "narrow")
        self.wide = width >= self.WIDE
        id_width = max(2, len(str(self.ids[-1]))) if self.ids else 2  # in id order: the last is the largest
        names = (("tags", self.NAMES), ("families", self.NAMES)) if self.wide else ()
        self.table.set_columns([("", 1), ("id", id_width), ("quality", 7), *names, ("text", None)])

    def on_data_changed(self, _message: DataChanged) -> None:
        self.load(keep=self.table.row_id)

    def load(self, keep: int | None = None) -> None:
        self.load_ids(self.search, keep)

    @work(thread=True, exclusive=True, exit_on_error=False, group="passages", name="loading passages")
    def load_ids(self, search: str, keep: int | None) -> None:
        with self.app.project.reader() as store:
            ids = matching_ids(store, search=search)
        self.post_message(PassageIdsLoaded(ids, search, keep))

    def on_passage_ids_loaded(self, message: PassageIdsLoaded) -> None:
        if message.stale:
            return
        self.ids = message.ids
        self.set_columns(self.app.size.width)
        position = bisect_left(self.ids, message.keep) if message.keep is not None else 0
        self.table.set_ids(self.ids, cursor=position)  # the side panel follows (see show_selected)
        self.show_info()

    def read_rows(self, ids: list[int]) -> Mapping[int, Passage]:
        """The rows the list draws now (a screenful, one read by primary key) on the UI thread's
        read-only connection. Rows that cannot be read are drawn so (until the list is read again);
        failing reads are said once, until one works."""
        try:
            if self._reader is None:
                self._reader = self.app.project.reader()
            rows = passages_by_id(self._reader, ids)
            self._read_failed = False
            return rows
        except EXPECTED_ERRORS as exc:
            if not self._read_failed:
                self._read_failed = True
                self.app.show_error(describe(exc, "could not read the passages"))
            return {}

    def show_info(self) -> None:
        """The last change made here (first: a key that changes a passage says what it did), the passages
        listed and the marked ones."""
        changed = f"{self.last_change} · " if self.last_change else ""
        listed = counted(len(self.ids), 'passage', grouped=True)
        if self.search:  # (how to list them all again, before the keys of the marks)
            listed += f" matching «{fit(self.search, 30, self.app.bidi_mode)}» (/ empty: all)"
        self.query_one("#info", Static).update(fit(
            f"{changed}{listed} · {len(self.marked)} marked (space marks, g queues jobs for them)",
            max(20, self.size.width - 2), self.app.bidi_mode))

    def row_cells(self, passage_id: int, p: Passage | None, widths: Sequence[int]) -> tuple[str, ...]:
        """A row's cells, each fitted to its width (inert, cut, reordered)."""
        mode = self.app.bidi_mode
        mark = "●" if passage_id in self.marked else " "
        if p is None:
            return (mark, str(passage_id), "", *(("", "") if self.wide else ()), "(cannot be read)")
        names = (fit(",".join(p.tags), widths[3], mode), fit(",".join(p.families), widths[4], mode)) if self.wide else ()
        return (mark, str(p.id), p.quality, *names, fit(p.text, widths[-1], mode))

    def on_bidi_changed(self, _message: BidiChanged) -> None:
        self.table.redraw()

    def current(self) -> Passage | None:
        return self.table.current()

    def show_selected(self) -> None:
        p = self.current()
        self.query_one("#passage-text", RtlText).text = p.text if p else ""
        where = f"{fit_path(p.source_path, 36, 'terminal')} [{p.start}:{p.end}]" if p else ""  # logical: RtlText reorders
        tags = "" if p is None or self.wide else f"tags: {', '.join(p.tags) or '-'} · families: {', '.join(p.families) or '-'}\n"
        self.query_one("#rules", RtlText).text = tags + "\n".join(p.rules) + "\n" + where if p else ""

    def lay_out_ahead(self) -> None:
        """When keys pause (the list calls it), lay out the texts the next key would show (the rows next
        to the cursor and a page away) as the side panel would: that key then only draws them."""
        text = self.query_one("#passage-text", RtlText)
        table = self.table
        for position in (table.cursor + 1, table.cursor - 1, table.cursor + table.page, table.cursor - table.page):
            if 0 <= position < len(self.ids) and (p := table.row(position)) is not None:
                display_lines(p.text, text.size.width, text.mode)

    @guarded
    def _update(self, **fields) -> None:
        p = self.current()
        if p is None:
            return
        updated = update_passage(self.app.store, p.id, known_families=self.app.families, **fields)
        self.table.put(p.id, updated)
        self.show_selected()
        if updated.quality != p.quality:
            self.last_change = f"#{p.id} quality {p.quality} → {updated.quality}"
        elif updated.tags != p.tags or updated.families != p.families:
            self.last_change = f"#{p.id} {'tags' if updated.tags != p.tags else 'families'} saved"
        else:
            self.last_change = f"#{p.id} unchanged"
        self.show_info()

    def action_search(self) -> None:
        def done(text: str | None) -> None:
            if text is not None:
                self.search, self.last_change = text, ""  # (another list: the last change is not about it)
                self.load()

        self.app.push_screen(PromptScreen("Search passages", self.search), done)

    def action_quality(self, quality: str) -> None:
        self._update(quality=quality)

    def action_tags(self) -> None:
        p = self.current()
        if p is None:
            return
        self.app.push_screen(PromptScreen("Tags (comma-separated; typing adds to them, ctrl+u clears)", ",".join(p.tags)),
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
        self.table.redraw_row(p.id)
        self.show_info()
        self.table.action_cursor_down()

    def action_generate(self) -> None:
        ids = sorted(self.marked) or ([self.current().id] if self.current() else [])
        if not ids:
            return

        def done(family: str | None) -> None:
            if family is None:
                return
            fam = self.app.families[family]
            self.last_family = family
            try:
                report = queue_generation(self.app.store, fam, self.app.settings, ids)
            except EXPECTED_ERRORS as exc:  # (a passage gone meanwhile: said, and the marks stay)
                self.app.show_error(describe(exc))
                return
            self.notify(f"{report.queued}; j then g sends {report.them}")
            self.marked = set()
            self.table.redraw()
            self.show_info()

        if not self.app.families:
            tell(self, "no task families: add one under prompts/families/", severity="error")
            return
        self.app.push_screen(ChooseScreen(f"Queue generation for {counted(len(ids), 'passage')}: which family?",
                                          sorted(self.app.families), self.last_family), done)
