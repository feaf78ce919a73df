"""Seeds: hand-written examples in their roles, with counts against the seed targets and the few-shot
seeds that collide with a private eval item. Reads run in a worker; writes go through the seeds service."""

from __future__ import annotations

import json
import re

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Header, Select, Static, TextArea

from curator.models import Example
from curator.services.seeds import (ROLES, SeedError, SeedListing, change_role, create_seed, edit_seed, list_seeds,
                                    role_change_risk)
from curator.display.cell import cell
from curator.tui.errors import EXPECTED_ERRORS, describe
from curator.tui.widgets.keyline import KeyLine
from curator.tui.messages import BidiChanged, DataChanged, Reading
from curator.tui.screens.prompt import ChooseScreen, ConfirmScreen
from curator.tui.screens.worker_errors import ShowsWorkerErrors
from curator.tui.widgets.editor import TurnEditor
from curator.tui.widgets.inert import InertInput, InertTextArea, ShowsFormError, plain, tell
from curator.tui.widgets.table_room import last_column_room

# From the seeds' plan: 200-300 private eval, 300-800 hand-written seeds, 500-2,000 final polish.
TARGETS = {"eval": (200, 300), "fewshot": (300, 800), "polish": (500, 2000)}


class SeedsLoaded(Reading):
    def __init__(self, listing: SeedListing) -> None:
        super().__init__()
        self.listing = listing


class SeedsScreen(ShowsWorkerErrors, Screen):
    BINDINGS = [
        Binding("n", "new", "New", id="seeds.new"),
        Binding("e", "edit", "Edit", id="seeds.edit"),
        Binding("r", "choose_role", "Role", id="seeds.role"),
    ]
    DEFAULT_CSS = """
    SeedsScreen #targets { height: 1; padding: 0 1; background: $boost; }
    SeedsScreen #collisions { height: auto; max-height: 3; color: $error; padding: 0 1; }
    SeedsScreen #seed-table { height: 1fr; }
    SeedsScreen #by-family { height: auto; max-height: 10; display: none; border-top: solid $primary-background; }
    SeedsScreen.tall #by-family { display: block; }
    """
    TALL = 32  # rows from which the per-family counts are shown under the list
    NARROW = 100  # columns below which family and task type are cut shorter

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[int, Example] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="targets", markup=False)
        yield Static("", id="collisions", markup=False)
        yield DataTable(id="seed-table", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="by-family", cursor_type="none")
        yield KeyLine()

    def on_resize(self, event) -> None:
        self.set_class(event.size.height >= self.TALL, "tall")

    def on_mount(self) -> None:
        self.set_class(self.app.size.height >= self.TALL, "tall")
        self.query_one("#seed-table", DataTable).add_columns("id", "v", "role", "family", "task type", "first turn")
        by_family = self.query_one("#by-family", DataTable)
        # A fixed width for the names: a DataTable may paint its header before the rows arrive and
        # keep that width (seen under load), so the header would not line up with the rows.
        by_family.add_column("family", width=max([len("family"), *map(len, self.app.families)]) + 1)
        by_family.add_columns(*ROLES)

    def on_screen_resume(self) -> None:
        """Load on every showing, the first one included (one load, not two racing workers)."""
        self.refresh_seeds()

    def on_data_changed(self, _message: DataChanged) -> None:
        self.refresh_seeds()

    def refresh_seeds(self) -> None:
        self.load_seeds()

    @work(thread=True, exclusive=True, exit_on_error=False, group="seeds", name="loading seeds")
    def load_seeds(self) -> None:
        with self.app.project.reader() as store:
            self.post_message(SeedsLoaded(list_seeds(store)))

    def on_seeds_loaded(self, message: SeedsLoaded) -> None:
        if message.stale:
            return
        listing = message.listing
        colliding = {c.seed_id for c in listing.collisions}
        table = self.query_one("#seed-table", DataTable)
        row, before = table.cursor_row, self.selected()
        table.clear()
        self.by_id = {seed.id: seed for seed in listing.seeds}
        mode = self.app.bidi_mode
        names = 14 if self.app.size.width < self.NARROW else 24
        rows = [(str(seed.id), str(seed.version), f"{seed.role} ⚠" if seed.id in colliding else seed.role or "",
                 cell(seed.family, names, mode), cell(seed.task_type or "", names, mode)) for seed in listing.seeds]
        room = last_column_room(table, rows)
        for seed, values in zip(listing.seeds, rows):
            first = next((m.content for m in seed.messages if m.role == "user"), "")
            table.add_row(*values, cell(first, room, mode), key=str(seed.id))
        if table.row_count:
            table.move_cursor(row=self.row_of(before, listing.seeds, row), animate=False)
        totals = []
        for role, n in listing.role_totals().items():
            low, high = TARGETS[role]
            totals.append(f"{role} {n}/{low}-{high} {'thin' if n < low else 'full' if n >= high else 'ok'}")
        self.query_one("#targets", Static).update("targets: " + " · ".join(totals))
        collisions = self.query_one("#collisions", Static)
        collisions.update(plain("\n".join(["⚠ " + c.describe() for c in listing.collisions])))
        collisions.display = bool(listing.collisions)
        by_family = self.query_one("#by-family", DataTable)
        by_family.clear()
        for family in sorted(set(listing.counts) | set(self.app.families)):
            by_family.add_row(cell(family, 24, mode), *(str(listing.counts.get(family, {}).get(r, 0)) for r in ROLES))

    @staticmethod
    def row_of(before: Example | None, seeds: list[Example], row: int) -> int:
        """Where the cursor goes after a reload: the same seed, or its new version (an edit saves one), else the
        same row."""
        if before is not None:
            for index, seed in enumerate(seeds):
                if seed.id == before.id or (before.lineage and seed.lineage == before.lineage):
                    return index
        return min(row, len(seeds) - 1)

    def on_bidi_changed(self, _message: BidiChanged) -> None:
        self.refresh_seeds()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """enter on the list edits the seed (the table takes enter before the screen's binding)."""
        if event.data_table.id == "seed-table":
            event.stop()
            self.action_edit()

    def selected(self) -> Example | None:
        table = self.query_one("#seed-table", DataTable)
        if table.row_count == 0:
            return None
        return self.by_id.get(int(table.get_row_at(table.cursor_row)[0]))

    def action_new(self) -> None:
        self.app.push_screen(SeedEditScreen(None), lambda saved: saved and self.refresh_seeds())

    def action_edit(self) -> None:
        seed = self.selected()
        if seed is not None:
            self.app.push_screen(SeedEditScreen(seed), lambda saved: saved and self.refresh_seeds())

    def action_choose_role(self) -> None:
        """Choose the seed's role from the list; a move into or out of the private eval set is confirmed."""
        seed = self.selected()
        if seed is None:
            return

        def chosen(role: str | None) -> None:
            if role is None or role == seed.role:
                return
            risk = role_change_risk(seed.role, role)
            if risk:
                self.app.push_screen(ConfirmScreen(f"Seed #{seed.id} {seed.role} → {role}: {risk}. Change it?"),
                                     lambda yes: change(role) if yes else self.notify(f"seed #{seed.id} stays "
                                                                                      f"{seed.role}"))
            else:
                change(role)

        def change(role: str) -> None:
            try:
                change_role(self.app.store, seed.id, role)
            except (*EXPECTED_ERRORS, KeyError) as exc:
                tell(self, describe(exc, "role not changed"), severity="error")
            else:
                self.notify(f"seed #{seed.id} is now {role}")
            self.refresh_seeds()

        self.app.push_screen(ChooseScreen(f"Role of seed #{seed.id} (now {seed.role})", list(ROLES), seed.role),
                             chosen)


def _turn_name(messages: list, index: int) -> str:
    """The form's name for message `index`: its role and its place among that role's turns ("user turn 2")."""
    if not 0 <= index < len(messages):
        return f"turn {index + 1}"
    role = messages[index].get("role", "")
    return f"{role} turn {sum(1 for m in messages[:index + 1] if m.get('role') == role)}"


class SeedEditScreen(ShowsFormError, ModalScreen[bool]):
    """Write or edit a seed: family, role, task type, optional system prompt and turns, each with a
    live RTL preview. ctrl+n adds a user/assistant pair; ctrl+j edits the whole example as JSON
    (for tool examples); ctrl+s saves."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="seed.save", priority=True),
        Binding("ctrl+n", "add_pair", "Add turns", id="seed.add", priority=True),
        Binding("ctrl+j", "json", "Edit as JSON", id="seed.json", priority=True),
        Binding("escape", "cancel", "Cancel", id="seed.cancel"),
    ]
    DEFAULT_CSS = """
    SeedEditScreen > VerticalScroll { margin: 1 2; border: round $accent; background: $surface; padding: 0 1; }
    SeedEditScreen Horizontal { height: auto; }
    SeedEditScreen Select { width: 1fr; }
    SeedEditScreen #error { color: $error; height: auto; }
    SeedEditScreen #json { height: 16; }
    """

    def __init__(self, seed: Example | None) -> None:
        super().__init__()
        self.seed = seed
        self.json_mode = False

    def compose(self) -> ComposeResult:
        families = sorted(set(self.app.families) | ({self.seed.family} if self.seed else set())) or ["general"]
        with VerticalScroll():
            yield Static("New seed" if self.seed is None else f"Seed #{self.seed.id} (version {self.seed.version}; "
                         "saving makes a new version)", markup=False)
            with Horizontal():
                yield Select([(plain(f), f) for f in families], value=self.seed.family if self.seed else families[0],
                             id="family", allow_blank=False)
                yield Select([(r, r) for r in ROLES], value=(self.seed.role if self.seed else "fewshot"), id="role",
                             allow_blank=False)
            yield InertInput(value=(self.seed.task_type or "") if self.seed else "", placeholder="task type", id="task")
            turns = self.seed.messages if self.seed else []
            if not any(t.role == "system" for t in turns):
                yield TurnEditor("system", "", mode=self.app.bidi_mode)
            for turn in turns:
                yield TurnEditor(turn.role, turn.content, mode=self.app.bidi_mode, editable=not turn.tool_calls,
                                 turn=turn)
            if not turns:  # (a new seed starts empty: nothing is saved that the curator did not write)
                yield TurnEditor("user", "", mode=self.app.bidi_mode)
                yield TurnEditor("assistant", "", mode=self.app.bidi_mode)
            yield Static("", id="error", markup=False)
        yield KeyLine()

    def action_add_pair(self) -> None:
        scroll = self.query_one(VerticalScroll)
        error = self.query_one("#error")
        scroll.mount(TurnEditor("user", "", mode=self.app.bidi_mode), before=error)
        scroll.mount(TurnEditor("assistant", "", mode=self.app.bidi_mode), before=error)

    def _example_from_form(self) -> dict:
        """The form's fields over the edited seed's others (a new version keeps what the form does not show)."""
        messages = [e.message() for e in self.query(TurnEditor) if not (e.role == "system" and not e.text.strip())]
        kept = {k: getattr(self.seed, k) for k in ("difficulty", "topic", "tools", "answer", "metadata")} \
            if self.seed else {}
        return {**kept, "family": self.query_one("#family", Select).value, "role": self.query_one("#role", Select).value,
                "task_type": self.query_one("#task", InertInput).value or None, "messages": messages}

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Once the seed is JSON (tool calls the form cannot show may be typed there), there is no form to
        go back to nor turns to add: those keys are not offered."""
        return not (self.json_mode and action in ("json", "add_pair"))

    def action_json(self) -> None:
        if self.json_mode:
            return
        self.json_mode = True
        data = self._example_from_form()
        scroll = self.query_one(VerticalScroll)
        for editor in self.query(TurnEditor):
            editor.remove()
        scroll.mount(InertTextArea(json.dumps(data, ensure_ascii=False, indent=1), id="json"),
                     before=self.query_one("#error"))
        self.refresh_bindings()

    def action_save(self) -> None:
        """A new seed, or a new version of the edited one (the old version is kept, superseded). A role
        change into or out of the private eval set is confirmed first."""
        try:
            data = json.loads(self.query_one("#json", TextArea).text) if self.json_mode else self._example_from_form()
            if not isinstance(data, dict):
                raise SeedError("the JSON must be one object")
        except (SeedError, json.JSONDecodeError) as exc:
            self.show_error(plain(f"not saved: {exc}"))
            return
        risk = role_change_risk(self.seed.role, str(data.get("role"))) if self.seed is not None else None
        if risk:
            question = f"Seed #{self.seed.id} {self.seed.role} → {data.get('role')}: {risk}. Save it?"
            self.app.push_screen(ConfirmScreen(question), lambda yes: self._save(data) if yes else None)
        else:
            self._save(data)

    def _save(self, data: dict) -> None:
        try:
            if self.seed is None:
                create_seed(self.app.store, data, self.app.families)
            else:
                edit_seed(self.app.store, self.seed.id, data, self.app.families)
        except EXPECTED_ERRORS as exc:
            said = describe(exc, "not saved")
            if not self.json_mode:  # (the form's turns as it labels them, not by the JSON's path messages.N)
                said = re.sub(r"\bmessages\.(\d+)", lambda m: _turn_name(data.get("messages") or [], int(m.group(1))),
                              said)
            self.show_error(plain(said))
            return
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
