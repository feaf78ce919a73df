"""Jobs: start, pause and resume generation and gate runs in background workers; live progress.

The screen paints at once: the job tables (and with them the teacher's SDK, a slow import) load in a
worker behind a loading line."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Checkbox, DataTable, Header, Input, Select, Static

from curator.display.cell import cell
from curator.tui.errors import EXPECTED_ERRORS, describe
from curator.tui.widgets.keyline import KeyLine
from curator.tui.messages import BidiChanged, DataChanged, Reading
from curator.tui.screens.worker_errors import ShowsWorkerErrors
from curator.tui.widgets.inert import plain, tell
from curator.tui.widgets.table_room import fix_widths, last_column_room
from curator.display.wording import dollars


class OnOffBox(Checkbox):
    """A checkbox whose state reads without colour: `X` when on, blank when off (Textual draws `X` in both,
    only the colour differs)."""

    BUTTON_INNER = " "

    def watch_value(self) -> None:
        self.BUTTON_INNER = "X" if self.value else " "
        super().watch_value()


class JobProgress(Message):
    def __init__(self, text: str, finished: bool = False, error: bool = False) -> None:
        super().__init__()
        self.text = text
        self.finished = finished
        self.error = error


class Estimated(Message):
    """What a generation run would send and cost (or why it cannot be estimated), to confirm."""

    def __init__(self, family: str, limit: int, estimate=None, error: str | None = None) -> None:
        super().__init__()
        self.family, self.limit = family, limit
        self.estimate = estimate
        self.error = error


class JobsLoaded(Reading):
    """The job tables' rows, read in a worker."""

    def __init__(self, overview) -> None:
        super().__init__()
        self.overview = overview


class GenerateForm(ModalScreen[tuple[str, int, bool] | None]):
    """What to generate: a family from the list, how many jobs (candidates when procedural), and
    whether to use the built-in generators. enter (or ctrl+s) starts; escape cancels."""

    BINDINGS = [
        Binding("ctrl+s", "submit", "Start", id="generate.start", priority=True),
        Binding("escape", "cancel", "Cancel", id="generate.cancel"),
    ]
    DEFAULT_CSS = """
    GenerateForm { align: center middle; }
    GenerateForm > Vertical { width: 64; max-width: 100%; height: auto; border: round $accent; padding: 0 1;
                              background: $surface; }
    GenerateForm Horizontal { height: auto; }
    GenerateForm #count { width: 12; }
    GenerateForm #error { color: $error; height: auto; }
    GenerateForm #keys { color: $text-muted; }
    """

    def __init__(self, families: list[str], family: str | None = None, count: int = 10,
                 procedural: frozenset[str] = frozenset(), queued: dict[str, int] | None = None) -> None:
        super().__init__()
        self.families = families
        self.procedural = procedural  # the families the built-in generators can make
        self.family = family if family in families else (families[0] if families else None)
        self.count = count
        self.queued = queued or {}  # teacher jobs waiting, per family (queued by A or the Passages screen)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Generate", markup=False)
            yield Select([(plain(f), f) for f in self.families], value=self.family or Select.BLANK, id="family",
                         allow_blank=not self.families)
            with Horizontal():
                yield Input(str(self.count), type="integer", id="count", placeholder="jobs")
                yield OnOffBox("procedural (built-in, no API key)", id="procedural")
            if self.queued:
                waiting = ", ".join(f"{f} {n}" for f, n in sorted(self.queued.items()))
                yield Static(f"queued, sent first: {waiting}", id="queued", markup=False)
            yield Static("", id="error", markup=False)
            yield Static("enter or ctrl+s starts · esc cancels · tab moves", id="keys", markup=False)

    def on_mount(self) -> None:
        self.query_one("#family", Select).focus()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        family = self.query_one("#family", Select).value
        text = self.query_one("#count", Input).value.strip()
        if not isinstance(family, str):
            self.query_one("#error", Static).update("choose a family")
            return
        if not text.isdigit() or int(text) < 1:
            self.query_one("#error", Static).update("the count is a whole number of at least 1")
            return
        procedural = self.query_one("#procedural", Checkbox).value
        if procedural and family not in self.procedural:
            self.query_one("#error", Static).update(plain(
                f"{family} has no built-in generator; these have: {', '.join(sorted(self.procedural)) or 'none'}"))
            return
        self.dismiss((family, int(text), procedural))

    def action_cancel(self) -> None:
        self.dismiss(None)


class JobsScreen(ShowsWorkerErrors, Screen):
    ON_THE_SELECTED = frozenset({"pause"})  # (see the triage screen's)
    BINDINGS = [
        Binding("g", "start", "Generate", id="jobs.generate"),
        Binding("space", "pause", "Pause/resume", id="jobs.pause"),
        Binding("G", "gate", "Gates", id="jobs.gate"),
        Binding("r", "refresh_tables", "Refresh", id="jobs.refresh"),
        Binding("enter", "show_raw", "Raw response", id="jobs.raw", show=False),
    ]
    DEFAULT_CSS = """
    JobsScreen #progress { height: auto; min-height: 2; max-height: 6; background: $boost; padding: 0 1; }
    JobsScreen #summary { height: 1fr; }
    JobsScreen #errors { height: 1fr; }
    """
    IDLE = "idle · g generate · G gates · space pause/resume · enter on an error: its attempts"

    def __init__(self, db_path: Path) -> None:
        super().__init__()
        self.db_path = db_path
        self.running: threading.Event | None = None  # set it to pause the generation run
        self.gating: threading.Event | None = None
        self.last_request: tuple[str, int] | None = None
        self.overview = None  # the tables' rows, once loaded
        self.loading_line = True  # the progress line still says "loading"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("loading the jobs…", id="progress", markup=False)
        with Vertical():
            yield DataTable(id="summary", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="errors", cursor_type="row", zebra_stripes=True)
        yield KeyLine()

    def on_mount(self) -> None:
        self.query_one("#summary", DataTable).add_columns("kind", "family", "state", "jobs", "tries", "in", "out",
                                                           "cost $", "cached", "written")
        self.query_one("#errors", DataTable).add_columns("job", "family", "state", "tries", "last error")

    def on_screen_resume(self) -> None:
        """Load on every showing, the first one included: after the first paint (the worker's SDK import
        would hold the interpreter while the screen paints)."""
        self.call_after_refresh(self.action_refresh_tables)

    def on_data_changed(self, _message: DataChanged) -> None:
        self.action_refresh_tables()

    def action_refresh_tables(self) -> None:
        self.load_tables()

    @work(thread=True, exclusive=True, exit_on_error=False, group="jobs-tables", name="loading jobs")
    def load_tables(self) -> None:
        from curator.services.generate import jobs_overview  # imports the teacher's SDK: off the UI thread

        with self.app.project.reader() as store:
            self.post_message(JobsLoaded(jobs_overview(store)))

    def on_jobs_loaded(self, message: JobsLoaded) -> None:
        if message.stale:
            return
        self.overview = message.overview
        self.show_tables()
        if self.loading_line:
            self.loading_line = False
            self.query_one("#progress", Static).update(self.IDLE)

    def show_tables(self) -> None:
        overview = self.overview
        if overview is None:
            return
        mode = self.app.bidi_mode
        names = 16 if self.app.size.width < 100 else 24
        summary = self.query_one("#summary", DataTable)
        summary.clear()
        rows = [(r["kind"], cell(r["family"] or "-", names, mode), r["state"], str(r["jobs"]), str(r["attempts"]),
                 str(r["input_tokens"]), str(r["output_tokens"]), f"{r['cost_usd']:.4f}", str(r["cache_read_tokens"]),
                 str(r["cache_write_tokens"])) for r in overview.rows]
        fix_widths(summary, rows)
        for values in rows:
            summary.add_row(*values)
        errors = self.query_one("#errors", DataTable)
        errors.clear()
        rows = [(str(job.id), cell(job.family or "-", names, mode), job.state, str(job.attempts))
                for job in overview.errors]
        room = last_column_room(errors, rows, most=200)
        lines = [(*values, cell(job.last_error or "", room, mode)) for job, values in zip(overview.errors, rows)]
        fix_widths(errors, lines)
        for job, values in zip(overview.errors, lines):
            errors.add_row(*values, key=str(job.id))

    def on_bidi_changed(self, _message: BidiChanged) -> None:
        self.show_tables()

    def action_start(self) -> None:
        if self.running:
            self.notify("a run is already going; space pauses it")
            return

        def done(answer: tuple[str, int, bool] | None) -> None:
            if answer is None:
                return
            family, limit, procedural = answer
            if procedural:  # free: no question
                self.generate(family, limit, True)
            else:
                self.query_one("#progress", Static).update(f"estimating {family}: {limit} jobs…")
                self.estimate(family, limit)

        rows = self.overview.rows if self.overview is not None else []
        queued = {r["family"]: r["jobs"] for r in rows if r["kind"] == "generate" and r["state"] == "queued"}
        family, limit = self.last_request or (None, 10)
        if self.last_request is None and queued:  # (what the Passages screen or A queued: the run it asks for)
            family = max(queued, key=lambda f: (queued[f], f))
            limit = queued[family]
        procedural = frozenset(name for name, fam in self.app.families.items() if fam.has_procedural)
        self.app.push_screen(GenerateForm(sorted(self.app.families), family, limit, procedural, queued), done)

    def action_pause(self) -> None:
        if self.gating is not None:
            self.gating.set()
            self.query_one("#progress", Static).update("pausing the gates after the current batch…")
            return
        if self.running:
            self.running.set()
            self.query_one("#progress", Static).update("pausing: requests in flight finish, nothing new is sent…")
        elif self.last_request:
            self.generate(*self.last_request, False, resume=True)  # the jobs the pause left, nothing new
        else:
            self.notify("nothing to pause or resume")

    @work(thread=True, exclusive=True, group="jobs-estimate", exit_on_error=False)
    def estimate(self, family: str, limit: int) -> None:
        """The key and the server first (before the question: a run that cannot be sent is never asked
        about), then what the run would send and cost (`curator generate --dry-run`); writes nothing."""
        from curator.services import generate as service

        try:
            service.check_teacher(self.app.settings)
            with self.app.project.reader() as store:
                found = service.estimate(store, self.app.families[family], self.app.settings, limit=limit)
        except Exception as exc:  # noqa: BLE001 - shown to the curator; the app goes on
            self.post_message(Estimated(family, limit, error=str(exc)))
            return
        self.post_message(Estimated(family, limit, found))

    def on_estimated(self, message: Estimated) -> None:
        """Confirm the cost before anything is sent: the requests, and the worst case in dollars."""
        self.loading_line = False  # (what it says stays: the first load's idle line comes too late for it)
        progress = self.query_one("#progress", Static)
        if message.error:
            progress.update(plain(f"cannot generate {message.family}: {message.error}"))
            tell(self, f"cannot generate {message.family}: {message.error}", severity="error")
            return
        e = message.estimate
        progress.update(self.IDLE)
        if e.requests == 0:
            self.notify(f"nothing to send: the {message.limit} jobs of {e.family} are done already")
            return
        f = e.forecast
        question = (f"Generate {e.family} with {e.model}: {e.requests} requests, about {e.input_tokens} input "
                    f"tokens ({e.cache_line()}) and at most {e.output_tokens} output tokens.\n"
                    f"{f.cache_line()}; {f.calibration.describe()}.\n"
                    f"Cost ≈ {dollars(f.cost_usd)} ({dollars(f.uncached_usd)} without the cache), ≤ {dollars(e.cost_usd)}, "
                    f"worst case {dollars(e.worst_cost_usd)} (every job on all {e.max_attempts} attempts). Send them?")
        question += "".join(f"\n{c.describe()}" for c in e.collisions)

        def answered(yes: bool | None) -> None:
            if yes:
                self.last_request = (message.family, message.limit)
                self.generate(message.family, message.limit, False)
            else:
                self.notify("nothing sent")

        from curator.tui.screens.prompt import ConfirmScreen

        self.app.push_screen(ConfirmScreen(question), answered)

    @work(thread=True, exclusive=True, group="jobs-run", exit_on_error=False)
    def generate(self, family: str, limit: int, procedural: bool, resume: bool = False) -> None:
        """Generation through the same services as `curator generate`; an error is shown, never fatal."""
        from curator.services import generate as service

        settings = self.app.settings
        fams = self.app.families
        started = time.monotonic()
        cancel = self.running = threading.Event()

        def progress(done: int, total: int) -> None:
            rate = done / max(0.001, time.monotonic() - started)
            self.post_message(JobProgress(f"running {family}: {done}/{total} jobs · {rate:.1f} jobs/s (space pauses)"))

        try:
            with self.app.project.writer() as store:  # a worker has its own connection
                if procedural:
                    report = service.procedural(store, fams[family], settings, limit=limit, progress=progress,
                                                cancel=cancel)
                    self.post_message(JobProgress(report.summary(), finished=True))
                    return
                result = service.run(store, fams, family, settings, limit=None if resume else limit,
                                     progress=progress, cancel=cancel, resume=resume)
                paused = store.count_jobs(state="queued", family=family)
        except Exception as exc:  # noqa: BLE001 - shown to the curator; the app goes on
            self.post_message(JobProgress(f"generation stopped: {exc}", finished=True, error=True))
            return
        finally:
            self.running = None
        collided = "".join(f" · {c.describe()}" for c in result.plan.collisions)
        self.post_message(JobProgress(f"{'paused' if paused else 'finished'} {family}: {result.summary()}"
                                      f"{f' · {paused} queued (space resumes)' if paused else ''}{collided}",
                                      finished=True))

    def action_gate(self) -> None:
        if self.gating is None:
            self.gating = threading.Event()
            self.gate_run(self.gating)

    @work(thread=True, exclusive=True, group="jobs-gates")
    def gate_run(self, stop: threading.Event) -> None:
        from curator.services.gate import run_gates

        try:
            with self.app.project.writer() as store:
                def progress(done: int, total: int) -> None:
                    self.post_message(JobProgress(f"gating: {done}/{total} (space pauses)"))

                def embedding(done: int, total: int) -> None:
                    self.post_message(JobProgress(f"embedding for the meaning gates: {done}/{total} (space pauses)"))

                report = run_gates(store, self.app.families, progress=progress, cancel=stop,
                                   meaning=self.app.settings.meaning, embed_progress=embedding,
                                   gates=self.app.settings.gates)
        except EXPECTED_ERRORS as exc:
            self.post_message(JobProgress(describe(exc, "gates stopped"), finished=True, error=True))
            return
        finally:
            self.gating = None
        self.post_message(JobProgress(f"gates: {report.summary()}", finished=True))

    def on_job_progress(self, message: JobProgress) -> None:
        self.loading_line = False
        self.query_one("#progress", Static).update(plain(message.text))
        if message.error:
            tell(self, message.text, severity="error")
        if message.finished:
            self.action_refresh_tables()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "errors":  # the table takes enter before the screen's binding
            event.stop()
            self.show_raw(event.cursor_row)

    def action_show_raw(self) -> None:
        errors = self.query_one("#errors", DataTable)
        if errors.row_count and errors.has_focus:
            self.show_raw(errors.cursor_row)

    def show_raw(self, row: int) -> None:
        """Every attempt of the job on this row of the error table, with its raw response."""
        from curator.services.generate import job_detail
        from curator.tui.screens.raw import RawScreen

        detail = job_detail(self.app.store, int(self.query_one("#errors", DataTable).get_row_at(row)[0]))
        raw = "\n\n".join(f"attempt {a['attempt']} ({a['outcome'] or 'running'}): {a['error'] or 'ok'}\n"
                           f"{a['raw_response'] or '(no raw response)'}" for a in detail.attempts)
        self.app.push_screen(RawScreen(f"job {detail.job.id}: {detail.job.last_error}", raw or "(no attempts)"))
