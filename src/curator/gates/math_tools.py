"""Gates that verify by computation: math answers, and tool calls against their JSON schemas.

Model text is never evaluated as code: arithmetic is parsed by a small evaluator over exact
fractions that knows numbers, + − × ÷ * / and parentheses, and nothing else.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction

import jsonschema

from curator.gates.base import GateContext, Verdict, response_text, turns
from curator.models import Example
from curator.text.numbers import find_number_words, find_numbers, parse_number

_D = "0-9۰-۹٠-٩"
_NUMBER = rf"[{_D}]+(?:[,٬][{_D}]{{3}})*(?:[.٫/][{_D}]+)?"
# A stated computation: numbers joined by operators, then "=", then a number.
_EQUATION = re.compile(rf"((?:\(?\s*{_NUMBER}\s*\)?\s*[-+×÷*/−x]\s*)+\(?\s*{_NUMBER}\s*\)?)\s*=\s*({_NUMBER})")
_TOKEN = re.compile(rf"{_NUMBER}|[-+×÷*/−x()]")
_OPS = {"+": (1, lambda a, b: a + b), "-": (1, lambda a, b: a - b), "−": (1, lambda a, b: a - b),
        "×": (2, lambda a, b: a * b), "*": (2, lambda a, b: a * b), "x": (2, lambda a, b: a * b),
        "÷": (2, lambda a, b: a / b), "/": (2, lambda a, b: a / b)}


def evaluate(expression: str) -> Fraction:
    """Exact value of an arithmetic expression (shunting-yard; no eval). ValueError if malformed."""
    tokens = _TOKEN.findall(expression)
    if "".join(tokens) != re.sub(r"\s+", "", expression):
        raise ValueError(f"not arithmetic: {expression!r}")
    out: list[Fraction] = []
    ops: list[str] = []

    def apply() -> None:
        op = ops.pop()
        if len(out) < 2:
            raise ValueError(f"malformed: {expression!r}")
        b, a = out.pop(), out.pop()
        if op in "÷/" and b == 0:
            raise ValueError("division by zero")
        out.append(_OPS[op][1](a, b))

    for tok in tokens:
        if tok == "(":
            ops.append(tok)
        elif tok == ")":
            while ops and ops[-1] != "(":
                apply()
            if not ops:
                raise ValueError(f"unbalanced parentheses: {expression!r}")
            ops.pop()
        elif tok in _OPS:
            while ops and ops[-1] != "(" and _OPS[ops[-1]][0] >= _OPS[tok][0]:
                apply()
            ops.append(tok)
        else:
            out.append(parse_number(tok))
    while ops:
        if ops[-1] == "(":
            raise ValueError(f"unbalanced parentheses: {expression!r}")
        apply()
    if len(out) != 1:
        raise ValueError(f"malformed: {expression!r}")
    return out[0]


def final_answer(text: str) -> Fraction | None:
    """The last number of the last sentence that has one (how solutions state their result), in
    digits or in words («شصت هزار»); words inside a digit-written number («۱۲۰ هزار») count once."""
    sentences = [s for s in re.split(r"(?<=[.!؟?])\s+|\n", text.strip()) if s.strip()]
    for sentence in reversed(sentences):
        numbers = find_numbers(sentence)
        numbers += [w for w in find_number_words(sentence) if not any(s <= w[1] < e for _, s, e in numbers)]
        if numbers:
            return max(numbers, key=lambda n: n[1])[0]
    return None


class MathGate:
    """Every stated computation holds, and the final answer equals the verified answer."""

    name, version = "math", "2"

    def check(self, example: Example, ctx: GateContext) -> Verdict:
        solution = response_text(example)
        checked = []
        for lhs, rhs in _EQUATION.findall(solution):
            try:
                value = evaluate(lhs)
            except (ValueError, ZeroDivisionError):
                continue
            stated = parse_number(rhs)
            checked.append(f"{lhs.strip()} = {rhs}")
            if value != stated:
                return Verdict("fail", "computation_error", 0.0,
                               {"computation": f"{lhs.strip()} = {rhs}", "correct": str(value)})
        answer = final_answer(solution)
        if example.answer is not None:
            try:
                expected = parse_number(example.answer)
            except ValueError:
                return Verdict("fail", "answer_not_a_number", 0.0, {"answer": example.answer})
            if answer is None:
                return Verdict("fail", "no_final_answer", 0.0, {"expected": str(expected)})
            if answer != expected:
                return Verdict("fail", "math_mismatch", 0.0, {"stated": str(answer), "expected": str(expected)})
            return Verdict.ok(1.0, computations=checked, answer=str(expected))
        if not checked:
            return Verdict("flag", "unverifiable", None, {"note": "no answer field and no stated computation"})
        return Verdict.ok(1.0, computations=checked)


NEGATIVE_TASKS = ("no_tool_needed", "ambiguous_request", "unavailable_tool")


class ToolsGate:
    """Tool calls name tools the example offers, carry JSON arguments valid against the tool's
    schema, and are each answered by a tool result before the final answer; negative cases call nothing."""

    name, version = "tools", "1"

    def check(self, example: Example, ctx: GateContext) -> Verdict:
        tools = {}
        for spec in example.tools or []:
            fn = spec.get("function", {}) if isinstance(spec, dict) else {}
            try:
                jsonschema.validators.validator_for(fn.get("parameters", {})).check_schema(fn.get("parameters", {}))
            except jsonschema.SchemaError as exc:
                return Verdict("fail", "bad_tool_schema", 0.0, {"tool": fn.get("name"), "error": exc.message})
            tools[fn.get("name")] = fn.get("parameters", {})
        calls = [(i, c) for i, m in enumerate(example.messages) for c in (m.tool_calls or [])]
        if (example.task_type or "") in NEGATIVE_TASKS:
            if calls:
                return Verdict("fail", "negative_case_calls_tool", 0.0, {"task_type": example.task_type})
            return Verdict.ok(1.0, calls=0)
        for turn, call in calls:
            name = call.function.get("name")
            if name not in tools:
                return Verdict("fail", "unknown_tool", 0.0, {"turn": turn, "tool": name, "offered": sorted(tools)})
            raw = call.function.get("arguments", "{}")
            try:
                args = json.loads(raw) if isinstance(raw, str) else raw
            except json.JSONDecodeError as exc:
                return Verdict("fail", "arguments_not_json", 0.0, {"turn": turn, "error": exc.msg})
            if not isinstance(args, dict):
                return Verdict("fail", "arguments_not_object", 0.0, {"turn": turn})
            errors = sorted(jsonschema.validators.validator_for(tools[name])(tools[name]).iter_errors(args),
                            key=lambda e: list(e.path))
            if errors:
                return Verdict("fail", "arguments_schema", 0.0,
                               {"turn": turn, "tool": name, "error": errors[0].message,
                                "path": "/".join(map(str, errors[0].path))})
            following = example.messages[turn + 1: turn + 1 + len(example.messages[turn].tool_calls or [])]
            if not following or any(m.role != "tool" for m in following):
                return Verdict("fail", "call_unanswered", 0.0, {"turn": turn, "tool": name})
            if call.id and not any(m.tool_call_id in (None, call.id) for m in following):
                return Verdict("fail", "call_unanswered", 0.0, {"turn": turn, "tool": name, "id": call.id})
        if calls:
            final = turns(example, "assistant")[-1]
            results = " ".join(m.content for m in turns(example, "tool"))
            numbers = {v for v, _, _ in find_numbers(results)}
            if numbers and not numbers & {v for v, _, _ in find_numbers(final.content)}:
                return Verdict("flag", "result_not_used", 0.5, {"tool_results": results[:200]})
        return Verdict.ok(1.0, calls=len(calls))
