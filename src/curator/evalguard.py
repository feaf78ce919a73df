"""The guard of the private eval set on the way to the teacher: no request may carry the text of a
private eval item, and a few-shot seed that matches one is reported and left out of the rotation
(its family still runs with the others)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from curator.errors import CuratorError
from curator.models import Example
from curator.store import Store
from curator.text.normalize import match_key

EVAL_GUARD_MIN_CHARS = 24


class EvalLeak(CuratorError):
    """A request would carry a private eval item's text to the teacher."""


def _turn_keys(example: Example) -> list[str]:
    keys = []
    for m in example.messages:
        key = match_key(m.content or "")
        if m.role != "system" and len(key) >= EVAL_GUARD_MIN_CHARS:
            keys.append(key)
    return keys


@dataclass
class EvalGuard:
    """Match keys of every private eval item's turns: no request may contain one."""

    keys: list[tuple[int, str]]
    # System prompts already checked (every request of a family shares one): their block texts -> the
    # eval item the prompt holds, and its end (a turn may run from it into the messages).
    _systems: dict[Any, tuple[int | None, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, store: Store) -> "EvalGuard":
        return cls([(ex.id, key) for ex in store.eval_examples() for key in _turn_keys(ex)])

    def hit(self, text: str) -> int | None:
        """The id of an eval item whose turn occurs in `text` (compared on match keys), else None."""
        folded = match_key(text)
        for example_id, key in self.keys:
            if key in folded:
                return example_id
        return None

    def check(self, body: dict[str, Any]) -> None:
        """EvalLeak if the request holds a private eval item's turn: in its system prompt (checked once
        per distinct system prompt), or in its messages with the system prompt's end before them."""
        raw = body.get("system", "")
        key = raw if isinstance(raw, str) else tuple(
            b["text"] if isinstance(b, dict) and isinstance(b.get("text"), str) else json.dumps(b, sort_keys=True)
            for b in raw or [])
        if key not in self._systems:
            system = _content({"content": raw})
            reach = 2 * max((len(k) for _, k in self.keys), default=0) + 64
            self._systems[key] = (self.hit(system), system[-reach:])
        found, tail = self._systems[key]
        if found is None:
            found = self.hit(tail + "\n" + "\n".join(_content(m) for m in body["messages"]))
        if found is not None:
            raise EvalLeak(f"the request contains the text of private eval item #{found}")


def _content(message: dict[str, Any]) -> str:
    """A message's (or a system prompt's) text: a string, or its blocks' texts (other blocks as JSON)."""
    content = message.get("content", "")
    if isinstance(content, str):
        return content
    return "\n".join(b["text"] if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
                     else json.dumps(b, ensure_ascii=False) for b in content or [])


@dataclass(frozen=True)
class Collision:
    """A few-shot seed that holds (or is held by) a private eval item's text."""

    seed_id: int
    eval_id: int
    family: str

    def describe(self) -> str:
        return (f"few-shot seed #{self.seed_id} ({self.family}) matches private eval item #{self.eval_id}: "
                "it is left out of the rotation (change its role or its text)")


def fewshot_collisions(store: Store, guard: EvalGuard | None = None) -> list[Collision]:
    """Every current few-shot seed whose text contains an eval item's turn, or whose turn an eval item contains."""
    guard = guard or EvalGuard.load(store)
    if not guard.keys:
        return []
    out = []
    for seed in store.fewshot_seeds():
        text = "\n".join(m.content or "" for m in seed.messages if m.role != "system")
        found = guard.hit(text)
        if found is None:
            seed_keys = _turn_keys(seed)
            found = next((eid for eid, key in guard.keys for sk in seed_keys if sk in key), None)
        if found is not None:
            out.append(Collision(seed.id, found, seed.family))
    return out
