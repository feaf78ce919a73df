"""Candidates from elsewhere: imported lines become candidates that pass the same gates, bad lines
are reported with their line and field, and importing again adds nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from curator.services.candidates import import_candidates, list_candidates
from curator.services.gate import run_gates
from curator.store import Store
from curator.families import load_families

ROOT = Path(__file__).resolve().parents[1]
FAMS = load_families(ROOT / "prompts").families
PASSAGE = ("کاخ آپادانا در تخت جمشید ساخته شد. تالار اصلی آن ۷۲ ستون داشت و بلندی هر ستون به نزدیک بیست متر "
           "می‌رسید. این کاخ برای پذیرایی از نمایندگان سرزمین‌های گوناگون به کار می‌رفت و نقش‌های پلکان آن "
           "هنوز دیده می‌شود.")
GOOD = [
    {"family": "grammar_tutor", "task_type": "explanation", "difficulty": "middle_school", "topic": "فاعل",
     "messages": [{"role": "user", "content": "فاعل در جملهٔ «علی آمد» کدام است؟"},
                  {"role": "assistant", "content": "«علی» فاعل است، چون کار آمدن را انجام داده است."}],
     "metadata": {"source": "partner-a", "batch": 7}},
    {"family": "passage_qa", "passage": PASSAGE,
     "messages": [{"role": "user", "content": "طبق متن، تالار اصلی کاخ آپادانا چند ستون داشت؟"},
                  {"role": "assistant", "content": "تالار اصلی کاخ آپادانا ۷۲ ستون داشت."}]},
    {"family": "tool_calling", "tools": [{"type": "function", "function": {"name": "calculator", "parameters": {}}}],
     "messages": [{"role": "user", "content": "حاصل ۱۲ ضرب در ۷ چند است؟"},
                  {"role": "assistant", "content": "", "tool_calls": [
                      {"type": "function", "id": "c1", "function": {"name": "calculator",
                                                                    "arguments": "{\"expression\": \"12*7\"}"}}]},
                  {"role": "tool", "tool_call_id": "c1", "content": "84"},
                  {"role": "assistant", "content": "حاصل ۱۲ ضرب در ۷ برابر ۸۴ است."}]},
]
BAD = [
    ({"messages": GOOD[0]["messages"]}, "family: Field required"),
    ({"family": "grammar_tutor", "messages": [{"role": "user", "content": "  "}]}, "messages.0"),
    ({"family": "grammar_tutor", "messages": GOOD[0]["messages"], "colour": "blue"}, "colour: Extra inputs"),
    ({"family": "no_such_family", "messages": GOOD[0]["messages"]}, "family: unknown family"),
    ({"family": "passage_qa", "passage_id": 999999, "messages": GOOD[1]["messages"]}, "passage_id: no passage"),
    ({"family": "grammar_tutor", "messages": [{"role": "wizard", "content": "سلام"}]}, "messages.0.role"),
    ({"family": "grammar_tutor", "messages": []}, "messages: a conversation needs at least one message"),
]


def write(path: Path, rows: list, extra_lines: tuple[str, ...] = ()) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in rows] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_adds_candidates_that_the_gates_check(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "in.jsonl", GOOD)
    report = import_candidates(store, path, families=set(FAMS))
    assert (report.added, report.existing, report.problems) == (3, 0, [])
    rows = store.examples("source_type = 'imported'")
    assert [r.family for r in rows] == ["grammar_tutor", "passage_qa", "tool_calling"]
    assert all(r.kind == "candidate" and r.state == "new" and r.uid and r.lineage == r.uid for r in rows)
    assert rows[0].metadata == {"source": "partner-a", "batch": 7} and rows[0].topic == "فاعل"
    passage = store.passage(rows[1].passage_id)
    assert passage.text == PASSAGE and passage.key_hash and passage.rules, "the corpus's own analysis ran"
    assert rows[2].messages[1].tool_calls[0].function["name"] == "calculator" and rows[2].tools
    again = import_candidates(store, path, families=set(FAMS))
    assert (again.added, again.existing) == (0, 3), "importing the same file again adds nothing"
    assert store.count("passages", "text = ?", [PASSAGE]) == 1
    gated = run_gates(store, FAMS)
    assert gated.checked == 3
    verdicts = store.current_verdicts([r.id for r in rows])
    assert all({"format", "dedup", "decontam"} <= set(verdicts[r.id]) for r in rows)
    listed = {r["id"]: r for r in list_candidates(store)}
    assert listed[rows[0].id]["metadata"] == {"source": "partner-a", "batch": 7}
    assert listed[rows[0].id]["verdicts"]["format"] == {"verdict": "pass", "reason": "ok"}


def test_bad_lines_are_reported_with_line_and_field_and_skipped(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "bad.jsonl", [GOOD[0]] + [row for row, _ in BAD], ("not json", "[1, 2]"))
    report = import_candidates(store, path, families=set(FAMS))
    assert report.added == 1 and report.skipped == len(BAD) + 2
    for number, (_, expected) in enumerate(BAD, start=2):
        problem = next(p for p in report.problems if p.startswith(f"{path}:{number}: "))
        assert expected in problem and "Value error" not in problem, problem
    assert any(p.startswith(f"{path}:{len(BAD) + 2}: not valid JSON") for p in report.problems)
    assert store.count("examples", "source_type = 'imported'") == 1


def run_cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "curator", *args, "--db", str(db)], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "CURATOR_DEBUG": ""})


def test_candidates_cli(db_file: Path, tmp_path: Path) -> None:
    good = write(tmp_path / "good.jsonl", GOOD)
    out = run_cli(db_file, "candidates", "import", str(good))
    assert out.returncode == 0, out.stderr
    assert "3 candidates added" in out.stdout
    mixed = write(tmp_path / "mixed.jsonl", [GOOD[0], BAD[0][0]])
    out = run_cli(db_file, "candidates", "import", str(mixed))
    assert out.returncode == 1 and f"skipped: {mixed}:2: family: Field required" in out.stderr
    assert "0 candidates added, 1 already present, 1 line skipped" in out.stdout
    assert run_cli(db_file, "gate").returncode == 0
    listed = [json.loads(line) for line in run_cli(db_file, "candidates", "list", "--json").stdout.splitlines()]
    assert len(listed) == 3 and all(r["state"] == "gated" and r["gate_status"] for r in listed)
    assert set(listed[0]) >= {"id", "uid", "family", "state", "gate_status", "verdicts", "decisions", "metadata"}
    one = run_cli(db_file, "candidates", "list", "--json", "--family", "passage_qa").stdout.splitlines()
    assert [json.loads(line)["family"] for line in one] == ["passage_qa"]
    plain = run_cli(db_file, "candidates", "list")
    assert plain.returncode == 0 and len(plain.stdout.splitlines()) == 3
