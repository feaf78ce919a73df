"""The curator app: screens present, ask and dispatch; the core does the work."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import ModalScreen, Screen

from curator.config import Settings
from curator.store import Store
from curator.text.rtl import resolve_mode
from curator.tui.screens.dashboard import DashboardScreen


def load_families(settings: Settings) -> dict:
    from curator.families import load_families as load

    return load(settings.prompts_path()).families


class CuratorApp(App):
    """Keyboard-first curation of Persian SFT data."""

    TITLE = "curator"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("d", "open('dashboard')", "Dashboard", id="app.dashboard"),
        Binding("t", "open('triage')", "Triage", id="app.triage"),
        Binding("s", "open('seeds')", "Seeds", id="app.seeds"),
        Binding("p", "open('passages')", "Passages", id="app.passages"),
        Binding("j", "open('jobs')", "Jobs", id="app.jobs"),
        Binding("b", "toggle_bidi", "Bidi", id="app.bidi"),
        Binding("question_mark", "toggle_help", "Keys", id="app.help"),
    ]

    def __init__(self, db_path: Path, settings: Settings | None = None, *, start: str = "dashboard") -> None:
        super().__init__()
        self.db_path = Path(db_path)
        self.settings = settings or Settings.load()
        self.bidi_mode = resolve_mode(self.settings.bidi)
        self.start = start
        self.store: Store | None = None
        self.families: dict = {}
        self._screens: dict[str, Screen] = {}

    def on_mount(self) -> None:
        self.store = Store(self.db_path)
        self.families = load_families(self.settings)
        self.coverage = self.load_coverage()
        if self.settings.keys:
            self.set_keymap(self.settings.keys)
        self.sub_title = f"{self.db_path.name} · bidi {self.bidi_mode}"
        self.action_open(self.start)

    def load_coverage(self):
        from curator.coverage import CoverageError, CoverageMap, LiveCoverage

        try:
            return LiveCoverage(self.store, CoverageMap.load(self.settings.prompts_path() / "coverage.toml",
                                                             self.families))
        except CoverageError:
            return None

    def on_decision_made(self, message) -> None:
        """Keep coverage counts current without recounting: one example in or out of the counted set."""
        if self.coverage is not None and self.coverage.sync(self.store, message.example_id):
            dashboard = self._screens.get("dashboard")
            if dashboard is not None and dashboard.is_mounted:
                dashboard.show_coverage()

    def on_unmount(self) -> None:
        if self.store is not None:
            self.store.close()

    def make_screen(self, name: str) -> Screen:
        if name == "triage":
            from curator.tui.screens.triage import TriageScreen

            return TriageScreen(self.db_path, self.families)
        if name == "seeds":
            from curator.tui.screens.seeds import SeedsScreen

            return SeedsScreen()
        if name == "passages":
            from curator.tui.screens.passages import PassagesScreen

            return PassagesScreen()
        if name == "jobs":
            from curator.tui.screens.jobs import JobsScreen

            return JobsScreen(self.db_path)
        return DashboardScreen(self.db_path)

    def action_open(self, name: str) -> None:
        """Show a main screen (each is built once and kept, so its place and queue survive)."""
        if name not in self._screens:
            self._screens[name] = self.make_screen(name)
            self.install_screen(self._screens[name], name)
        if self.screen is self._screens[name]:
            return
        if isinstance(self.screen, ModalScreen):
            return
        if self.screen.id == "_default":
            self.push_screen(name)  # the first main screen goes on top of Textual's default one
        else:
            self.switch_screen(name)

    def action_toggle_bidi(self) -> None:
        self.bidi_mode = "terminal" if self.bidi_mode == "app" else "app"
        self.sub_title = f"{self.db_path.name} · bidi {self.bidi_mode}"
        from curator.tui.widgets.conversation import ConversationView
        from curator.tui.widgets.rtl import RtlText

        for screen in list(self._screens.values()) + list(self.screen_stack):
            for widget in screen.query("RtlText, ConversationView"):
                if isinstance(widget, (RtlText, ConversationView)):
                    widget.mode = self.bidi_mode
        self.notify(f"bidi: {self.bidi_mode} ({'the app reorders' if self.bidi_mode == 'app' else 'the terminal reorders'})")

    def action_toggle_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The command palette reaches every action: the app's and the current screen's bindings."""
        yield from super().get_system_commands(screen)
        seen = set()
        for binding in list(screen.BINDINGS) + list(self.BINDINGS):
            if not isinstance(binding, Binding) or binding.action in seen:
                continue
            seen.add(binding.action)
            target = screen if binding in screen.BINDINGS else self
            yield SystemCommand(binding.description or binding.action, f"key: {binding.key}",
                                lambda t=target, a=binding.action: self.call_later(t.run_action, a))
