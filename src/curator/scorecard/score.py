"""The verifier each eval item deserves, applied to the student's answer.

The question is the item's conversation before its target turn: the first assistant turn that calls a
tool (a tool item: is the call right?), else the last assistant turn. Scorers:
- `tool_call` (an item with tools): the same tools called, each with arguments valid against the tool's
  schema and equal to the reference's; an item whose reference calls nothing must not call.
- `math` (an item of a family with the math gate): the final answer equals the reference's (digits or Persian number
  words, read as the math gate reads them).
- `language`, `length`, `content`: the family's per-example gates on the question and the answer.
- `judge` (open answers: grammar, QA, explanations, safety): a judge comparing with the reference by
  a rubric; until one has scored it the item is `pending` and left out of pass rates.
An item passes when every scorer that applies passed. Each score keeps its evidence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from curator.gates.base import GateContext
from curator.gates.defects import ContentGate
from curator.gates.language import LanguageGate
from curator.gates.math_tools import final_answer
from curator.gates.rules import LengthGate
from curator.models import Example, Message

VERIFIERS = {"math", "tools"}  # a family with one of these gates has answers a verifier decides (no judge)
GATES = (LanguageGate(), LengthGate(), ContentGate())


@dataclass(frozen=True)
class Score:
    scorer: str
    passed: bool | None  # None: not decided yet (a judge still to score it)
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)


def target_index(item: Example) -> int:
    """The turn the student is asked to say: the first assistant turn that calls a tool, else the last
    assistant turn."""
    assistant = [i for i, m in enumerate(item.messages) if m.role == "assistant"]
    if not assistant:
        raise ValueError(f"eval item #{item.id} has no assistant turn to compare with")
    calling = [i for i in assistant if item.messages[i].tool_calls]
    return calling[0] if calling else assistant[-1]


def question(item: Example) -> list[dict[str, Any]]:
    """The conversation the student is sent (TRL messages)."""
    return [m.model_dump(exclude_none=True) for m in item.messages[:target_index(item)]]


def reference(item: Example) -> Message:
    return item.messages[target_index(item)]


def _arguments(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _same(a: Any, b: Any) -> bool:
    """Argument values equal as values: numbers by value (3 == 3.0, "3" is not 3), strings with
    surrounding space and Persian/Arabic digit forms aside."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    if isinstance(a, str) and isinstance(b, str):
        digits = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
        return a.strip().translate(digits) == b.strip().translate(digits)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def score_tool_call(item: Example, answer: dict[str, Any]) -> Score:
    schemas = {t.get("function", {}).get("name"): t.get("function", {}).get("parameters") or {}
               for t in item.tools or []}
    expected = [(c.function.get("name"), _arguments(c.function.get("arguments"))) for c in reference(item).tool_calls or []]
    made = [((c.get("function") or {}).get("name"), _arguments((c.get("function") or {}).get("arguments")))
            for c in answer.get("tool_calls") or []]
    evidence = {"expected": [{"name": n, "arguments": a} for n, a in expected],
                "called": [{"name": n, "arguments": a} for n, a in made]}
    if not expected:
        return Score("tool_call", not made, "no_call_expected" if made else "ok", evidence)
    if not made:
        return Score("tool_call", False, "no_call", evidence)
    if [n for n, _ in made] != [n for n, _ in expected]:
        return Score("tool_call", False, "wrong_tool", evidence)
    for (name, args), (_, want) in zip(made, expected):
        if not isinstance(args, dict):
            return Score("tool_call", False, "arguments_not_json", {**evidence, "tool": name})
        errors = list(jsonschema.validators.validator_for(schemas.get(name, {}))(schemas.get(name, {})).iter_errors(args))
        if errors:
            return Score("tool_call", False, "arguments_schema", {**evidence, "tool": name, "error": errors[0].message})
        if not _same(args, want):
            return Score("tool_call", False, "wrong_arguments", {**evidence, "tool": name})
    return Score("tool_call", True, "ok", evidence)


def score_math(item: Example, answer: dict[str, Any]) -> Score:
    want, got = final_answer(reference(item).content), final_answer(answer.get("content") or "")
    evidence = {"expected": None if want is None else str(want), "answered": None if got is None else str(got)}
    if want is None:
        return Score("math", None, "no_reference_answer", evidence)
    if got is None:
        return Score("math", False, "no_final_answer", evidence)
    return Score("math", got == want, "ok" if got == want else "wrong_answer", evidence)


def score_gates(item: Example, answer: dict[str, Any], family: Any) -> list[Score]:
    """The family's language, length and content gates on the question and the answer (a pure tool
    call has no text for them)."""
    if not (answer.get("content") or "").strip():
        return []
    asked = item.messages[:target_index(item)]
    said = Message(role="assistant", content=answer["content"])
    example = Example(kind="candidate", family=item.family, task_type=item.task_type, messages=[*asked, said])
    ctx = GateContext(family=family)
    out = []
    for gate in GATES:
        v = gate.check(example, ctx)
        out.append(Score(gate.name, v.verdict != "fail", v.reason, dict(v.detail)))
    return out


def score_answer(item: Example, answer: dict[str, Any], family: Any = None) -> list[Score]:
    """Every scorer that applies to this item, on the student's answer (a message dict: content and
    tool_calls)."""
    scores: list[Score] = []
    gates = set(getattr(family, "gates", ()) or ())
    if item.tools:
        scores.append(score_tool_call(item, answer))
    if "math" in gates:
        scores.append(score_math(item, answer))
    scores += score_gates(item, answer, family)
    if not item.tools and not gates & VERIFIERS:
        scores.append(Score("judge", None, "not_judged", {}))
    return scores


def verdict(scores: list[Score]) -> bool | None:
    """The item's verdict: False if any scorer failed, None while one is undecided, else True."""
    if any(s.passed is False for s in scores):
        return False
    if any(s.passed is None for s in scores):
        return None
    return True
