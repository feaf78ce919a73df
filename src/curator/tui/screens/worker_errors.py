"""Screens run their I/O in workers (`exit_on_error=False`): a worker's error is shown, never fatal."""

from __future__ import annotations

from textual.worker import Worker, WorkerState

from curator.tui.errors import describe


class ShowsWorkerErrors:
    """Mix into a Screen: notifies the error of any of its workers that failed."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.app.show_error(describe(event.worker.error, f"{event.worker.name or 'background task'} failed"))
