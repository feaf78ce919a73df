"""An export's bytes are pinned: the same store exports to the same files, byte for byte, as the
export did before it was streamed (#25). The store is built with fixed text and fixed timestamps
(random ids made fixed; candidates with tool calls, duplicates, a candidate copying an eval item, rejects with reasons, an undo,
a revision, the sample's seeds and eval items); the leak check by meaning is off so no float from a model
reaches a file. A change of the export format must update the hashes below, on purpose."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import date
from pathlib import Path

import pytest

from curator.config import MeaningSettings
from curator.export import curation_log
from curator.families import load_families
from curator.models import Message
from curator.services.demo import prepare_sample
from curator.services.export import export_dataset
from curator.services.gating.runner import GateReport, run_set_level, update_changed_status
from curator.services.triage import decide, save_revision, undo
from curator.store import Store
from curator.target_mix import CoverageMap

ROOT = Path(__file__).resolve().parents[1]
STAMP = "2025-01-02T03:04:05+00:00"
WORDS = ("فاعل مفعول متمم مسند فعل قید صفت جمله دانش‌آموز معلم درس کتاب مدرسه آب خورشید گیاه برگ نور "
         "است را که از به با در برای این آن هم یک و تاریخ ایران شهر سال").split()
FAMILIES = {"grammar_tutor": ["explanation", "role_identification"], "student_support": ["explain_simply", "quiz"],
            "passage_qa": ["factual_question"], "school_math": ["fractions"]}
TOOLS = [{"type": "function", "function": {"name": "calculator", "parameters": {"type": "object", "properties": {
    "expression": {"type": "string"}}}}}]


def build(path: Path) -> None:
    rng = random.Random(25)
    with Store(path) as store:
        prepare_sample(store)
        eval_text = json.loads(store.conn.execute(
            "SELECT messages FROM examples WHERE kind = 'seed' AND role = 'eval' ORDER BY id LIMIT 1").fetchone()[0])
        rows = []
        for i in range(1, 121):
            family = rng.choice(list(FAMILIES))
            q = " ".join(rng.choices(WORDS, k=rng.randint(8, 16))) + f" {i % 100}؟"
            a = " ".join(rng.choices(WORDS, k=rng.randint(25, 60))) + f" {i % 100}."
            messages: list = [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
            tools = None
            if i % 17 == 0:  # a tool call and its answer
                tools = json.dumps(TOOLS)
                messages = [{"role": "user", "content": q},
                            {"role": "assistant", "content": None, "tool_calls": [
                                {"id": f"c{i}", "type": "function",
                                 "function": {"name": "calculator", "arguments": {"expression": f"{i}*2"}}}]},
                            {"role": "tool", "tool_call_id": f"c{i}", "content": str(i * 2)},
                            {"role": "assistant", "content": a}]
            if i == 60:
                messages = eval_text  # a leak: never accepted, logged with its evidence
            rows.append((family, rng.choice(FAMILIES[family]), rng.choice(["elementary", "middle_school"]),
                         "generated", json.dumps(messages, ensure_ascii=False), tools, f"model-{i % 3}",
                         json.dumps({"verified": i % 11 == 0}), f"k{i}", STAMP))
        with store.transaction():
            store.conn.executemany(
                "INSERT INTO examples (kind, family, task_type, difficulty, source_type, messages, tools, model, "
                "metadata, key_hash, created_at) VALUES ('candidate',?,?,?,?,?,?,?,?,?,?)", rows)
        run_set_level(store, GateReport())
        update_changed_status(store)
        ids = [r[0] for r in store.conn.execute(
            "SELECT id FROM examples WHERE kind = 'candidate' AND gate_status = 'pass' ORDER BY id")]
        for n, example_id in enumerate(ids):
            if n % 7 == 3:
                decide(store, example_id, "reject", reason=["wrong", "unnatural", "off_topic"][n % 3], seconds=3.0)
            elif n % 13 != 5:
                decide(store, example_id, "accept", seconds=1.5, note="ok" if n % 5 == 0 else None)
        undo(store, example_id=ids[1])
        decide(store, ids[2], "flag")
        revised = store.example(ids[4])
        save_revision(store, ids[4], [Message(role="user", content=revised.messages[0].content),
                                      Message(role="assistant", content=revised.messages[1].content + " ویرایش")])
        decide(store, store.conn.execute("SELECT max(id) FROM examples").fetchone()[0], "accept")
        with store.transaction():
            store.conn.execute("UPDATE decisions SET created_at = ?", (STAMP,))
            store.conn.execute("UPDATE examples SET uid = 'u' || id, lineage = 'l' || (SELECT min(o.id) FROM examples o "
                               "WHERE o.lineage = examples.lineage) WHERE lineage IS NOT NULL")


# sha256 of every file of the export, as written before the export was streamed (#25).
EXPECTED: dict[str, str] = {
    "coverage_report.md": "39a7b003e21c96e8d1a38e9ba4af54b9f724b96dc39ff83139ab5a213da4ed0c",
    "curation_log.jsonl": "6d78434140849bbcde4574bf598aea5f3ef5ceb0419e19db56e9ea31206091e4",
    "eval_private.jsonl": "11dd12d236bb295b25e5b746e361d4b3e2666a4b7d493f2afe875d8609b36e92",
    "manifest.json": "7471bce33fc2bef18e0fec3eee60ffff9579f572eb21e4b426723be339389d51",
    "polish.jsonl": "e2b884332d15b58bafb4602a2c45a2d746bc3c938cdf6265b23334de3f409f40",
    "stats.json": "da5523cbd525a09e4f3a313bad5f47c21d81e5876cd9ad62641688360dc86eb8",
    "train.alpaca.jsonl": "4b4e075fd448eba425b5c548cf12362c31972ab3b7fe21a38da0b393f155e740",
    "train.jsonl": "32be3ac94a40dab02c824b5e7072efaec714daa545bb1b797e6a7ec756c95519",
    "train.prompt_completion.jsonl": "db842ddf1d6060f3ded81d73c729d41e1e25298406c32f19487fc9b6ebfb4f4d",
}


@pytest.fixture(scope="module", params=["log made here", "log made by a second process",
                                        "log joined as the second process spools it"])
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("bytes")
    build(work / "fixed.db")
    cmap = CoverageMap.load(ROOT / "prompts" / "coverage.toml", load_families(ROOT / "prompts").families)
    with Store(work / "fixed.db") as store, pytest.MonkeyPatch.context() as patch:
        if request.param != "log made here":  # (what a large export does)
            patch.setattr(curation_log, "IN_CHILD_FROM", 0)
        if request.param == "log joined as the second process spools it":  # (a word of progress a record)
            patch.setattr(curation_log, "SAY_EVERY", 1)
        result = export_dataset(store, cmap, out_dir=work / "exports", seed=3, today=date(2025, 1, 2),
                                formats=("prompt_completion", "alpaca"), meaning_settings=MeaningSettings(enabled=False))
    kept = [curation_log.CACHE] if request.param != "log made here" else []  # (for the next export)
    assert sorted(p.name for p in (work / "exports").iterdir()) == kept + [result.version]  # (no staging left)
    return result.path


def test_the_export_is_byte_for_byte_what_it_was(exported: Path) -> None:
    found = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(exported.iterdir())}
    assert found == EXPECTED


def test_the_pinned_store_exercises_the_log(exported: Path) -> None:
    log = [json.loads(line) for line in (exported / "curation_log.jsonl").read_text(encoding="utf-8").splitlines()]
    whys = {entry["why"].split(":")[0].split(" (")[0] for entry in log}
    assert {"exported", "not accepted"} <= whys and any(e["reject_reason"] for e in log)
    assert any(e["superseded_by"] for e in log) and any(e["evidence"] for e in log)
    assert any(d["undone"] for e in log for d in e["decisions"])
    train = (exported / "train.jsonl").read_text(encoding="utf-8")
    assert "tool_calls" in train and "tool_call_id" in train


def test_an_accepted_duplicate_is_logged_with_its_evidence_the_same_both_ways(tmp_path: Path) -> None:
    build(tmp_path / "fixed.db")
    cmap = CoverageMap.load(ROOT / "prompts" / "coverage.toml", load_families(ROOT / "prompts").families)
    with Store(tmp_path / "fixed.db") as store:
        (duplicate,) = store.conn.execute("SELECT example_id FROM current_verdicts WHERE gate = 'dedup' AND "
                                          "verdict = 'fail' ORDER BY example_id LIMIT 1").fetchone()
        decide(store, duplicate, "accept")  # (the log's process does not read an accepted row's messages)
        logs = []
        for start in (10**9, 0):  # the log made here, then by a second process
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(curation_log, "IN_CHILD_FROM", start)
                result = export_dataset(store, cmap, out_dir=tmp_path / f"exports-{start}", seed=3,
                                        today=date(2025, 1, 2), meaning_settings=MeaningSettings(enabled=False))
            logs.append((result.path / "curation_log.jsonl").read_bytes())
    assert logs[0] == logs[1]
    (entry,) = [e for e in map(json.loads, logs[0].splitlines()) if e["id"] == duplicate]
    assert entry["state"] == "accepted" and entry["why"].startswith("excluded: duplicate of #")
    assert entry["evidence"] and all(e["word_diff"]["shared"] for e in entry["evidence"])
