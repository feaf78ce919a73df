"""The dashboard: pipeline counts, cost, the export versions (two compared with `D`), and (with the
coverage map) live coverage against targets."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from curator.display.cell import cell, fit, fit_path
from curator.tui.errors import EXPECTED_ERRORS, describe
from curator.tui.keys import shown_key
from curator.tui.widgets.keyline import KeyLine
from curator.tui.messages import BidiChanged, DataChanged, Reading
from curator.tui.screens.worker_errors import ShowsWorkerErrors
from curator.tui.widgets.inert import tell
from curator.tui.widgets.rtl import RtlText
from curator.display.wording import dollars


class Counts(Reading):
    """Fresh counts read from the store."""

    def __init__(self, sections: dict[str, dict[str, int]], cost: float, empty: bool = False, card=None,
                 exports: list | None = None) -> None:
        super().__init__()
        self.sections = sections
        self.cost = cost
        self.empty = empty
        self.card = card  # the latest eval run's scorecard, if there is one
        self.exports = exports or []  # the export versions, newest first (export.diff.ExportVersion)


def read_counts(project) -> Counts:
    """Pipeline counts, the latest eval run's scorecard and the export versions for the dashboard (its own
    connection: called from a worker thread)."""
    from curator.services.evaluation import latest_scorecard
    from curator.services.export import list_exports
    from curator.services.stats import stats

    with project.reader() as store:
        report = stats(store)
        card = latest_scorecard(store)
    return Counts(report.sections, report.cost_usd, report.empty, card, list_exports(project.db_path))


def scorecard_lines(card, width: int) -> list[str]:
    """The student's pass rate per family, a bar each (filled and light parts: no colour needed)."""
    from curator.services.coverage import bar

    decided = sum(line.items for line in card.families())
    passed = sum(line.passed for line in card.families())
    head = f"student: eval run #{card.run}" + (f" (export {card.export_version})" if card.export_version else "")
    lines = [fit(f"{head}: {passed}/{decided} passed", width, "terminal")]
    name = min(16, max((len(line.family) for line in card.families()), default=8))
    for line in card.families():
        counted = f"{line.passed:>4}/{line.items:<4}"
        if line.rate is None:
            lines.append(f"{fit(line.family, name, 'terminal'):<{name}} {counted} {line.pending} to judge")
            continue
        rate = f"{line.rate:>4.0%}"
        room = min(30, max(4, width - name - len(counted) - len(rate) - 4))
        lines.append(f"{fit(line.family, name, 'terminal'):<{name}} {counted} {bar(line.rate, room)} {rate}")
    return lines + [""]


EMPTY_HELP = """This database is empty: no passages, no seeds yet. To start, here:

  ctrl+p "Import a corpus"   Persian documents as passages (.txt .md .jsonl)
  ctrl+p "Import seeds"      hand-written seeds (JSONL)

or in another terminal (then press r here):

  curator import PATH        curator seeds import FILE

or press q and run `curator demo` for the sample project."""


class Planned(Message):
    """An augmentation plan, to confirm before anything is queued."""

    def __init__(self, plan, run: int | None = None) -> None:
        super().__init__()
        self.plan = plan
        self.run = run  # the eval run it plans for (None: the thin cells)


class Done(Message):
    """A background export or augmentation ended (or failed: `error`)."""

    def __init__(self, text: str, error: bool = False) -> None:
        super().__init__()
        self.text = text
        self.error = error


class DashboardScreen(ShowsWorkerErrors, Screen):
    """Pipeline counts at a glance."""

    ON_THE_SELECTED = frozenset({"mark_export"})  # (see `CuratorApp.get_system_commands`)
    BINDINGS = [
        Binding("r", "refresh_counts", "Refresh", id="dashboard.refresh"),
        Binding("E", "export", "Export", id="dashboard.export"),
        Binding("A", "augment", "Augment", id="dashboard.augment"),
        Binding("space", "mark_export", "Mark export", id="dashboard.mark", show=False),
        Binding("D", "diff_exports", "Diff exports", id="dashboard.diff"),
    ]
    DEFAULT_CSS = """
    DashboardScreen #summary { height: 1; padding: 0 1; background: $boost; }
    DashboardScreen #left { width: 32; }
    DashboardScreen #counts { height: 1fr; }
    DashboardScreen #exports-title { height: 1; padding: 0 1; background: $boost; }
    DashboardScreen #exports { height: 1; }
    DashboardScreen #coverage-box { width: 1fr; border-left: solid $primary-background; padding: 0 1; }
    DashboardScreen #coverage { height: auto; }
    DashboardScreen #empty { display: none; padding: 1 2; height: auto; }
    DashboardScreen.empty #empty { display: block; }
    DashboardScreen.empty #main { display: none; }
    """
    COUNT_WIDTH = 9  # cells for a count (up to 9,999,999 with its commas)
    NAME_WIDTH = 17  # the rest of the table's 32 cells, less cell padding and a scrollbar
    VERSION_WIDTH = 23  # an export's version id (date and hash); its mark takes one cell before it
    EXPORT_ROWS = 5  # the export list's height at most (it scrolls past that)

    def __init__(self, db_path: Path) -> None:
        super().__init__()
        self.db_path = db_path
        self.card = None  # the latest eval run's scorecard (from the counts worker)
        self.exports: list = []  # the export versions, newest first
        self.marked: list[str] = []  # the versions marked to compare (at most two, the latest last)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self.summary_line(None), id="summary", markup=False)
        yield Static(EMPTY_HELP, id="empty", markup=False)
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield DataTable(id="counts", cursor_type="row", zebra_stripes=True)
                yield Static("exports", id="exports-title", markup=False)
                yield DataTable(id="exports", cursor_type="row")
            with VerticalScroll(id="coverage-box"):
                yield RtlText("coverage: loading…", id="coverage", mode=self.app.bidi_mode)
        yield KeyLine()

    def on_mount(self) -> None:
        table = self.query_one("#counts", DataTable)
        table.add_column("count", width=self.COUNT_WIDTH)
        table.add_column("what", width=self.NAME_WIDTH)  # fixed: the header never waits for the rows
        exports = self.query_one("#exports", DataTable)
        exports.show_header = False
        exports.add_column("mark", width=1, key="mark")
        exports.add_column("version", width=self.VERSION_WIDTH, key="version")
        exports.display = False
        self.action_refresh_counts()

    def on_screen_resume(self) -> None:
        self.action_refresh_counts()

    def on_data_changed(self, _message: DataChanged) -> None:
        self.action_refresh_counts()

    def action_refresh_counts(self) -> None:
        """The counts, and coverage counted again (anything may have changed the store meanwhile)."""
        self.load_counts()
        self.app.recount_coverage()

    @work(thread=True, exclusive=True, exit_on_error=False, group="dashboard-counts", name="reading counts")
    def load_counts(self) -> None:
        self.post_message(read_counts(self.app.project))

    def show_coverage(self) -> None:
        """Bars per cell: a filled part and a light remainder, so no colour is needed to read them."""
        live = getattr(self.app, "coverage", None)
        found = self.query("#coverage")
        if not found:  # (a count that ends while the app closes: the screen's widgets are gone already)
            return
        widget = found.first(RtlText)  # cell values may be Persian: it reorders each line
        # (so the lines are built in logical order: `fit` in mode "terminal" only makes them inert and cuts them)
        if live is None:
            error = self.app.coverage_error
            widget.text = f"coverage: {error}" if error else "coverage: no coverage map (prompts/coverage.toml)"
            return
        from curator.services.coverage import bar

        cells = live.cells()
        thin = [c for c in cells if c.target and c.share < live.cmap.thin_share]
        box = self.query_one("#coverage-box")
        width = max(30, (box.content_region.width or 44) - 2)  # less a scrollbar
        name = min(16, max(len(c.family) for c in cells)) if cells else 8
        card = getattr(self, "card", None)
        lines = scorecard_lines(card, width) if card is not None else []
        lines += [fit(f"{len(thin)} thin cells (under {live.cmap.thin_share:.0%} of target)", width), ""]
        for c in cells:
            if c.dimension == "family":
                counted = f"{c.count:>5}/{c.target or '-':<5}"
                state = c.state(live.cmap.thin_share)
                room = min(30, max(4, width - name - len(counted) - len(state) - 4))  # the bar's end mark too
                lines.append(f"{fit(c.family, name, 'terminal'):<{name}} {counted} "
                             f"{bar(c.share if c.target else 0, room)} {state}")
        lines += ["", "thin cells:"]
        for c in thin[:40]:
            if c.dimension != "family":
                what = c.value if c.dimension == "task_type" else f"{c.dimension}={c.value}"  # the common case short
                lines.append(f"{c.count:>5}/{c.target:<5} " + fit(f"{c.family} · {what}", width - 12, "terminal"))
        widget.text = "\n".join(lines)

    def action_export(self) -> None:
        live = getattr(self.app, "coverage", None)
        if live is None:
            tell(self, f"cannot build the mix: {self.app.coverage_error}" if self.app.coverage_error
                 else "coverage is still being counted: try again in a moment", severity="warning")
            return
        self.notify("exporting…")
        self.run_export(live.cmap)

    @work(thread=True, exclusive=True, exit_on_error=False, group="dashboard-export", name="export")
    def run_export(self, cmap) -> None:
        """The export service on its own connection; a leak or a folder that cannot be written is
        reported (any other error too, by ShowsWorkerErrors), never fatal."""
        from curator.services.export import LeakError, NeedsEmbedding, export_dataset
        from curator.services.gate import set_level_settings

        try:
            with self.app.project.writer() as store:
                result = export_dataset(store, cmap, formats=tuple(self.app.settings.export.formats),
                                        meaning_settings=self.app.settings.meaning,
                                        decontam=set_level_settings(self.app.settings.gates)[1],
                                        embed_limit=self.app.settings.export.embed_limit,
                                        progress=lambda done, total: self.app.call_from_thread(
                                            self.app.show_progress, "export: embedding for the leak check",
                                            done, total))
        except LeakError as exc:
            self.post_message(Done(str(exc), error=True))
            return
        except NeedsEmbedding as exc:  # the app's way to embed first: the command palette's `embed`
            self.post_message(Done(f"{exc}. Embed them first: ctrl+p, then `embed` (it shows progress and can "
                                   "be stopped and resumed), then E again", error=True))
            return
        except EXPECTED_ERRORS as exc:
            self.post_message(Done(describe(exc, "export failed"), error=True))
            return
        self.post_message(Done(f"{'already exported' if result.reused else 'exported'} {result.version}: "
                               f"train {result.counts['train']}, polish {result.counts['polish']} → {result.path}"))

    def on_done(self, message: "Done") -> None:
        if self.app.last_progress and self.app.last_progress.startswith("export:"):  # the export's own progress
            self.app.last_progress = None
            self.app.sub_title = self.app.header_line()
        tell(self, message.text, severity="error" if message.error else "information", timeout=10)
        self.action_refresh_counts()

    def action_augment(self) -> None:
        """Plan in a worker, show the job count and the worst-case cost, queue only when confirmed. When
        the latest eval run has failures, plan for the cells where the student failed (in proportion);
        else for the thin cells of coverage."""
        if self.card is not None and self.card.failing():
            self.notify(f"planning for the cells the student failed in eval run #{self.card.run}…")
            self.plan_from_eval(self.card.run)
            return
        live = getattr(self.app, "coverage", None)
        if live is None:
            tell(self, f"nothing to augment: {self.app.coverage_error or 'coverage is still being counted'}",
                 severity="warning")
            return
        self.notify("planning the augmentation…")
        self.plan_augment(live.cmap)

    @work(thread=True, exclusive=True, exit_on_error=False, group="dashboard-augment", name="augment plan")
    def plan_augment(self, cmap) -> None:
        from curator.services.augment import plan

        with self.app.project.reader() as store:
            self.post_message(Planned(plan(store, cmap, self.app.families, self.app.settings)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="dashboard-augment", name="augment plan")
    def plan_from_eval(self, run: int) -> None:
        from curator.services.augment import plan_from_eval

        with self.app.project.reader() as store:
            self.post_message(Planned(plan_from_eval(store, self.app.families, self.app.settings, run=run), run))

    def on_planned(self, message: Planned) -> None:
        from curator.tui.screens.prompt import ConfirmScreen

        planned = message.plan
        if not planned.jobs:
            tell(self, f"nothing to queue: {planned.summary()}")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_augment(planned)
            else:
                self.notify("nothing queued")

        what = f"the cells the student failed in eval run #{message.run}" if message.run else "thin cells"
        self.app.push_screen(ConfirmScreen(f"Augment {what}: queue {planned.summary()}?\n"
                                           "The jobs only run when you start them: j, then g."), answered)

    @work(thread=True, exclusive=True, exit_on_error=False, group="dashboard-augment", name="augment")
    def run_augment(self, planned) -> None:
        from curator.services.augment import queue

        try:
            with self.app.project.writer() as store:
                report = queue(store, planned)
        except EXPECTED_ERRORS as exc:
            self.post_message(Done(describe(exc, "augment failed"), error=True))
            return
        self.post_message(Done(f"{report.summary()}; j then g sends them"))

    def on_bidi_changed(self, _message: BidiChanged) -> None:
        self.action_refresh_counts()

    def summary_line(self, cost: float | None) -> str:
        spent = "…" if cost is None else dollars(cost)
        return f"{fit_path(str(self.db_path), 40, self.app.bidi_mode)} · spent {spent} · ? keys"

    def on_counts(self, message: Counts) -> None:
        if message.stale:
            return
        self.card = message.card
        self.set_class(message.empty, "empty")
        table = self.query_one("#counts", DataTable)
        table.clear()
        room = self.NAME_WIDTH
        for section, counts in message.sections.items():
            table.add_row("", Text(section, style="bold"), key=section)
            for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))):
                table.add_row(Text(f"{n:,}", justify="right"), cell(f"  {name}", room, self.app.bidi_mode),
                              key=f"{section}/{name}")
        self.show_coverage()
        self.query_one("#summary", Static).update(self.summary_line(message.cost))
        self.show_exports(message.exports)

    # -- exports: the versions, two compared ---------------------------------------------------------

    def show_exports(self, exports: list) -> None:
        """The versions newest first, each with its mark; the title says how to compare two."""
        self.exports = exports
        known = {e.version for e in exports}
        self.marked = [v for v in self.marked if v in known]
        table = self.query_one("#exports", DataTable)
        cursor = table.cursor_row
        table.clear()
        for e in exports:
            table.add_row(self.mark_of(e.version), cell(e.version, self.VERSION_WIDTH, self.app.bidi_mode),
                          key=e.version)
        table.display = bool(exports)
        # As tall as its rows up to a few (then it scrolls), set here: a table's own height is known only at
        # its next idle moment, which a screen under a modal may not have.
        table.styles.height = max(1, min(len(exports), self.EXPORT_ROWS))
        if exports:
            table.move_cursor(row=min(cursor, len(exports) - 1))
        title = self.query_one("#exports-title", Static)
        if not exports:
            title.update(fit(f"exports: none ({shown_key(self.app, 'dashboard.export', self)} writes one)", 30,
                             "terminal"))
        else:
            mark, diff = (shown_key(self.app, f"dashboard.{k}", self) for k in ("mark", "diff"))
            title.update(fit(f"exports {len(exports)}: {mark} marks, {diff} diffs", 30, "terminal"))

    def mark_of(self, version: str) -> str:
        """A or B: the older and the newer of the two marked (one mark alone is A); blank if unmarked."""
        if version not in self.marked:
            return " "
        order = [e.version for e in self.exports]
        if len(self.marked) < 2:
            return "A"
        older = max(self.marked, key=order.index)  # newest first: the older one comes later
        return "A" if version == older else "B"

    def highlighted_export(self) -> str | None:
        table = self.query_one("#exports", DataTable)
        if not self.exports:
            return None
        return self.exports[min(max(table.cursor_row, 0), len(self.exports) - 1)].version

    def action_mark_export(self) -> None:
        """Mark (or unmark) the highlighted export: two marked are compared by `D`; a third mark replaces
        the earliest."""
        version = self.highlighted_export()
        if version is None:
            tell(self, "no export to mark yet", severity="warning")
            return
        table = self.query_one("#exports", DataTable)
        if self.focused is not table:  # (the list's cursor is out of the curator's hands: reach it first)
            table.focus()
            tell(self, "the export list: ↑↓ choose a version, space marks it, "
                       f"{shown_key(self.app, 'dashboard.diff', self)} compares two")
            return
        if version in self.marked:
            self.marked.remove(version)
        else:
            self.marked = (self.marked + [version])[-2:]
        table = self.query_one("#exports", DataTable)
        for e in self.exports:
            table.update_cell(e.version, "mark", self.mark_of(e.version))

    def exports_to_compare(self) -> tuple[str, str] | str:
        """(A, B): the two marked; one marked and the highlighted one; else the highlighted one and the
        version before it. Older first. Or why there are not two."""
        order = [e.version for e in self.exports]
        if len(order) < 2:
            return "two exports are needed to compare" if order else "no export yet"
        here = self.highlighted_export()
        if len(self.marked) == 2:
            pair = self.marked
        elif len(self.marked) == 1:
            if here == self.marked[0]:
                return "the highlighted export is the one marked: move to another, or mark a second"
            pair = [self.marked[0], here]
        else:
            at = order.index(here)
            pair = [here, order[at + 1] if at + 1 < len(order) else order[at - 1]]
        older, newer = sorted(pair, key=order.index, reverse=True)
        return older, newer

    def action_diff_exports(self) -> None:
        """Compare two exports in a modal (computed there, in a worker)."""
        found = self.exports_to_compare()
        if isinstance(found, str):
            tell(self, found, severity="warning")
            return
        from curator.tui.screens.export_diff import ExportDiffScreen

        self.app.push_screen(ExportDiffScreen(self.db_path, *found))
