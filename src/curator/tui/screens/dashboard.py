"""The dashboard: what the store holds, read in a worker so the screen never waits on disk."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from curator.store import Store


class Counts(Message):
    """Fresh counts read from the store."""

    def __init__(self, sections: dict[str, dict[str, int]]) -> None:
        super().__init__()
        self.sections = sections


def read_counts(path: Path) -> dict[str, dict[str, int]]:
    """Pipeline counts for the dashboard (its own connection: called from a worker thread)."""
    with Store(path) as store:
        return {
            "store": store.table_counts(),
            "passage quality": store.group_counts("passages", "quality"),
            "passage tags": store.group_counts("passages", "tags"),
            "example kinds": store.group_counts("examples", "kind"),
            "example states": store.group_counts("examples", "state"),
        }


class DashboardScreen(Screen):
    """Pipeline counts at a glance."""

    BINDINGS = [Binding("r", "refresh_counts", "Refresh", id="dashboard.refresh")]

    def __init__(self, db_path: Path) -> None:
        super().__init__()
        self.db_path = db_path

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"database: {self.db_path}", id="db-path", markup=False)
        yield DataTable(id="counts", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#counts", DataTable)
        table.add_columns("section", "name", "count")
        self.action_refresh_counts()

    def action_refresh_counts(self) -> None:
        self.load_counts()

    @work(thread=True, exclusive=True, group="dashboard-counts")
    def load_counts(self) -> None:
        self.post_message(Counts(read_counts(self.db_path)))

    def on_counts(self, message: Counts) -> None:
        table = self.query_one("#counts", DataTable)
        table.clear()
        for section, counts in message.sections.items():
            for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
                table.add_row(section, name, str(n), key=f"{section}/{name}")
