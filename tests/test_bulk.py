"""Bulk decisions over a filter: the filter's keys, what a bulk skips, one undo for the whole bulk, short
parts that survive a cut (a cancel in-process, a kill of a real `curator` process) and resume, and the
CLI that does the same (`curator triage accept|reject|flag --where`, `curator candidates list --where`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from curator.models import Example, Message
from curator.services import bulk, triage
from curator.services.gating.runner import update_status
from curator.services.triage import Filters, TriageError
from curator.store import Store

CLI = [sys.executable, "-m", "curator"]


def add(store: Store, text: str, family: str = "grammar_tutor", verdicts: dict | None = None) -> int:
    """A candidate with these current verdicts (gate -> (verdict, reason, score))."""
    example_id = store.add_example(Example(kind="candidate", family=family, task_type="explanation", messages=[
        Message(role="user", content=f"پرسش {text}"), Message(role="assistant", content=f"پاسخ {text}")]))
    rows = [(example_id, "format", "1", "pass", "ok", None, {})]
    rows += [(example_id, gate, "1", v, reason, score, {}) for gate, (v, reason, score) in (verdicts or {}).items()]
    store.insert_verdicts(rows)
    update_status(store, [example_id])
    return example_id


@pytest.fixture
def mix(store: Store) -> tuple[Store, dict[str, int]]:
    ids = {
        "clean": add(store, "یک", verdicts={"judge": ("pass", "good", 0.9)}),
        "weak": add(store, "دو", verdicts={"judge": ("flag", "weak", 0.4)}),
        "leak": add(store, "سه", verdicts={"decontam_meaning": ("fail", "paraphrase_of_eval", 0.95)}),
        "dup": add(store, "چهار", family="school_math", verdicts={"dedup_near": ("fail", "near_duplicate", 0.9)}),
        "math": add(store, "پنج", family="school_math"),
    }
    return store, ids


def test_a_filter_is_read_from_key_value_pairs_and_written_back_the_same() -> None:
    filters = Filters.parse(["family=qa", "gate=dedup_near:fail", "judge=0.5..0.8", 'search=دو کلمه',
                             "predicted=reject", "cluster=12"])
    assert filters.gate == ("dedup_near", "fail") and filters.judge == (0.5, 0.8) and filters.cluster == 12
    assert filters.predicted == (0.5, None)
    assert Filters.parse(filters.text()) == filters
    assert Filters.parse('family=qa search="دو کلمه"').search == "دو کلمه"


@pytest.mark.parametrize(("pair", "says"), [
    ("colour=red", "KEY one of family"), ("family", "KEY=VALUE"), ("judge=high", "a score or a range"),
    ("judge=0.9..0.1", "empty"), ("state=done", "new, gated, accepted or rejected"), ("cluster=x", "a number"),
    ("gate=judge:maybe", "pass, flag or fail"), ("family=", "needs a value")])
def test_a_wrong_pair_is_named(pair: str, says: str) -> None:
    with pytest.raises(TriageError, match=says) as caught:
        Filters.parse([pair])
    assert repr(pair) in str(caught.value)


def test_each_key_selects_what_it_says(mix) -> None:
    store, ids = mix
    store.put_predictions("m1", [(ids["clean"], 0.1), (ids["weak"], 0.55), (ids["math"], 0.97)])

    def select(*pairs: str) -> set[int]:
        return set(triage.queue_ids(store, "pending", Filters.parse(list(pairs))))

    names = {v: k for k, v in ids.items()}
    assert {names[i] for i in select("family=school_math")} == {"dup", "math"}
    assert {names[i] for i in select("verdict=fail")} == {"leak", "dup"}
    assert {names[i] for i in select("gate=decontam_meaning")} == {"leak"}
    assert {names[i] for i in select("gate=judge:flag")} == {"weak"}
    assert {names[i] for i in select("reason=near_duplicate")} == {"dup"}
    assert {names[i] for i in select("judge=0.5..")} == {"clean"}
    assert {names[i] for i in select("judge=..0.5")} == {"weak"}
    assert {names[i] for i in select("search=سه")} == {"leak"}
    assert {names[i] for i in select("predicted=reject")} == {"weak", "math"}
    assert {names[i] for i in select("predicted=accept")} == {"clean"}
    assert {names[i] for i in select("predicted=0.9..", "family=school_math")} == {"math"}
    assert {names[i] for i in select("state=gated")} == set(ids)


def test_the_queue_can_be_ordered_by_the_predictor(mix) -> None:
    store, ids = mix
    store.put_predictions("m1", [(ids["clean"], 0.1), (ids["weak"], 0.55), (ids["math"], 0.97)])
    assert triage.queue_ids(store, order="uncertain")[:3] == [ids["weak"], ids["clean"], ids["math"]]
    assert triage.queue_ids(store, order="reject")[:3] == [ids["math"], ids["weak"], ids["clean"]]
    assert set(triage.queue_ids(store, order="reject")[3:]) == {ids["leak"], ids["dup"]}, "no estimate: last"


def test_a_bulk_accept_never_takes_a_failed_candidate_and_says_what_it_skips(mix) -> None:
    store, ids = mix
    triage.decide(store, ids["math"], "accept")
    plan = bulk.plan(store, "accept", Filters(), queue="all")
    assert sorted(plan.ids) == sorted([ids["clean"], ids["weak"]])
    assert plan.skipped == {"already accepted": 1, "failed by a gate (never bulk-accepted)": 2}
    assert plan.question().startswith("Accept 2 candidates") and "2 failed by a gate" in plan.question()
    done = bulk.run(store, plan)
    assert (done.done, done.planned, done.finished_at is not None) == (2, 2, True)
    assert store.example(ids["leak"]).state == "gated" and store.example(ids["clean"]).state == "accepted"


def test_one_undo_takes_the_whole_bulk_back(mix) -> None:
    store, ids = mix
    triage.decide(store, ids["clean"], "flag")
    bulk.run(store, bulk.plan(store, "reject", Filters.parse(["verdict=fail"]), reason="leaked"))
    assert {store.example(i).state for i in (ids["leak"], ids["dup"])} == {"rejected"}
    assert [d.reason for d in store.decisions(ids["leak"])] == ["leaked"]
    undone = triage.undo(store)
    assert undone.bulk is not None
    assert {store.example(i).state for i in (ids["leak"], ids["dup"])} == {"gated"}
    assert store.bulk(undone.bulk).undone_at is not None
    assert triage.undo(store).action == "flag", "the next undo is the decision before the bulk"


def _many(store: Store, n: int) -> list[int]:
    with store.transaction():
        ids = [store.add_example(Example(kind="candidate", family="grammar_tutor", messages=[
            Message(role="user", content=f"پرسش {i}"), Message(role="assistant", content=f"پاسخ {i}")]))
            for i in range(n)]
    return ids


def test_a_bulk_cut_short_keeps_whole_parts_names_itself_and_resumes(store: Store) -> None:
    ids = _many(store, 2 * bulk.PART + 10)
    stop = threading.Event()
    cut = bulk.run(store, bulk.plan(store, "reject", Filters.parse(["family=grammar_tutor"])),
                   progress=lambda done, total: stop.set(), cancel=stop)
    assert cut.done == bulk.PART and cut.finished_at is None, "one whole part, then the cut"
    assert store.unfinished_bulks() == [cut]
    assert "stopped: resume or undo it" in bulk.describe(cut)
    assert sum(store.example(i).state == "rejected" for i in ids) == bulk.PART
    finished = bulk.resume(store, cut.id)
    assert (finished.done, finished.finished_at is not None) == (len(ids), True)
    assert all(len(store.decisions(i)) == 1 for i in ids), "no candidate decided twice"
    assert store.unfinished_bulks() == []


def test_a_candidate_replaced_meanwhile_is_passed_over(store: Store) -> None:
    ids = _many(store, 3)
    plan = bulk.plan(store, "reject", Filters())
    bulk_id = bulk.start(store, plan)
    triage.save_revision(store, ids[1], [Message(role="user", content="پرسش نو"),
                                         Message(role="assistant", content="پاسخ نو")])
    done = bulk.resume(store, bulk_id)
    assert done.finished_at is not None and done.done == 2
    assert store.decisions(ids[1])[-1].action == "edit"


def test_a_bulk_of_nothing_is_refused(store: Store) -> None:
    _many(store, 2)
    with pytest.raises(TriageError, match="selects nothing"):
        bulk.start(store, bulk.plan(store, "accept", Filters(family="safety")))
    with pytest.raises(TriageError, match="a reason goes with reject"):
        bulk.plan(store, "accept", reason="x")


def run(db: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([*CLI, *args, "--db", str(db)], capture_output=True, text=True, timeout=120)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_the_cli_decides_over_a_filter_and_lists_the_same(mix, db_file: Path) -> None:
    store, ids = mix
    listed = run(db_file, "candidates", "list", "--json", "--where", "verdict=fail")
    assert sorted(json.loads(line)["id"] for line in listed.stdout.splitlines()) == sorted([ids["leak"], ids["dup"]])
    asked = run(db_file, "triage", "reject", "--where", "verdict=fail", "--reason", "leaked", check=False)
    assert asked.returncode == 1 and "add --yes" in asked.stderr, "no terminal to ask: nothing is decided"
    assert store.example(ids["leak"]).state == "gated"
    done = run(db_file, "triage", "reject", "--where", "verdict=fail", "--reason", "leaked", "--yes")
    assert "Reject 2 candidates (reason leaked)" in done.stdout and "done" in done.stdout
    assert store.example(ids["leak"]).state == "rejected"
    accepted = run(db_file, "triage", "accept", "--where", "family=grammar_tutor", "--queue", "all", "--yes")
    assert "1 failed by a gate" in accepted.stdout and "Accept 2 candidates" in accepted.stdout
    undone = run(db_file, "triage", "undo")
    assert "undone" in undone.stdout and store.example(ids["clean"]).state == "gated"
    bad = run(db_file, "triage", "flag", "--where", "colour=red", check=False)
    assert bad.returncode == 2 and "'colour=red'" in bad.stderr
    both = run(db_file, "triage", "flag", "3", "--where", "family=x", check=False)
    assert both.returncode == 2 and "not both" in both.stderr


def test_a_killed_bulk_leaves_whole_parts_that_resume(db_file: Path) -> None:
    """A real `curator` process killed after its first part: every part it committed is whole (each
    decision with its state), the rest is named as resumable, and resuming decides each candidate once."""
    with Store(db_file) as store:
        ids = _many(store, 10_000)
    child = subprocess.Popen([*CLI, "triage", "reject", "--where", "family=grammar_tutor", "--yes", "--db",
                              str(db_file)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    line = child.stderr.readline()  # "bulk #1: 500 of 10,000": the first part is committed
    assert line.startswith("bulk #1: 500 of 10,000"), line
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    with Store(db_file) as store:
        made = store.bulk(1)
        rejected = [i for i in ids if store.example(i).state == "rejected"]
        assert len(rejected) == made.done and made.done % bulk.PART == 0 and made.done >= bulk.PART, \
            "whole parts only, each decision with its state"
        if made.finished_at is None:
            assert store.unfinished_bulks() == [made]
    run(db_file, "triage", "resume", "1")
    with Store(db_file, readonly=True) as store:
        assert all(store.example(i).state == "rejected" for i in ids)
        assert store.bulk(1).done == 10_000 and store.unfinished_bulks() == []


def test_the_curation_log_names_the_bulk_of_each_decision(mix, tmp_path: Path) -> None:
    from curator.config import MeaningSettings
    from curator.services.export import export_dataset
    from curator.target_mix import CoverageMap
    from tui_fixtures import FAMILIES, ROOT

    store, ids = mix
    made = bulk.run(store, bulk.plan(store, "reject", Filters.parse(["verdict=fail"]), reason="leaked"))
    triage.decide(store, ids["clean"], "accept")
    result = export_dataset(store, CoverageMap.load(ROOT / "prompts" / "coverage.toml", FAMILIES),
                            out_dir=tmp_path / "out", meaning_settings=MeaningSettings(enabled=False))
    log = {e["id"]: e for e in map(json.loads, (result.path / "curation_log.jsonl").read_text().splitlines())}
    assert [d["bulk"] for d in log[ids["leak"]]["decisions"]] == [made.id]
    assert log[ids["leak"]]["reject_reason"] == "leaked"
    assert [d["bulk"] for d in log[ids["clean"]]["decisions"]] == [None]
