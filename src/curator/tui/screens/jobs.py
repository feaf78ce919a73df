"""Jobs: start, pause and resume generation and gate runs in background workers; live progress."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from curator.display.cell import cell
from curator.services.generate import jobs_overview
from curator.store import Store
from curator.tui.widgets.keyline import KeyLine
from curator.tui.messages import BidiChanged
from curator.tui.screens.prompt import PromptScreen
from curator.tui.widgets.inert import plain, tell


class JobProgress(Message):
    def __init__(self, text: str, finished: bool = False, error: bool = False) -> None:
        super().__init__()
        self.text = text
        self.finished = finished
        self.error = error


class JobsScreen(Screen):
    BINDINGS = [
        Binding("g", "start", "Generate", id="jobs.generate"),
        Binding("p", "pause", "Pause/resume", id="jobs.pause"),
        Binding("G", "gate", "Run gates", id="jobs.gate"),
        Binding("r", "refresh_tables", "Refresh", id="jobs.refresh"),
        Binding("enter", "show_raw", "Raw response", id="jobs.raw", show=False),
    ]
    DEFAULT_CSS = """
    JobsScreen #progress { height: 2; background: $boost; padding: 0 1; }
    JobsScreen #summary { height: 1fr; }
    JobsScreen #errors { height: 1fr; }
    """

    def __init__(self, db_path: Path) -> None:
        super().__init__()
        self.db_path = db_path
        self.running: threading.Event | None = None  # set it to pause the generation run
        self.gating: threading.Event | None = None
        self.last_request: tuple[str, int] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("idle · g starts generation, G runs the gates, p pauses or resumes", id="progress", markup=False)
        with Vertical():
            yield DataTable(id="summary", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="errors", cursor_type="row", zebra_stripes=True)
        yield KeyLine()

    def on_mount(self) -> None:
        self.query_one("#summary", DataTable).add_columns("kind", "family", "state", "jobs", "attempts", "in", "out",
                                                           "cost $")
        self.query_one("#errors", DataTable).add_columns("job", "family", "state", "attempts", "last error")
        self.action_refresh_tables()

    def on_screen_resume(self) -> None:
        self.action_refresh_tables()

    def action_refresh_tables(self) -> None:
        overview = jobs_overview(self.app.store)
        mode = self.app.bidi_mode
        summary = self.query_one("#summary", DataTable)
        summary.clear()
        for r in overview.rows:
            summary.add_row(r["kind"], cell(r["family"] or "-", 24, mode), r["state"], str(r["jobs"]), str(r["attempts"]),
                            str(r["input_tokens"]), str(r["output_tokens"]), f"{r['cost_usd']:.4f}")
        errors = self.query_one("#errors", DataTable)
        errors.clear()
        for job in overview.errors:
            errors.add_row(str(job.id), cell(job.family or "-", 24, mode), job.state, str(job.attempts),
                           cell(job.last_error or "", 120, mode), key=str(job.id))

    def on_bidi_changed(self, _message: BidiChanged) -> None:
        self.action_refresh_tables()

    def action_start(self) -> None:
        if self.running:
            self.notify("a run is already going; p pauses it")
            return

        def done(text: str | None) -> None:
            if not text:
                return
            parts = text.split()
            family, limit = parts[0], int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 10
            if family not in self.app.families:
                tell(self, f"unknown family {family!r}", severity="error")
                return
            self.last_request = (family, limit)
            self.generate(family, limit, "procedural" in parts)

        self.app.push_screen(PromptScreen("Generate: family [limit] [procedural]", "passage_qa 10"), done)

    def action_pause(self) -> None:
        if self.gating is not None:
            self.gating.set()
            self.query_one("#progress", Static).update("pausing the gates after the current batch…")
            return
        if self.running:
            self.running.set()
            self.query_one("#progress", Static).update("pausing: requests in flight finish, nothing new is sent…")
        elif self.last_request:
            self.generate(*self.last_request, False)
        else:
            self.notify("nothing to pause or resume")

    @work(thread=True, exclusive=True, group="jobs-run", exit_on_error=False)
    def generate(self, family: str, limit: int, procedural: bool) -> None:
        """Generation through the same services as `curator generate`; an error is shown, never fatal."""
        from curator.services import generate as service

        settings = self.app.settings
        fams = self.app.families
        started = time.monotonic()
        cancel = self.running = threading.Event()

        def progress(done: int, total: int) -> None:
            rate = done / max(0.001, time.monotonic() - started)
            self.post_message(JobProgress(f"running {family}: {done}/{total} jobs · {rate:.1f} jobs/s (p pauses)"))

        try:
            with Store(self.db_path) as store:  # a worker has its own connection
                if procedural:
                    report = service.procedural(store, fams[family], settings, limit=limit, progress=progress,
                                                cancel=cancel)
                    self.post_message(JobProgress(report.summary(), finished=True))
                    return
                result = service.run(store, fams, family, settings, limit=limit, progress=progress, cancel=cancel)
                paused = store.count_jobs(state="queued", family=family)
        except Exception as exc:  # noqa: BLE001 - shown to the curator; the app goes on
            self.post_message(JobProgress(f"generation stopped: {exc}", finished=True, error=True))
            return
        finally:
            self.running = None
        collided = "".join(f" · {c.describe()}" for c in result.plan.collisions)
        self.post_message(JobProgress(f"{'paused' if paused else 'finished'} {family}: {result.summary()}"
                                      f"{f' · {paused} queued (p resumes)' if paused else ''}{collided}",
                                      finished=True))

    def action_gate(self) -> None:
        if self.gating is None:
            self.gating = threading.Event()
            self.gate_run(self.gating)

    @work(thread=True, exclusive=True, group="jobs-gates")
    def gate_run(self, stop: threading.Event) -> None:
        from curator.services.gate import run_gates

        try:
            with Store(self.db_path) as store:
                def progress(done: int, total: int) -> None:
                    self.post_message(JobProgress(f"gating: {done}/{total} (p pauses)"))

                def embedding(done: int, total: int) -> None:
                    self.post_message(JobProgress(f"embedding for the meaning gates: {done}/{total} (p pauses)"))

                report = run_gates(store, self.app.families, progress=progress, cancel=stop,
                                   meaning=self.app.settings.meaning, embed_progress=embedding)
        finally:
            self.gating = None
        self.post_message(JobProgress(f"gates: {report.summary()}", finished=True))

    def on_job_progress(self, message: JobProgress) -> None:
        self.query_one("#progress", Static).update(plain(message.text))
        if message.error:
            tell(self, message.text, severity="error")
        if message.finished:
            self.action_refresh_tables()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "errors":  # the table takes enter before the screen's binding
            self.action_show_raw()

    def action_show_raw(self) -> None:
        errors = self.query_one("#errors", DataTable)
        if errors.row_count == 0 or not errors.has_focus:
            return
        from curator.services.generate import job_detail
        from curator.tui.screens.raw import RawScreen

        detail = job_detail(self.app.store, int(errors.get_row_at(errors.cursor_row)[0]))
        raw = "\n\n".join(f"attempt {a['attempt']} ({a['outcome'] or 'running'}): {a['error'] or 'ok'}\n"
                           f"{a['raw_response'] or '(no raw response)'}" for a in detail.attempts)
        self.app.push_screen(RawScreen(f"job {detail.job.id}: {detail.job.last_error}", raw or "(no attempts)"))
