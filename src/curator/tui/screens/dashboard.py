"""The dashboard: pipeline counts, cost, and (with the coverage map) live coverage against targets."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from curator.store import Store


class Counts(Message):
    """Fresh counts read from the store."""

    def __init__(self, sections: dict[str, dict[str, int]], cost: float) -> None:
        super().__init__()
        self.sections = sections
        self.cost = cost


def read_counts(path: Path) -> tuple[dict[str, dict[str, int]], float]:
    """Pipeline counts for the dashboard (its own connection: called from a worker thread)."""
    with Store(path) as store:
        accepted = dict(store.conn.execute(
            "SELECT family, count(*) FROM examples WHERE state = 'accepted' GROUP BY family").fetchall())
        sections = {
            "store": store.table_counts(),
            "passage quality": store.group_counts("passages", "quality"),
            "candidates by state": dict(store.conn.execute(
                "SELECT state, count(*) FROM examples WHERE kind IN ('candidate', 'revision') GROUP BY state")),
            "gate status": dict(store.conn.execute(
                "SELECT coalesce(gate_status, 'not gated'), count(*) FROM examples "
                "WHERE kind IN ('candidate', 'revision') GROUP BY 1")),
            "accepted by family": accepted,
            "seeds by role": dict(store.conn.execute(
                "SELECT role, count(*) FROM examples WHERE kind = 'seed' GROUP BY role")),
        }
        cost = store.conn.execute("SELECT coalesce(sum(cost_usd), 0) FROM jobs").fetchone()[0]
    return sections, cost


class DashboardScreen(Screen):
    """Pipeline counts at a glance."""

    BINDINGS = [Binding("r", "refresh_counts", "Refresh", id="dashboard.refresh")]
    DEFAULT_CSS = """
    DashboardScreen #summary { height: auto; padding: 0 1; background: $boost; }
    DashboardScreen #counts { width: 1fr; }
    """

    def __init__(self, db_path: Path) -> None:
        super().__init__()
        self.db_path = db_path

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"database: {self.db_path}", id="summary", markup=False)
        with Horizontal():
            yield DataTable(id="counts", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#counts", DataTable).add_columns("section", "name", "count")
        self.action_refresh_counts()

    def on_screen_resume(self) -> None:
        self.action_refresh_counts()

    def action_refresh_counts(self) -> None:
        self.load_counts()

    @work(thread=True, exclusive=True, group="dashboard-counts")
    def load_counts(self) -> None:
        self.post_message(Counts(*read_counts(self.db_path)))

    def on_counts(self, message: Counts) -> None:
        table = self.query_one("#counts", DataTable)
        table.clear()
        for section, counts in message.sections.items():
            for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))):
                table.add_row(section, str(name), str(n), key=f"{section}/{name}")
        self.query_one("#summary", Static).update(
            f"database: {self.db_path} · cost so far ${message.cost:.4f} · keys: t triage, s seeds, p passages, "
            f"j jobs, ? help")
