"""The dashboard: pipeline counts, cost, and (with the coverage map) live coverage against targets."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from curator.display.cell import cell, fit
from curator.store import Store, StoreError
from curator.tui.widgets.keyline import KeyLine
from curator.tui.messages import BidiChanged
from curator.tui.screens.worker_errors import ShowsWorkerErrors
from curator.tui.widgets.inert import tell
from curator.tui.widgets.rtl import RtlText


class Counts(Message):
    """Fresh counts read from the store."""

    def __init__(self, sections: dict[str, dict[str, int]], cost: float) -> None:
        super().__init__()
        self.sections = sections
        self.cost = cost


def read_counts(path: Path) -> tuple[dict[str, dict[str, int]], float]:
    """Pipeline counts for the dashboard (its own connection: called from a worker thread)."""
    from curator.services.stats import stats

    with Store(path, readonly=True) as store:
        report = stats(store)
    return report.sections, report.cost_usd


class Done(Message):
    """A background export or augmentation ended (or failed: `error`)."""

    def __init__(self, text: str, error: bool = False) -> None:
        super().__init__()
        self.text = text
        self.error = error


class DashboardScreen(ShowsWorkerErrors, Screen):
    """Pipeline counts at a glance."""

    BINDINGS = [
        Binding("r", "refresh_counts", "Refresh", id="dashboard.refresh"),
        Binding("E", "export", "Export", id="dashboard.export"),
        Binding("A", "augment", "Augment thin cells", id="dashboard.augment"),
    ]
    DEFAULT_CSS = """
    DashboardScreen #summary { height: auto; padding: 0 1; background: $boost; }
    DashboardScreen #counts { width: 2fr; }
    DashboardScreen #coverage-box { width: 3fr; border-left: solid $primary-background; padding: 0 1; }
    DashboardScreen #coverage { height: auto; }
    """

    def __init__(self, db_path: Path) -> None:
        super().__init__()
        self.db_path = db_path

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"database: {fit(str(self.db_path), 200, self.app.bidi_mode)}", id="summary", markup=False)
        with Horizontal():
            yield DataTable(id="counts", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="coverage-box"):
                yield RtlText("coverage: loading…", id="coverage", mode=self.app.bidi_mode)
        yield KeyLine()

    def on_mount(self) -> None:
        self.query_one("#counts", DataTable).add_columns("section", "name", "count")
        self.action_refresh_counts()

    def on_screen_resume(self) -> None:
        self.action_refresh_counts()

    def action_refresh_counts(self) -> None:
        self.load_counts()

    @work(thread=True, exclusive=True, exit_on_error=False, group="dashboard-counts", name="reading counts")
    def load_counts(self) -> None:
        self.post_message(Counts(*read_counts(self.db_path)))

    def show_coverage(self) -> None:
        """Bars per cell: a filled part and a light remainder, so no colour is needed to read them."""
        live = getattr(self.app, "coverage", None)
        widget = self.query_one("#coverage", RtlText)  # cell values may be Persian
        if live is None:
            widget.text = "coverage: no coverage map (prompts/coverage.toml)"
            return
        from curator.coverage import bar

        cells = live.cells()
        thin = [c for c in cells if c.target and c.share < live.cmap.thin_share]
        lines = [f"coverage of accepted examples · {len(thin)} thin cells (below {live.cmap.thin_share:.0%}) · "
                 "E exports, A augments thin cells", ""]
        for c in cells:
            if c.dimension == "family":
                lines.append(f"{c.family:<16} {c.count:>6}/{c.target:<6} {bar(c.share, 24)} "
                             f"{'THIN' if c.share < live.cmap.thin_share else 'full' if c.count >= c.target else 'ok'}")
        lines.append("")
        for c in thin[:40]:
            if c.dimension != "family":
                lines.append(f"  thin: {c.family}/{c.dimension}={c.value}  {c.count}/{c.target}")
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
        from curator.services.export import LeakError, export_dataset

        try:
            with Store(self.db_path) as store:
                result = export_dataset(store, cmap, meaning_settings=self.app.settings.meaning)
        except LeakError as exc:
            self.post_message(Done(str(exc), error=True))
            return
        except (OSError, StoreError) as exc:
            self.post_message(Done(f"export failed: {exc}", error=True))
            return
        self.post_message(Done(f"{'already exported' if result.reused else 'exported'} {result.version}: "
                               f"train {result.counts['train']}, polish {result.counts['polish']} → {result.path}"))

    def on_done(self, message: "Done") -> None:
        tell(self, message.text, severity="error" if message.error else "information", timeout=10)
        self.action_refresh_counts()

    def action_augment(self) -> None:
        live = getattr(self.app, "coverage", None)
        if live is None:
            self.notify("no coverage map (prompts/coverage.toml): nothing to augment", severity="error")
            return
        self.run_augment(live.cmap)

    @work(thread=True, exclusive=True, exit_on_error=False, group="dashboard-augment", name="augment")
    def run_augment(self, cmap) -> None:
        from curator.services.augment import augment

        try:
            with Store(self.db_path) as store:
                report = augment(store, cmap, self.app.families, self.app.settings)
        except StoreError as exc:
            self.post_message(Done(f"augment failed: {exc}", error=True))
            return
        self.post_message(Done(f"queued {report.queued} targeted jobs for {len(report.lines)} thin cells; "
                               "run them from Jobs (j)"))

    def on_bidi_changed(self, _message: BidiChanged) -> None:
        self.action_refresh_counts()

    def on_counts(self, message: Counts) -> None:
        table = self.query_one("#counts", DataTable)
        table.clear()
        for section, counts in message.sections.items():
            for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))):
                table.add_row(section, cell(str(name), 28, self.app.bidi_mode), str(n), key=f"{section}/{name}")
        self.show_coverage()
        self.query_one("#summary", Static).update(
            f"database: {fit(str(self.db_path), 200, self.app.bidi_mode)} · cost so far ${message.cost:.4f} · "
            "keys: t triage, s seeds, p passages, j jobs, ? help")
