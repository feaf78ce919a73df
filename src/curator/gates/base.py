"""The gate interface: a gate looks at one candidate and says pass, flag or fail, with a score and a reason.

Reason codes are short and stable (`too_long`, `math_mismatch`...); `detail` carries the evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from curator.models import Example, Message

Status = Literal["pass", "flag", "fail"]
SEVERITY = {"pass": 0, "flag": 1, "fail": 2}


@dataclass(frozen=True)
class Verdict:
    verdict: Status
    reason: str
    score: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def ok(cls, score: float | None = None, **detail: Any) -> "Verdict":
        return cls("pass", "ok", score, detail)


def verdict_changed(old: dict | None, v: Verdict, *keys: str) -> bool:
    """Whether a verdict differs from the current one (`old`: verdict, reason, detail) in what a set-level
    gate writes again for: its verdict, its reason, or the evidence under `keys`."""
    return old is None or old["verdict"] != v.verdict or old["reason"] != v.reason or \
        any((old["detail"] or {}).get(k) != v.detail.get(k) for k in keys)


def worst(statuses: list[str]) -> str | None:
    return max(statuses, key=SEVERITY.__getitem__) if statuses else None


@dataclass
class GateContext:
    """What a gate may need besides the example: its family's settings and its source passage."""

    family: Any = None  # families.Family, when the family file is loaded
    passage_text: str | None = None


class Gate(Protocol):
    name: str
    version: str

    def check(self, example: Example, ctx: GateContext) -> Verdict: ...


def turns(example: Example, *roles: str) -> list[Message]:
    return [m for m in example.messages if m.role in roles]


def instruction_text(example: Example) -> str:
    """What the model is asked: the user turns."""
    return "\n".join(m.content for m in turns(example, "user"))


def response_text(example: Example) -> str:
    """What the model should answer: the assistant turns' text."""
    return "\n".join(m.content for m in turns(example, "assistant") if m.content)


def approx_tokens(text: str) -> int:
    """A tokenizer-free estimate: about three characters a token for Persian."""
    return approx_chars_tokens(len(text))


def approx_chars_tokens(chars: int) -> int:
    """`approx_tokens` of a text `chars` characters long."""
    return (chars + 2) // 3
