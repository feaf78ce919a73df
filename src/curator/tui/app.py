"""The curator app."""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.binding import Binding

from curator.tui.screens.dashboard import DashboardScreen


class CuratorApp(App):
    """Keyboard-first curation of Persian SFT data."""

    TITLE = "curator"
    BINDINGS = [Binding("q", "quit", "Quit", id="app.quit")]

    def __init__(self, db_path: Path) -> None:
        super().__init__()
        self.db_path = Path(db_path)

    def on_mount(self) -> None:
        self.sub_title = str(self.db_path)
        self.push_screen(DashboardScreen(self.db_path))
