"""Seeds: hand-written examples in their roles, with counts against the seed targets."""

from __future__ import annotations

import json

from pydantic import ValidationError
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Header, Input, Select, Static, TextArea

from curator.models import Example, Message, conversation_text
from curator.text.display import visible
from curator.text.normalize import key_hash
from curator.tui.widgets.editor import TurnEditor

# From the seeds' plan: 200-300 private eval, 300-800 hand-written seeds, 500-2,000 final polish.
TARGETS = {"eval": (200, 300), "fewshot": (300, 800), "polish": (500, 2000)}
ROLES = ("fewshot", "eval", "polish")


class SeedsScreen(Screen):
    BINDINGS = [
        Binding("n", "new", "New seed", id="seeds.new"),
        Binding("e,enter", "edit", "Edit", id="seeds.edit"),
        Binding("r", "cycle_role", "Change role", id="seeds.role"),
    ]
    DEFAULT_CSS = """
    SeedsScreen #seed-table { width: 3fr; }
    SeedsScreen #seed-side { width: 2fr; padding: 0 1; }
    SeedsScreen #targets { height: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield DataTable(id="seed-table", cursor_type="row", zebra_stripes=True)
            with Vertical(id="seed-side"):
                yield Static("", id="targets", markup=False)
                yield DataTable(id="by-family", cursor_type="none")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#seed-table", DataTable).add_columns("id", "role", "family", "task type", "first turn")
        self.query_one("#by-family", DataTable).add_columns("family", *ROLES)
        self.refresh_seeds()

    def on_screen_resume(self) -> None:
        self.refresh_seeds()

    def refresh_seeds(self) -> None:
        store = self.app.store
        table = self.query_one("#seed-table", DataTable)
        table.clear()
        for seed in store.examples("kind = 'seed'"):
            first = next((m.content for m in seed.messages if m.role == "user"), "")
            table.add_row(str(seed.id), seed.role or "", seed.family, seed.task_type or "",
                          visible(" ".join(first.split()))[:60], key=str(seed.id))
        counts = dict(store.conn.execute("SELECT role, count(*) FROM examples WHERE kind = 'seed' GROUP BY role"))
        lines = ["Seeds against their targets:"]
        for role in ROLES:
            low, high = TARGETS[role]
            n = counts.get(role, 0)
            state = "thin" if n < low else "full" if n >= high else "ok"
            bar = "█" * min(20, round(20 * n / high)) + "·" * (20 - min(20, round(20 * n / high)))
            lines.append(f"{role:<8} {n:>5} / {low}-{high}  {bar} {state}")
        self.query_one("#targets", Static).update("\n".join(lines))
        by_family = self.query_one("#by-family", DataTable)
        by_family.clear()
        rows: dict[str, dict[str, int]] = {}
        for family, role, n in store.conn.execute(
                "SELECT family, role, count(*) FROM examples WHERE kind = 'seed' GROUP BY family, role"):
            rows.setdefault(family, {})[role] = n
        for family in sorted(set(rows) | set(self.app.families)):
            by_family.add_row(family, *(str(rows.get(family, {}).get(r, 0)) for r in ROLES))

    def selected(self) -> Example | None:
        table = self.query_one("#seed-table", DataTable)
        if table.row_count == 0:
            return None
        row = table.get_row_at(table.cursor_row)
        return self.app.store.example(int(row[0]))

    def action_new(self) -> None:
        self.app.push_screen(SeedEditScreen(None), lambda saved: saved and self.refresh_seeds())

    def action_edit(self) -> None:
        seed = self.selected()
        if seed is not None:
            self.app.push_screen(SeedEditScreen(seed), lambda saved: saved and self.refresh_seeds())

    def action_cycle_role(self) -> None:
        seed = self.selected()
        if seed is None:
            return
        role = ROLES[(ROLES.index(seed.role) + 1) % len(ROLES)] if seed.role in ROLES else ROLES[0]
        with self.app.store.transaction():
            self.app.store.conn.execute("UPDATE examples SET role = ? WHERE id = ?", (role, seed.id))
        self.refresh_seeds()
        self.notify(f"seed #{seed.id} is now {role}")


class SeedEditScreen(ModalScreen[bool]):
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
            yield Static("New seed" if self.seed is None else f"Seed #{self.seed.id}", markup=False)
            with Horizontal():
                yield Select([(f, f) for f in families], value=self.seed.family if self.seed else families[0],
                             id="family", allow_blank=False)
                yield Select([(r, r) for r in ROLES], value=(self.seed.role if self.seed else "fewshot"), id="role",
                             allow_blank=False)
            yield Input(value=(self.seed.task_type or "") if self.seed else "", placeholder="task type", id="task")
            turns = self.seed.messages if self.seed else [Message(role="user", content="سوال"),
                                                          Message(role="assistant", content="پاسخ")]
            if not any(t.role == "system" for t in turns):
                yield TurnEditor("system", "", mode=self.app.bidi_mode)
            for turn in turns:
                yield TurnEditor(turn.role, turn.content, mode=self.app.bidi_mode, editable=not turn.tool_calls,
                                 turn=turn)
            yield Static("", id="error", markup=False)
        yield Footer()

    def action_add_pair(self) -> None:
        scroll = self.query_one(VerticalScroll)
        error = self.query_one("#error")
        scroll.mount(TurnEditor("user", "", mode=self.app.bidi_mode), before=error)
        scroll.mount(TurnEditor("assistant", "", mode=self.app.bidi_mode), before=error)

    def _example_from_form(self) -> dict:
        messages = [e.message() for e in self.query(TurnEditor) if not (e.role == "system" and not e.text.strip())]
        return {"family": self.query_one("#family", Select).value, "role": self.query_one("#role", Select).value,
                "task_type": self.query_one("#task", Input).value or None, "messages": messages,
                "tools": self.seed.tools if self.seed else None, "answer": self.seed.answer if self.seed else None}

    def action_json(self) -> None:
        if self.json_mode:
            return
        self.json_mode = True
        data = self._example_from_form()
        scroll = self.query_one(VerticalScroll)
        for editor in self.query(TurnEditor):
            editor.remove()
        scroll.mount(TextArea(json.dumps(data, ensure_ascii=False, indent=1), id="json", language="json"),
                     before=self.query_one("#error"))

    def action_save(self) -> None:
        try:
            data = json.loads(self.query_one("#json", TextArea).text) if self.json_mode else self._example_from_form()
            data.update(kind="seed", source_type="manual_seed")
            example = Example(**{k: v for k, v in data.items() if v is not None})
        except (ValidationError, json.JSONDecodeError, TypeError) as exc:
            message = exc.errors()[0] if isinstance(exc, ValidationError) else str(exc)
            if isinstance(message, dict):
                message = f"{'.'.join(map(str, message['loc']))}: {message['msg']}"
            self.query_one("#error", Static).update(f"not saved: {message}")
            return
        example.key_hash = key_hash(conversation_text(example.messages))
        store = self.app.store
        row = {"family": example.family, "role": example.role, "task_type": example.task_type,
               "messages": json.dumps([m.model_dump(mode="json") for m in example.messages], ensure_ascii=False,
                                      sort_keys=True),
               "tools": json.dumps(example.tools, ensure_ascii=False, sort_keys=True) if example.tools else None,
               "answer": example.answer, "key_hash": example.key_hash}
        try:
            with store.transaction():
                if self.seed is None:
                    store.add_example(example)
                else:
                    store.conn.execute(
                        f"UPDATE examples SET {', '.join(f'{k} = ?' for k in row)} WHERE id = ?",
                        [*row.values(), self.seed.id])
        except Exception as exc:  # noqa: BLE001 - e.g. the same seed already exists
            self.query_one("#error", Static).update(f"not saved: {exc}")
            return
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
