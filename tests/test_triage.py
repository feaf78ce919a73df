"""Triage as a service and from the command line: decisions with reasons, undo, edits that
supersede their original, and clear errors for unknown or undecidable ids."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from curator.models import Example, Message
from curator.services import triage
from curator.services.gate import run_gates
from curator.services.triage import Filters, TriageError
from curator.store import Store
from curator.families import load_families
from curator.text.normalize import key_hash

ROOT = Path(__file__).resolve().parents[1]
FAMS = load_families(ROOT / "prompts").families
QA = [("فاعل در جملهٔ «علی آمد» کدام است؟", "«علی» فاعل است، چون کار آمدن را انجام داده است."),
      ("مفعول در جملهٔ «سارا کتاب را خواند» کدام است؟", "«کتاب» مفعول است، چون کار خواندن بر آن انجام شده است."),
      ("قید در جملهٔ «او آهسته رفت» کدام است؟", "«آهسته» قید است، چون چگونگی رفتن را نشان می‌دهد."),
      ("What is a verb?", "A verb is a word that names an action in a sentence.")]


def add(store: Store, user: str, answer: str, family: str = "grammar_tutor") -> int:
    e = Example(kind="candidate", family=family, task_type="explanation",
                messages=[Message(role="user", content=user), Message(role="assistant", content=answer)])
    e.key_hash = key_hash(user + "\n" + answer)
    return store.add_example(e)


@pytest.fixture
def gated(store: Store) -> tuple[Store, list[int]]:
    ids = [add(store, q, a) for q, a in QA]
    run_gates(store, FAMS)
    return store, ids


def test_decide_with_a_reason_and_undo_by_example(gated) -> None:
    store, ids = gated
    assert triage.queue_ids(store) == ids
    triage.decide(store, ids[0], "accept")
    triage.decide(store, ids[1], "reject", reason="wrong_answer", note="مفعول نیست")
    triage.decide(store, ids[2], "flag")
    assert store.example(ids[1]).state == "rejected"
    assert store.decisions(ids[1])[-1].reason == "wrong_answer"
    assert triage.queue_ids(store) == [ids[2], ids[3]]
    assert triage.queue_ids(store, "accepted") == [ids[0]]
    assert triage.queue_ids(store, "failed") == [ids[3]], "the English one fails the language gate"
    undone = triage.undo(store, example_id=ids[0])
    assert (undone.example_id, undone.action) == (ids[0], "accept")
    assert store.example(ids[0]).state == "gated"
    assert triage.undo(store, example_id=ids[0]) is None, "nothing left to undo for it"
    latest = triage.undo(store)
    assert (latest.example_id, latest.action) == (ids[2], "flag"), "undo with no id takes the latest"
    assert [d.action for d, _ in triage.recent_decisions(store, 3)] == ["flag", "reject", "accept"]


def test_filters_come_from_store_queries(gated) -> None:
    store, ids = gated
    assert triage.filter_families(store) == ["grammar_tutor"]
    assert triage.queue_ids(store, filters=Filters(verdict="fail")) == [ids[3]]
    assert triage.queue_ids(store, filters=Filters(search="آهسته")) == [ids[2]]
    assert triage.queue_ids(store, filters=Filters(family="safety")) == []
    with pytest.raises(TriageError, match="unknown queue"):
        triage.queue_ids(store, "nope")


def test_an_edit_supersedes_its_original_and_only_one_of_the_lineage_is_decidable(gated) -> None:
    store, ids = gated
    original = store.example(ids[0])
    edited = [original.messages[0], Message(role="assistant", content=original.messages[1].content + " (ویرایش)")]
    revision_id = triage.save_revision(store, ids[0], edited, FAMS)
    revision = store.example(revision_id)
    assert revision.lineage == original.lineage and revision.uid != original.uid
    assert store.example(ids[0]).superseded_by == revision_id
    assert ids[0] not in triage.queue_ids(store) and revision_id in triage.queue_ids(store)
    assert {v.gate for v in store.verdicts(revision_id)} >= {"format", "language", "length"}
    assert revision.state == "gated" and revision.gate_status == "pass"
    with pytest.raises(TriageError, match=f"cannot be decided: #{revision_id}, its revision, replaced it "
                                          rf"\(decide #{revision_id}\)"):
        triage.decide(store, ids[0], "accept")
    seed = store.add_example(Example(kind="seed", role="fewshot", family="passage_qa", source_type="manual_seed",
                                     messages=edited))
    with pytest.raises(TriageError, match=f"#{seed} cannot be decided: it is a seed, not a candidate"):
        triage.decide(store, seed, "accept")
    triage.decide(store, revision_id, "accept")
    lineage = [e for e in store.examples("lineage = ?", [original.lineage])]
    accepted = store.examples("lineage = ? AND kind IN ('candidate', 'revision') AND superseded_by IS NULL "
                              "AND state = 'accepted'", [original.lineage])
    assert len(lineage) == 2 and [e.id for e in accepted] == [revision_id]
    with pytest.raises(TriageError):
        triage.save_revision(store, ids[0], edited, FAMS)  # the original can no longer be edited either
    assert triage.undo(store).action == "accept", "an edit is never what undo takes back"


def test_an_unknown_id_is_a_clear_error(gated) -> None:
    store, ids = gated
    with pytest.raises(TriageError, match="no candidate #999"):
        triage.decide(store, 999, "accept")
    with pytest.raises(TriageError, match="no candidate #999"):
        triage.save_revision(store, 999, store.example(ids[0]).messages, FAMS)
    with pytest.raises(TriageError, match="unknown action"):
        triage.decide(store, ids[0], "approve")
    assert store.decisions() == []


def cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "curator", "--db", str(db), *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "CURATOR_DEBUG": ""})


def test_triage_cli(gated, db_file: Path) -> None:
    store, ids = gated
    out = cli(db_file, "triage", "reject", str(ids[0]), str(ids[1]), "--reason", "off_topic")
    assert out.returncode == 0, out.stderr
    assert [store.example(i).state for i in ids[:2]] == ["rejected", "rejected"]
    assert [d.reason for d in store.decisions()] == ["off_topic", "off_topic"]
    assert cli(db_file, "triage", "accept", str(ids[2]), "--note", "خوب").returncode == 0
    assert store.decisions(ids[2])[-1].note == "خوب"
    bad = cli(db_file, "triage", "accept", str(ids[3]), "4242")
    assert bad.returncode != 0 and "no candidate #4242" in bad.stderr
    assert store.example(ids[3]).state == "gated", "nothing is written for a list with a bad id"
    assert cli(db_file, "triage", "undo", str(ids[0])).returncode == 0
    assert store.example(ids[0]).state == "gated" and store.example(ids[1]).state == "rejected"
    out = cli(db_file, "triage", "undo")
    assert out.returncode == 0 and f"#{ids[2]}: undid accept" in out.stdout
    missing = cli(db_file, "triage", "undo", "4242")
    assert missing.returncode != 0 and "no candidate #4242" in missing.stderr
    none_left = cli(db_file, "triage", "undo", str(ids[3]))
    assert none_left.returncode != 0 and "nothing to undo" in none_left.stderr
    listed = [json.loads(line) for line in cli(db_file, "candidates", "list", "--json", "--state", "rejected")
              .stdout.splitlines()]
    assert [r["id"] for r in listed] == [ids[1]]
    assert listed[0]["decisions"][0]["reason"] == "off_topic"
    assert listed[0]["verdicts"]["language"] == {"verdict": "pass", "reason": "ok"}
