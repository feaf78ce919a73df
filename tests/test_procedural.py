"""Procedural generators: every math answer re-verified independently, every tool trace schema-valid."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import jsonschema
import pytest

from curator.config import Settings
from curator.store import Store
from curator.families import load_families
from curator.generators import math as math_gen
from curator.generators import tools as tools_gen
from curator.jobs.procedural import run_procedural
from curator.families.schemas import MathBatch, ToolBatch
from curator.text import find_numbers, parse_number, script_stats

ROOT = Path(__file__).resolve().parents[1]


def expected_answer(task: str, p: dict) -> Fraction:
    """The answer recomputed from the problem's parameters, with formulas of this test's own."""
    if task == "four_operations":
        return Fraction(p["count"] * p["price"])
    if task == "fractions":
        return Fraction(p["parts"] - p["eaten"], p["parts"])
    if task == "percentages":
        return Fraction(p["price"]) * (100 - p["percent"]) / 100
    if task == "unit_price":
        return Fraction(p["total"], p["kilos"]) * p["wanted"]
    if task == "time_and_distance":
        return Fraction(p["speed"] * p["hours"]) if p["find"] == "distance" else Fraction(p["distance"], p["speed"])
    if task == "average":
        return Fraction(sum(p["scores"]), len(p["scores"]))
    raise AssertionError(task)


_EQUATION = re.compile(r"([۰-۹٬/ ×÷+−]+?)\s*=\s*([۰-۹٬/]+)")
_OPS = {"×": lambda a, b: a * b, "÷": lambda a, b: a / b, "+": lambda a, b: a + b, "−": lambda a, b: a - b}


def check_equations(text: str) -> int:
    """Every `a op b ... = c` written in the solution holds exactly; returns how many were checked."""
    checked = 0
    for lhs, rhs in _EQUATION.findall(text):
        tokens = lhs.split()
        value = parse_number(tokens[0])
        for op, operand in zip(tokens[1::2], tokens[2::2]):
            value = _OPS[op](value, parse_number(operand))
        assert value == parse_number(rhs), f"{lhs} = {rhs} is wrong"
        checked += 1
    return checked


@pytest.mark.parametrize("task", math_gen.TASK_TYPES)
@pytest.mark.parametrize("band", math_gen.BANDS)
def test_math_answers_are_verified_independently(task: str, band: str) -> None:
    for seed in range(60):
        problem = math_gen.generate(seed, task, band)
        assert parse_number(problem.answer) == expected_answer(task, problem.params)
        assert check_equations(problem.solution) >= 1
        final_numbers = [v for v, _, _ in find_numbers(problem.solution.rsplit(".", 2)[-2])]
        assert parse_number(problem.answer) in final_numbers, "the last sentence states the answer"
        assert script_stats(problem.question).verdict == "fa"
        assert not re.search(r"[0-9]", problem.question + problem.solution), "Persian digits only"


def test_math_is_deterministic_per_seed() -> None:
    assert math_gen.generate(7).item() == math_gen.generate(7).item()
    assert math_gen.generate(7).item() != math_gen.generate(8).item()


@pytest.mark.parametrize("task", tools_gen.TASK_TYPES)
@pytest.mark.parametrize("tool", sorted(tools_gen.TOOLS))
def test_tool_traces_are_valid_against_their_schemas(task: str, tool: str) -> None:
    for seed in range(25):
        trace = tools_gen.generate(seed, task, tool)
        ToolBatch.model_validate({"items": [trace]})
        schemas = {t["function"]["name"]: t["function"]["parameters"] for t in trace["tools"]}
        calls = [c for m in trace["messages"] for c in (m.get("tool_calls") or [])]
        if task != "tool_needed":
            assert calls == [], "negative cases make no call"
            assert trace["messages"][-1]["role"] == "assistant"
            continue
        (call,) = calls
        args = json.loads(call["function"]["arguments"])
        jsonschema.validate(args, schemas[call["function"]["name"]])
        roles = [m["role"] for m in trace["messages"]]
        assert roles == ["user", "assistant", "tool", "assistant"]
        assert trace["messages"][2]["tool_call_id"] == call["id"]
        final = trace["messages"][3]["content"]
        assert parse_number(str(trace["params"]["expected"])) in [v for v, _, _ in find_numbers(final)], \
            "the final answer uses the tool result"


def test_tool_results_are_computed_not_invented() -> None:
    for seed in range(30):
        trace = tools_gen.generate(seed, "tool_needed", "calculator")
        expr = json.loads(trace["messages"][1]["tool_calls"][0]["function"]["arguments"])["expression"]
        a, op, b = re.fullmatch(r"(\d+)([*+-])(\d+)", expr).groups()
        want = {"*": int(a) * int(b), "+": int(a) + int(b), "-": int(a) - int(b)}[op]
        assert trace["messages"][2]["content"] == str(want)
    assert tools_gen.convert(Fraction(3), "km", "m") == 3000
    with pytest.raises(ValueError):
        tools_gen.convert(Fraction(3), "km", "kg")


def test_procedural_jobs_write_candidates_like_the_teacher(db_file: Path) -> None:
    fams = load_families(ROOT / "prompts").families
    with Store(db_file) as store:
        first = run_procedural(store, fams["school_math"], Settings(), limit=12)
        again = run_procedural(store, fams["school_math"], Settings(), limit=12)
        tools = run_procedural(store, fams["tool_calling"], Settings(), limit=10)
        # --limit is a count to add, not a total (#24: the second run made nothing and did not say so)
        assert first.candidates == 12 and again.candidates == 12 and tools.candidates == 10
        assert "this run: 12 jobs (0 queued before, 12 new)" in again.summary()
        assert len({c.messages[0].content for c in store.examples("family = 'school_math'")}) == 24
        cands = store.examples("kind = 'candidate'")
        assert {c.source_type for c in cands} == {"procedural"}
        assert all(c.job_id and c.template_hash and c.model.startswith("procedural:") for c in cands)
        math_cands = [c for c in cands if c.family == "school_math"]
        assert len({c.task_type for c in math_cands}) == 6, "task types rotate"
        for c in math_cands:
            assert parse_number(c.answer) == expected_answer(c.task_type, c.metadata["params"])
        MathBatch.model_validate({"items": [{"task_type": c.task_type, "messages": [m.model_dump() for m in c.messages],
                                             "answer": c.answer} for c in math_cands]})
        with pytest.raises(ValueError):
            run_procedural(store, fams["safety"], Settings(), limit=1)


def test_families_know_which_schemas_have_a_built_in_generator() -> None:
    from curator.families import PROCEDURAL_SCHEMAS
    from curator.jobs.procedural import SUPPORTED

    assert tuple(SUPPORTED) == PROCEDURAL_SCHEMAS
