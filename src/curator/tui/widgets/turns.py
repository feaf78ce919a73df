"""One conversation turn: a role label and its text (RTL for prose, LTR for tool calls and JSON)."""

from __future__ import annotations

import json

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from curator.models import Message
from curator.tui.widgets.rtl import RtlText

ROLE_LABEL = {"system": "system", "user": "user", "assistant": "assistant", "tool": "tool"}


class TurnView(Vertical, can_focus=True):
    """A focusable turn (focus one, then `y` copies its logical text)."""

    DEFAULT_CSS = """
    TurnView { height: auto; margin: 0 0 1 0; }
    TurnView:focus { background: $boost; }
    TurnView .role { color: $secondary; text-style: bold; height: 1; }
    TurnView.assistant .role { color: $success; }
    TurnView.tool .role { color: $warning; }
    """

    def __init__(self, turn: Message, *, mode: str = "app", ltr: bool = False, title: str | None = None) -> None:
        super().__init__(classes=turn.role)
        self.turn = turn
        self.mode = mode
        self.ltr = ltr or turn.role == "tool"
        self.title = title

    def compose(self) -> ComposeResult:
        label = self.title or ROLE_LABEL.get(self.turn.role, self.turn.role)
        if self.turn.tool_call_id:
            label += f" ({self.turn.tool_call_id})"
        yield Static(label, classes="role", markup=False)
        if self.turn.content:
            yield RtlText(self.turn.content, ltr=self.ltr, mode=self.mode)
        for call in self.turn.tool_calls or ():
            body = call.function.get("arguments", "")
            try:
                body = json.dumps(json.loads(body), ensure_ascii=False, indent=1) if isinstance(body, str) else body
            except json.JSONDecodeError:
                pass
            yield RtlText(f"→ {call.function.get('name')}({body})", ltr=True)
