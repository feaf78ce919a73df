"""Rule gates on one candidate: format, length and faithfulness to the source passage (the language
gate is in `curator.gates.language`)."""

from __future__ import annotations

import re

from pydantic import ValidationError

from curator.gates.defects import family_placeholders, leftover, mojibake, only_invisible
from curator.gates.base import GateContext, Verdict, approx_tokens, instruction_text, response_text
from curator.trainable import control_characters, turn_order_problem
from curator.models import Example
from curator.families.schemas import SCHEMAS
from curator.text.normalize import match_key


class FormatGate:
    """The example matches its family's schema, roles come in a valid order, no turn is empty or only
    invisible characters, no template leftovers remain (the family's own placeholders and generic
    shapes), no text is mojibake and none holds terminal control characters (ESC, BEL, bidi overrides)."""

    name, version = "format", "3"

    def check(self, example: Example, ctx: GateContext) -> Verdict:
        roles = [m.role for m in example.messages]
        if problem := role_order_problem(example):
            return Verdict("fail", "bad_role_order", 0.0, {"roles": roles, "problem": problem})
        placeholders = family_placeholders(ctx.family)
        for i, m in enumerate(example.messages):
            if not m.content.strip() and not m.tool_calls:
                return Verdict("fail", "empty_turn", 0.0, {"turn": i})
            if (marks := only_invisible(m.content)) and not m.tool_calls:
                return Verdict("fail", "invisible", 0.0, {"turn": i, "characters": marks})
            if hit := leftover(m.content, placeholders, answer=m.role == "assistant"):
                return Verdict("fail", "template_leftover", 0.0, {"turn": i, "text": hit})
            if broken := mojibake(m.content):
                return Verdict("fail", "mojibake", 0.0, {"turn": i, **broken})
            calls = " ".join(c.function.get("arguments") or "" for c in m.tool_calls or ())
            if controls := control_characters(m.content + calls):
                return Verdict("fail", "control_characters", 0.0, {"turn": i, "characters": controls})
        if ctx.family is not None and ctx.family.schema in SCHEMAS and ctx.family.schema != "PassageLabels":
            item = {"task_type": example.task_type or "?", "messages": [m.model_dump() for m in example.messages],
                    "answer": example.answer, "tools": example.tools}
            try:
                SCHEMAS[ctx.family.schema].model_validate({"items": [{k: v for k, v in item.items() if v is not None}]})
            except ValidationError as exc:
                first = exc.errors()[0]
                return Verdict("fail", "schema_invalid", 0.0,
                               {"field": ".".join(map(str, first["loc"][2:])), "error": first["msg"]})
        return Verdict.ok(1.0)


def role_order_problem(example: Example) -> str | None:
    """Why the turns are out of order (TRL's conversational rules), or None."""
    return turn_order_problem([m.model_dump() for m in example.messages])


class LengthGate:
    """Instruction and response within the family's bounds (approximate tokens)."""

    name, version = "length", "1"
    defaults = {"instruction_max_tokens": 400, "response_max_tokens": 500, "response_min_tokens": 3}

    def check(self, example: Example, ctx: GateContext) -> Verdict:
        bounds = {**self.defaults, **(getattr(ctx.family, "length", None) or {})}
        instruction, response = approx_tokens(instruction_text(example)), approx_tokens(response_text(example))
        detail = {"instruction_tokens": instruction, "response_tokens": response, **bounds}
        if response > bounds["response_max_tokens"]:
            return Verdict("fail", "response_too_long", None, detail)
        if instruction > bounds["instruction_max_tokens"]:
            return Verdict("fail", "instruction_too_long", None, detail)
        if response < bounds["response_min_tokens"]:
            return Verdict("fail", "response_too_short", None, detail)
        return Verdict.ok(None, **detail)


STOPWORDS = frozenset(
    "و در به از که این را با است برای آن یک تا می هم شد شده بود های ها او ما شما من تو بر یا اما اگر چون "
    "نیز باید کرد کند کنند دارد دارند هست هستند نیست چه چرا کجا کدام چند پس بنابراین همین همه خود".split()
)
_WORDS = re.compile(r"[^\W\d_]{3,}")


class FaithfulnessGate:
    """Passage-grounded answers: the share of the answer's content words found in the passage (or
    the question). Low support is flagged for the judge and the curator, not failed."""

    name, version = "faithfulness", "1"
    flag_below = 0.55

    def check(self, example: Example, ctx: GateContext) -> Verdict:
        if not ctx.passage_text:
            return Verdict.ok(None, skipped="no source passage")
        if (example.task_type or "").startswith("unanswerable"):
            return Verdict.ok(None, skipped="unanswerable question")
        source = set(_WORDS.findall(match_key(ctx.passage_text + "\n" + instruction_text(example))))
        words = [w for w in _WORDS.findall(match_key(response_text(example))) if w not in STOPWORDS]
        if not words:
            return Verdict.ok(1.0)
        stems = {s[:4] for s in source if len(s) >= 4}  # a crude stem: Persian suffixes (ها، ی، تر) vary
        supported = [w for w in words if w in source or (len(w) >= 4 and w[:4] in stems)]
        score = len(supported) / len(words)
        unsupported = sorted({w for w in words if w not in supported})[:12]
        if score < self.flag_below:
            return Verdict("flag", "unsupported_answer", round(score, 3), {"unsupported_words": unsupported})
        return Verdict.ok(round(score, 3), unsupported_words=unsupported)

