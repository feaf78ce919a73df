"""What a row needs to train on (pure, on message dicts): TRL's conversational shape and clean text.

`untrainable(messages, tools)` says why a row cannot train, or None: no user turn, no assistant answer,
turns out of order, a tool call to a tool the row does not offer or whose arguments do not match the
tool's JSON schema, or terminal control characters (ESC, BEL and the other C0 and C1 controls, DEL,
bidi embeddings, overrides and isolates) in any turn. The export leaves such a row out whatever was
decided, naming the reason in the curation log; the format gate fails it first.

`facts(messages, tools)` is that reason with the conversation's lengths and turns: the store keeps them
with each row when it is written (a conversation never changes), stamped with `RULES`, so an export
reads them instead of working them out of 100k conversations.
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib.metadata import version
from pathlib import Path
from typing import Any, NamedTuple

# What made a row's kept facts: this module's code and the schema validator it runs (facts stamped
# with other rules are worked out again).
RULES = hashlib.sha256(Path(__file__).read_bytes() + version("jsonschema").encode()).hexdigest()[:16]

# Controls a terminal acts on, and bidi embeddings/overrides/isolates (which can hide or reorder text).
# Line breaks and tabs stay; so do ZWNJ, ZWJ and the LRM/RLM marks Persian needs.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def control_characters(text: str) -> list[str]:
    """The terminal control and bidi override characters in `text`, as code points (U+001B...)."""
    return sorted({f"U+{ord(c):04X}" for c in _CONTROL.findall(text)})


def _calls(message: dict) -> list[dict]:
    return [c for c in message.get("tool_calls") or () if isinstance(c, dict)]


def turn_order_problem(messages: list[dict]) -> str | None:
    """Why the turns are out of order (TRL's conversational rules), or None."""
    i = 1 if messages and messages[0].get("role") == "system" else 0
    if any(m.get("role") == "system" for m in messages[i:]):
        return "a system turn after the first"
    if i >= len(messages) or messages[i].get("role") != "user":
        return "the conversation must start with a user turn"
    if messages[-1].get("role") != "assistant" or _calls(messages[-1]):
        return "the conversation must end with an assistant answer"
    prev = None
    pending: list[Any] = []
    for m in messages[i:]:
        role = m.get("role")
        if role == "tool":
            if prev not in ("assistant_call", "tool") or not pending:
                return "a tool turn must answer an assistant tool call"
            pending.pop(0)
            prev = "tool"
            continue
        if pending:
            return "a tool call was not answered by a tool turn"
        if role == "assistant":
            if prev == "assistant":
                return "two assistant turns in a row"
            if _calls(m):
                pending = [c.get("id") for c in _calls(m)]
                prev = "assistant_call"
            else:
                prev = "assistant"
        elif role == "user":
            if prev == "user":
                return "two user turns in a row"
            if prev == "assistant_call":
                return "a user turn after an unanswered tool call"
            prev = "user"
    return None


def tool_call_problem(messages: list[dict], tools: list[dict] | None) -> str | None:
    """Why a tool call cannot train: a tool the row does not offer, arguments that are not a JSON object,
    or arguments that do not match the tool's schema; None when every call is sound."""
    offered = {}
    for spec in tools or ():
        function = spec.get("function", {}) if isinstance(spec, dict) else {}
        offered[function.get("name")] = function.get("parameters") or {}
    for turn, m in enumerate(messages):
        for call in _calls(m):
            function = call.get("function") or {}
            name = function.get("name")
            if name not in offered:
                return f"turn {turn} calls {name!r}, a tool the row does not offer"
            raw = function.get("arguments", "{}")
            try:
                args = json.loads(raw) if isinstance(raw, str) else raw
            except json.JSONDecodeError as exc:
                return f"turn {turn}: the arguments of {name!r} are not JSON ({exc.msg})"
            if not isinstance(args, dict):
                return f"turn {turn}: the arguments of {name!r} are not a JSON object"
            import jsonschema  # (here: the store and every process that reads rows import this module)

            try:
                validator = jsonschema.validators.validator_for(offered[name])(offered[name])
                error = next(iter(sorted(validator.iter_errors(args), key=lambda e: list(e.path))), None)
            except jsonschema.SchemaError as exc:
                return f"the schema of {name!r} is invalid ({exc.message})"
            if error is not None:
                return f"turn {turn}: the arguments of {name!r} do not match its schema ({error.message})"
    return None


def untrainable(messages: list[dict], tools: list[dict] | None = None) -> str | None:
    """Why a row cannot train (see the module), or None."""
    if len(messages) == 2:  # the common shape, one question and its answer, judged in one step (the same verdict)
        ask, answer = messages
        if (isinstance(ask, dict) and isinstance(answer, dict) and ask.get("role") == "user"
                and answer.get("role") == "assistant" and not ask.get("tool_calls") and not answer.get("tool_calls")):
            question, reply = ask.get("content") or "", answer.get("content") or ""
            if isinstance(question, str) and isinstance(reply, str):
                if not reply.strip():
                    return "no assistant answer"
                if _CONTROL.search(question) is not None:
                    return f"control characters in turn 0 (user): {', '.join(control_characters(question))}"
                if _CONTROL.search(reply) is not None:
                    return f"control characters in turn 1 (assistant): {', '.join(control_characters(reply))}"
                return None
    messages = [m for m in messages if isinstance(m, dict)]
    if not any(m.get("role") == "user" for m in messages):
        return "no user turn"
    if not any(m.get("role") == "assistant" and (m.get("content") or "").strip() for m in messages):
        return "no assistant answer"
    if problem := turn_order_problem(messages):
        return problem
    if problem := tool_call_problem(messages, tools):
        return problem
    for turn, m in enumerate(messages):
        calls = _calls(m)
        text = "".join([m.get("content") or ""] + [json.dumps(c, ensure_ascii=False) for c in calls])
        if _CONTROL.search(text) is not None:  # (most turns have none: no set built)
            return f"control characters in turn {turn} ({m.get('role')}): {', '.join(control_characters(text))}"
    return None


def lengths(messages: list[dict]) -> tuple[int, int]:
    """(prompt, response) characters: the length of the user and system turns' text, and of the
    assistant turns' text, each joined by newlines (without joining it)."""
    prompt = response = asked = answered = 0
    for m in messages:
        role = m["role"]
        if role == "assistant":
            response += len(m.get("content") or "")
            answered += 1
        elif role == "user" or role == "system":
            prompt += len(m.get("content") or "")
            asked += 1
    return prompt + max(asked - 1, 0), response + max(answered - 1, 0)


class Facts(NamedTuple):
    """What a conversation says of its training: why it cannot train (None: it can), its prompt and
    response characters (see `lengths`) and its turns."""

    untrainable: str | None
    prompt_chars: int
    response_chars: int
    turns: int


def facts(messages: list[dict], tools: list[dict] | None = None) -> Facts:
    """A conversation's `Facts`."""
    prompt, response = lengths(messages)
    return Facts(untrainable(messages, tools), prompt, response, len(messages))
