"""What cannot train is never exported: a row with no user turn, no assistant answer, turns out of
order, a tool call that does not match its schema, or terminal control characters, accepted from the
command line (which needs --force for it, as the app needs a second a) or from the app, never reaches
train.jsonl, and the curation log says why. The format gate fails control characters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from curator.config import MeaningSettings, Settings
from curator.target_mix import CoverageMap
from curator.trainable import untrainable
from curator.models import Example, Message
from curator.services.export import export_dataset
from curator.services.gate import run_gates
from curator.store import Store
from curator.text.normalize import key_hash
from curator.tui.app import CuratorApp
from curator.tui.screens.triage import TriageScreen
from tui_fixtures import FAMILIES, ROOT, settle

CMAP = CoverageMap.load(ROOT / "prompts" / "coverage.toml", FAMILIES)
CALCULATOR = {"type": "function", "function": {
    "name": "calculator", "description": "Evaluate an arithmetic expression.",
    "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}}


def turn(role: str, content: str = "", **extra) -> dict:
    return {"role": role, "content": content, **extra}


def call(arguments: str) -> dict:
    return turn("assistant", "", tool_calls=[{"type": "function", "id": "c1",
                                               "function": {"name": "calculator", "arguments": arguments}}])


UNTRAINABLE = {
    "no user turn": [turn("system", "تو معلم هستی."), turn("assistant", "فاعل کننده‌ی کار است.")],
    "no assistant answer": [turn("system", "تو معلم هستی."), turn("system", "کوتاه بگو."), turn("user", "فاعل چیست؟")],
    "a system turn after the first": [turn("user", "فاعل چیست؟"), turn("system", "کوتاه بگو."),
                                      turn("assistant", "کننده‌ی کار.")],
    "two assistant turns in a row": [turn("user", "فاعل چیست؟"), turn("assistant", "کننده‌ی کار."),
                                     turn("assistant", "مثلاً «علی».")],
    "do not match its schema": [turn("user", "حاصل ۱۱ ضربدر ۷۰؟"), call('{"expr": 770}'),
                                turn("tool", "770", tool_call_id="c1"), turn("assistant", "۷۷۰ می‌شود.")],
    "U+001B": [turn("user", "رنگ را عوض کن"), turn("assistant", "\x1b[31mقرمز\x1b[0m شد.")],
    "U+0007": [turn("user", "زنگ بزن"), turn("assistant", "زنگ زد\x07.")],
    "U+202E": [turn("user", "این را بخوان"), turn("assistant", "متن \u202eوارونه\u202c است.")],
}


def add(store: Store, messages: list[dict], family: str = "grammar_tutor") -> int:
    e = Example(kind="candidate", family=family, task_type="explanation", difficulty="middle_school",
                messages=[Message(**m) for m in messages], tools=[CALCULATOR] if family == "tool_calling" else None)
    e.key_hash = key_hash(json.dumps(messages, ensure_ascii=False))
    return store.add_example(e)


def good(store: Store) -> int:
    return add(store, [turn("user", "در جملهٔ «علی کتاب را خواند» فاعل کدام است؟"),
                       turn("assistant", "«علی» فاعل است، چون کار را انجام داده است.")])


@pytest.mark.parametrize(("why", "messages"), UNTRAINABLE.items())
def test_each_kind_of_untrainable_row_is_named(why: str, messages: list[dict]) -> None:
    found = untrainable(messages, [CALCULATOR])
    assert found is not None and why in found


def test_a_sound_row_trains_and_the_format_gate_fails_control_characters(tmp_path: Path) -> None:
    assert untrainable([turn("user", "سلام"), turn("assistant", "سلام! \u200cچطور کمکتان کنم؟")]) is None
    with Store(tmp_path / "f.db") as store:
        ids = {why: add(store, m, "tool_calling" if "schema" in why else "grammar_tutor")
               for why, m in UNTRAINABLE.items() if why.startswith("U+")}
        run_gates(store, FAMILIES, meaning=MeaningSettings(enabled=False))
        verdicts = store.current_verdicts()
    for why, example_id in ids.items():
        fmt = verdicts[example_id]["format"]
        assert (fmt["verdict"], fmt["reason"]) == ("fail", "control_characters")
        assert why in fmt["detail"]["characters"]


def curator(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "curator", *args], capture_output=True, text=True, cwd=ROOT)


def test_accepted_from_the_command_line_with_force_and_never_exported(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    with Store(db) as store:
        kept = good(store)
        ids = {why: add(store, m, "tool_calling" if "schema" in why else "grammar_tutor")
               for why, m in UNTRAINABLE.items()}
        run_gates(store, FAMILIES, meaning=MeaningSettings(enabled=False))
    everything = [str(i) for i in ids.values()]
    refused = curator("triage", "accept", *everything, "--db", str(db))
    assert refused.returncode != 0 and "--force" in refused.stderr and "cannot train" in refused.stderr
    with Store(db, readonly=True) as store:
        assert all(store.example(i).state != "accepted" for i in ids.values()), "nothing accepted without --force"
    assert curator("triage", "accept", str(kept), "--db", str(db)).returncode == 0, "a sound row needs no --force"
    forced = curator("triage", "accept", *everything, "--force", "--db", str(db))
    assert forced.returncode == 0, forced.stderr
    with Store(db) as store:
        result = export_dataset(store, CMAP, out_dir=tmp_path / "out", meaning_settings=MeaningSettings(enabled=False))
    train = [json.loads(line) for line in (result.path / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    log = {r["id"]: r for r in map(json.loads, (result.path / "curation_log.jsonl").read_text().splitlines())}
    assert log[kept]["exported"] and len(train) == 1
    for why, example_id in ids.items():
        assert not log[example_id]["exported"]
        assert log[example_id]["why"].startswith("excluded: cannot train") and why in log[example_id]["why"], why


async def test_accepted_in_the_app_with_a_second_a_and_never_exported(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    with Store(db) as store:
        bad = add(store, UNTRAINABLE["no assistant answer"])
        run_gates(store, FAMILIES, meaning=MeaningSettings(enabled=False))
    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="triage")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TriageScreen) and screen.card is not None and screen.card.example.id == bad
        await pilot.press("a")
        await settle(pilot)
        assert "cannot train" in screen.warning
        await pilot.press("a")
        await settle(pilot)
    with Store(db) as store:
        assert store.example(bad).state == "accepted"
        result = export_dataset(store, CMAP, out_dir=tmp_path / "out", meaning_settings=MeaningSettings(enabled=False))
    log = {r["id"]: r for r in map(json.loads, (result.path / "curation_log.jsonl").read_text().splitlines())}
    assert (result.path / "train.jsonl").read_text() == ""
    assert log[bad]["why"] == "excluded: cannot train (no assistant answer)"
