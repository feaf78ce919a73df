"""ConversationView: a whole conversation drawn as one widget (no widgets mounted per turn), so the
next candidate appears with a single update. Prose turns go through the RTL pipeline; tool calls,
tool results and tool schemas stay left to right. One turn is selected (for copying)."""

from __future__ import annotations

import json

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from curator.models import Example, Message
from curator.display.cell import fit
from curator.display.rtl import display_lines, ltr_lines

ROLE_STYLE = {"system": "bold magenta", "user": "bold cyan", "assistant": "bold green", "tool": "bold yellow"}


def _pretty(text: str) -> str | None:
    """JSON text as indented JSON, or None when it is not JSON (a scalar stays as it is)."""
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None
    return json.dumps(value, ensure_ascii=False, indent=2) if isinstance(value, (dict, list)) else None


def turn_blocks(example: Example) -> list[tuple[str, str, bool]]:
    """(label, text, left-to-right) for each block to draw. Tool calls (arguments), JSON tool results
    and tool schemas are indented JSON, left to right."""
    blocks: list[tuple[str, str, bool]] = []
    for m in example.messages:
        label = m.role + (f" ({m.tool_call_id})" if m.tool_call_id else "")
        if m.content:
            pretty = _pretty(m.content) if m.role == "tool" else None
            blocks.append((label, pretty or m.content, m.role == "tool"))
        for call in m.tool_calls or ():
            args = call.function.get("arguments", "")
            shown = _pretty(args) if isinstance(args, str) else json.dumps(args, ensure_ascii=False, indent=2)
            blocks.append((f"{m.role} → tool call {call.function.get('name')}", shown or str(args), True))
    if example.tools:
        blocks.append(("tools", json.dumps(example.tools, ensure_ascii=False, indent=2), True))
    if example.answer:
        blocks.append(("verified answer", example.answer, True))
    return blocks


def indented_lines(text: str, width: int, mode: str = "app") -> list[str]:
    """Left-to-right lines that keep their indentation when wrapped (a long JSON string stays under
    its key): a wrapped line continues two cells further in."""
    out = []
    for paragraph in text.split("\n"):
        indent = min(len(paragraph) - len(paragraph.lstrip(" ")), width // 2)
        room = max(1, width - indent - 2)
        lines = ltr_lines(paragraph[indent:], room, mode) if paragraph.strip() else ()
        if not lines:
            out.append("")
        for i, line in enumerate(lines):
            out.append(" " * (indent + (2 if i else 0)) + line.text)
    return out


class ConversationView(Widget, can_focus=True):
    DEFAULT_CSS = """
    ConversationView { height: auto; width: 1fr; }
    """
    selected: reactive[int] = reactive(-1)
    mode: reactive[str] = reactive("app", layout=True)

    def __init__(self, *, mode: str = "app", id: str | None = None) -> None:
        super().__init__(id=id)
        self.example: Example | None = None
        self.blocks: list[tuple[str, str, bool]] = []
        self.empty_text = ""
        self.shown = 0  # how many conversations have been shown: part of the lines' cache key
        self._cached: tuple[tuple, list[tuple[str, str]]] | None = None
        self.set_reactive(ConversationView.mode, mode)

    def show(self, example: Example | None, empty_text: str = "") -> None:
        self.example = example
        self.empty_text = empty_text
        self.blocks = turn_blocks(example) if example else []
        self.shown += 1
        prose = [i for i, (label, _, ltr) in enumerate(self.blocks) if label == "assistant"]
        self.selected = prose[-1] if prose else (0 if self.blocks else -1)
        self.refresh(layout=True)

    def selected_message(self) -> Message | None:
        if self.example is None or not 0 <= self.selected < len(self.blocks):
            return None
        label, text, _ = self.blocks[self.selected]
        return Message(role="tool" if label.startswith("tool") else "assistant" if "assistant" in label else
                       "user" if label == "user" else "system", content=text)

    def move_selection(self, step: int) -> None:
        if self.blocks:
            self.selected = (self.selected + step) % len(self.blocks)

    def watch_selected(self) -> None:
        self.refresh()

    def _lines(self, width: int) -> list[tuple[str, str]]:
        """The display lines at a width; layout (the height) and render ask for the same ones, so the
        right-to-left pipeline runs once per conversation and width, not twice."""
        key = (width, self.selected, self.mode, self.shown)
        if self._cached is None or self._cached[0] != key:
            self._cached = (key, self._compute_lines(width))
        return self._cached[1]

    def _compute_lines(self, width: int) -> list[tuple[str, str]]:
        if not self.blocks:
            return [(line.text, "") for line in ltr_lines(self.empty_text, width)]
        out: list[tuple[str, str]] = []
        for index, (label, text, ltr) in enumerate(self.blocks):
            marker = "▸ " if index == self.selected else "  "
            out.append((marker + fit(label, max(1, width - 2), self.mode), ROLE_STYLE.get(label.split()[0], "bold")))
            lines = indented_lines(text, width, self.mode) if ltr else \
                [line.text for line in display_lines(text, width, self.mode)]
            out.extend((line, "") for line in lines)
            out.append(("", ""))
        return out

    def render(self) -> Text:
        width = max(1, self.content_region.width or self.size.width or 80)
        text = Text(no_wrap=True, overflow="crop", end="")
        for i, (line, style) in enumerate(self._lines(width)):
            if i:
                text.append("\n")
            text.append(line, style=style)
        return text

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(self._lines(max(1, width))))
