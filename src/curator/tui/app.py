"""The curator app: screens present, ask and dispatch; the core does the work."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable
from pathlib import Path

from textual import work
from textual.app import SystemCommand
from textual.binding import Binding, BindingsMap
from textual.screen import ModalScreen, Screen
from textual.worker import WorkerFailed

from curator.config import Settings
from curator.errors import CuratorError
from curator.store import Store, StoreError
from curator.display.cell import fit
from curator.display.inert import visible
from curator.display.rtl import resolve_mode
from curator.project import Project
from curator.tui.errors import describe
from curator.tui.keys import binding_keys, declared_keys, keys_of
from curator.tui.textual_private import ShowsWorkerFailures, bindings_of, write_to_terminal
from curator.tui.messages import BidiChanged, CoverageLoaded
from curator.tui.screens.dashboard import DashboardScreen


UI_BUSY_TIMEOUT_S = 2.0
MAIN_SCREENS = ("dashboard", "triage", "seeds", "passages", "jobs")
# BDSM (ECMA-48 mode 8): explicit, the application has reordered its text; implicit, the terminal's default.
BDSM_EXPLICIT, BDSM_IMPLICIT = "\x1b[8l", "\x1b[8h"


def screen_class(name: str) -> type[Screen]:
    """The class of a main screen (imported when first needed)."""
    if name == "triage":
        from curator.tui.screens.triage import TriageScreen

        return TriageScreen
    if name == "seeds":
        from curator.tui.screens.seeds import SeedsScreen

        return SeedsScreen
    if name == "passages":
        from curator.tui.screens.passages import PassagesScreen

        return PassagesScreen
    if name == "jobs":
        from curator.tui.screens.jobs import JobsScreen

        return JobsScreen
    return DashboardScreen


class CuratorApp(ShowsWorkerFailures):
    """Keyboard-first curation of Persian SFT data."""

    TITLE = "curator"
    BINDINGS = [
        Binding("d", "open('dashboard')", "Dashboard", id="app.dashboard"),
        Binding("t", "open('triage')", "Triage", id="app.triage"),
        Binding("s", "open('seeds')", "Seeds", id="app.seeds"),
        Binding("p", "open('passages')", "Passages", id="app.passages"),
        Binding("j", "open('jobs')", "Jobs", id="app.jobs"),
        Binding("b", "toggle_bidi", "Bidi", id="app.bidi"),
        Binding("q", "quit", "Quit", id="app.quit"),
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
        self._screens: dict[str, Screen] = {}  # the main screens built so far, by mode
        for name in MAIN_SCREENS:  # one Textual mode per main screen: each keeps its own stack and state
            self.add_mode(name, functools.partial(self.make_screen, name))
        self.errors: list[str] = []  # every error shown to the curator, oldest first
        self.last_result: str | None = None  # the summary of the last palette command
        self.last_progress: str | None = None  # the last progress a palette command reported
        self.command_stop: threading.Event | None = None  # set: the running palette command stops
        self.bdsm_explicit = False  # whether the terminal was told that the app reorders

    def send_bdsm(self, explicit: bool) -> None:
        """Tell the terminal who reorders: explicit while the app does, so a terminal that applies
        bidi by itself (VTE, Konsole, mlterm) does not reorder a second time; implicit otherwise."""
        if write_to_terminal(self, BDSM_EXPLICIT if explicit else BDSM_IMPLICIT):
            self.bdsm_explicit = explicit

    def on_mount(self) -> None:
        if self.bidi_mode == "app":
            self.send_bdsm(True)
        # The UI thread's connection, for triage decisions: a short busy timeout, so a lock held
        # elsewhere (writes are kept under ~0.2 s) never freezes the screen for long.
        # The file's quick_check runs in the background; this store's first write waits for it.
        try:
            self.store = Store(self.db_path, busy_timeout=UI_BUSY_TIMEOUT_S, check_in_background=True)
        except StoreError as exc:
            self.exit(return_code=1, message=str(exc))
            return
        self.run_worker(self.store_checked, thread=True, group="store-check")
        self.project = Project.load(self.db_path, self.settings)
        self.families = self.project.families
        self.coverage = None  # live coverage counts, once the worker has them
        self.coverage_error: str | None = None
        self._decided_before_coverage: list[int] = []
        self._recounting = False
        self._recount_again = False
        self._count_mark: tuple[int, int] | None = None  # the store's change mark when the count under way began
        self.recount_coverage()
        if self.settings.keys:
            from curator.tui.keys import unknown_binding_ids

            if unknown := unknown_binding_ids(self.settings.keys):
                self.show_error(f"curator.toml [keys]: no binding named {', '.join(map(repr, unknown))}, so "
                                "it changes nothing (the names are in `?` help and the README)")
            self.set_keymap(self.settings.keys)
        self.sub_title = self.header_line()
        self.action_open(self.start)

    @work(thread=True, exclusive=True, group="coverage")
    def load_coverage(self) -> None:
        """Count coverage from scratch in a worker (a second on 200k candidates), off the UI thread."""
        from curator.services.coverage import live_coverage

        try:
            cmap = self.project.coverage_map()
            with self.project.reader() as store:
                self.post_message(CoverageLoaded(live_coverage(store, cmap)))
        except CuratorError as exc:
            self.post_message(CoverageLoaded(None, str(exc)))
        except Exception as exc:  # (a store that cannot be read just now): said, and `r` counts again
            self.post_message(CoverageLoaded(None, describe(exc, "coverage could not be counted"), shown=True))

    def recount_coverage(self) -> None:
        """Count coverage again (the store changed elsewhere: a command, a seed's role, an import);
        decisions made meanwhile are replayed on the new counts. Asked for while a count runs, it counts
        once more after it if the store was written since that count began, by another connection or by
        this one (a seed's role changed on the seeds screen): it may have read the store before."""
        if self._recounting:
            if self._count_mark is None or self._change_mark() != self._count_mark:
                self._recount_again = True
            return
        self._recounting = True
        self._start_count()

    def _start_count(self) -> None:
        self._count_mark = self._change_mark()  # (before the worker reads: a later write is seen again)
        self.load_coverage()

    def _change_mark(self) -> tuple[int, int] | None:
        try:
            return self.store.change_mark()
        except Exception:  # noqa: BLE001 - (a file that cannot be read now: unknown, so count again)
            return None

    def on_coverage_loaded(self, message: CoverageLoaded) -> None:
        self.coverage, self.coverage_error = message.live, message.error
        if message.shown:
            self.show_error(message.error)
        if self.coverage is not None:
            for example_id in self._decided_before_coverage:  # decided while the worker counted
                self.coverage.sync(self.store, example_id)
        if self._recount_again:  # asked for while it counted: once more (decisions replayed on that one too)
            self._recount_again = False
            self._start_count()
        else:
            self._recounting = False
            self._decided_before_coverage.clear()
        self.refresh_dashboard_coverage()

    def refresh_dashboard_coverage(self) -> None:
        dashboard = self._screens.get("dashboard")
        if dashboard is not None and dashboard.is_mounted:
            dashboard.show_coverage()

    def store_checked(self) -> None:
        """Wait for the file's check: a damaged database is reported at once (and never written)."""
        try:
            self.store.wait_checked()
        except StoreError as exc:
            self.call_from_thread(self.show_error, f"{exc} (nothing can be saved)")

    def show_error(self, text: str) -> None:
        """Tell the curator what went wrong (the app goes on)."""
        text = visible(text)
        self.errors.append(text)
        self.notify(text, title="error", severity="error", timeout=15, markup=False)

    def worker_failed(self, error: Exception) -> bool:
        """A worker's error is shown and the app goes on (a worker runs apart from the screens, so
        nothing else stops). An error in a message handler stops that screen's message loop, so
        handlers catch what they expect themselves (`guarded`); anything else is a bug and ends the app."""
        if isinstance(error, WorkerFailed):
            self.show_error(describe(error.error))
            return True
        return False

    def on_decision_made(self, message) -> None:
        """Keep coverage counts current without recounting: one example in or out of the counted set."""
        if self.coverage is None or self._recounting:
            self._decided_before_coverage.append(message.example_id)  # replayed on the counts being made
        if self.coverage is not None and self.coverage.sync(self.store, message.example_id):
            self.refresh_dashboard_coverage()

    def on_unmount(self) -> None:
        """Runs on every exit, a crash's too (Textual's shutdown), while the driver can still write."""
        try:
            if self.bdsm_explicit:
                self.send_bdsm(False)
        finally:
            if self.store is not None:
                self.store.close()

    def make_screen(self, name: str) -> Screen:
        """Build a main screen, the first time its mode is shown."""
        self._screens[name] = self._new_screen(name)
        return self._screens[name]

    def _new_screen(self, name: str) -> Screen:
        arguments = {"triage": (self.db_path, self.families), "jobs": (self.db_path,), "dashboard": (self.db_path,)}
        return screen_class(name)(*arguments.get(name, ()))

    def action_open(self, name: str) -> None:
        """Show a main screen: switch to its mode (built once and kept, so its place and queue survive,
        and its workers go on while another screen is shown). A modal on top is answered first."""
        if not isinstance(self.screen, ModalScreen):
            self.switch_mode(name)

    def action_toggle_bidi(self) -> None:
        self.bidi_mode = "terminal" if self.bidi_mode == "app" else "app"
        self.send_bdsm(self.bidi_mode == "app")
        self.sub_title = self.header_line()
        from curator.tui.widgets.conversation import ConversationView
        from curator.tui.widgets.rtl import RtlText

        for screen in dict.fromkeys(list(self._screens.values()) + list(self.screen_stack)):
            for widget in screen.query("RtlText, ConversationView"):
                if isinstance(widget, (RtlText, ConversationView)):
                    widget.mode = self.bidi_mode
            screen.post_message(BidiChanged(self.bidi_mode))  # screens redraw their table cells
        self.notify(f"bidi: {self.bidi_mode} ({'the app reorders' if self.bidi_mode == 'app' else 'the terminal reorders'})")

    def screen_title(self, screen: Screen) -> str:
        main = next((name for name, built in self._screens.items() if built is screen), None)
        return (main or type(screen).__name__.removesuffix("Screen")).capitalize()

    def action_toggle_help(self) -> None:
        """`?`: the keys of this screen first, then the app's, then Textual's own."""
        from curator.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
        else:
            self.push_screen(HelpScreen(self.screen_title(self.screen), keys_of(self.screen)))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The command palette reaches every action with its key as bound now: this screen's, the app's,
        every other main screen's (run there, once it is shown; but not what acts at once on the item that
        screen shows, its `ON_THE_SELECTED`: a card accepted unseen), the use cases with no key of their own
        (imports, estimates, batches, judge, audits); then Textual's own, those not already listed."""
        here = keys_of(screen)
        active = screen.active_bindings
        for key in here.screen:
            yield SystemCommand(key.description, f"key {key.label}",
                                lambda a=key.action: self.call_later(screen.run_action, a))
        for binding_id, (binding, keys) in declared_keys(self, bindings_of(self)).items():
            if not binding_id.startswith("app."):
                continue
            label = "/".join(keys)
            shadows = [active[k].binding.description for k in binding_keys(self, binding_id) if k in active
                       and active[k].binding.id != binding_id]
            note = f" (here it is {shadows[0]})" if shadows else ""
            yield SystemCommand(binding.description, f"key {label}{note}",
                                lambda a=binding.action: self.call_later(self.run_action, a))
        for name in MAIN_SCREENS:
            if self._screens.get(name) is screen:
                continue
            cls = screen_class(name)
            bindings = BindingsMap(cls.BINDINGS)
            unseen = getattr(cls, "ON_THE_SELECTED", frozenset())  # (acts on what that screen shows: not from here)
            for binding_id, (binding, keys) in declared_keys(self, bindings).items():
                if binding.action.partition("(")[0] in unseen:
                    continue
                yield SystemCommand(f"{binding.description} ({name})", f"key {'/'.join(keys)} on {name}",
                                    lambda n=name, a=binding.action: self.run_on(n, a))
        from curator.tui.commands import COMMANDS

        if self.command_stop is not None:
            yield SystemCommand("Stop the running command", self.last_progress or "what it has done is kept",
                                lambda: self.action_stop_command())
        for command in COMMANDS:
            yield SystemCommand(command.title, command.help, lambda c=command: self.ask_service_command(c))
        ours = {"Keys", "Quit"}
        yield from (command for command in super().get_system_commands(screen) if command.title not in ours)

    async def run_on(self, name: str, action: str) -> None:
        """Show a main screen and run one of its actions there (a palette command from another screen)."""
        if isinstance(self.screen, ModalScreen):
            return
        await self.switch_mode(name)
        await self._screens[name].run_action(action)

    def ask_service_command(self, command, typed: str | None = None, problem: str = "") -> None:
        """Ask for a palette command's arguments (if it has any), then run it; `typed` and `problem`: what
        was typed before and why it could not be taken (asked again, to be corrected)."""
        if not command.prompt:
            self.run_service_command(command, [])
            return
        from curator.tui.screens.prompt import PromptScreen

        def done(text: str | None) -> None:
            if text is not None:
                self.run_service_command(command, text.split())

        self.push_screen(PromptScreen(command.prompt, command.default if typed is None else typed,
                                      problem=problem), done)

    @work(thread=True, group="service-command")
    def run_service_command(self, command, words: list[str]) -> None:
        """Run a palette command's service on this worker's own connection and show its summary. While
        it runs, the palette offers to stop it (a command that reports progress stops between items)."""
        from curator.tui.commands import ArgumentsError

        self.call_from_thread(self.notify, f"{command.title}…", markup=False)
        self.command_stop = threading.Event()
        try:
            with self.project.writer() as store:
                summary = command.run(self, store, words)
        except ArgumentsError as exc:  # (what was typed: asked again, kept, with why)
            self.call_from_thread(self.ask_service_command, command, " ".join(words), str(exc))
            return
        finally:
            self.command_stop = None
        self.call_from_thread(self.show_result, command.title, summary)

    def action_stop_command(self) -> None:
        if self.command_stop is not None:
            self.command_stop.set()
            self.notify("stopping after the requests in flight…")

    def header_line(self, progress: str = "") -> str:
        """The header's subtitle: the database, the bidi mode, and a running command's progress."""
        line = f"{fit(self.db_path.name, 40, self.bidi_mode)} · bidi {self.bidi_mode}"
        return f"{line} · {progress}" if progress else line

    def show_progress(self, what: str, done: int, total: int) -> None:
        """A long palette command's progress, in the header (one line, updated in place)."""
        self.last_progress = f"{what}: {done}/{total}"
        self.sub_title = self.header_line(self.last_progress)

    def reload_screens(self) -> None:
        """The store changed behind the main screens' backs (a palette command, a keeper chosen in a
        modal): each reloads what it shows."""
        from curator.tui.messages import DataChanged

        for screen in self._screens.values():
            if isinstance(screen, Screen) and screen.is_mounted:
                screen.post_message(DataChanged())

    def show_result(self, title: str, text: str) -> None:
        self.last_result = text
        self.sub_title = self.header_line()
        self.reload_screens()
        if "\n" in text:
            from curator.tui.screens.raw import RawScreen

            self.push_screen(RawScreen(title, text))
        else:
            self.notify(visible(text), title=title, timeout=12, markup=False)
