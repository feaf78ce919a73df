"""Coverage counts, augmentation, the mix, and the exported files as trainers load them."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest

from curator.augment_plan import plan_augmentation, queue_augmentation
from curator.config import Settings
from curator.target_mix import CoverageError, CoverageMap, LiveCoverage, recount
from curator.export.mix import attach_verdicts, build_mix, load_rows, trainable
from curator.export import curation_log
from curator.services.export import LeakError, export_dataset as export
from curator.services.gate import run_gates
from curator.services import triage as review
from curator.models import Example, Message
from curator.store import Store
from curator.families import load_families
from curator.jobs.procedural import run_procedural
from curator.text.normalize import key_hash
from tui_fixtures import build_db

ROOT = Path(__file__).resolve().parents[1]
FAMS = load_families(ROOT / "prompts").families
CMAP = CoverageMap.load(ROOT / "prompts" / "coverage.toml", FAMS)
TODAY = date(2026, 11, 22)


@pytest.fixture
def store(tmp_path: Path):
    with Store(build_db(tmp_path / "x.db")) as s:
        # The fixture's passage question is the few-shot seed's, reworded (the meaning dedup drops it): one of its own.
        (passage_id,) = [p.id for p in s.passages() if "آپادانا" in p.text]
        other = Example(kind="candidate", family="passage_qa", task_type="factual_question", model="m",
                        passage_id=passage_id,
                        messages=[Message(role="user", content="بر دیوارهٔ پلکان آپادانا چه نقشی دیده می‌شود؟"),
                                  Message(role="assistant", content="به گفتهٔ متن، بر دیوارهٔ پلکان آپادانا نقش "
                                          "نمایندگان ملت‌های گوناگون دیده می‌شود که با هدایایی برای پادشاه می‌آیند.")])
        other.key_hash = key_hash("apadana-stairs")
        s.add_example(other)
        run_procedural(s, FAMS["school_math"], Settings(), limit=12)
        run_procedural(s, FAMS["tool_calling"], Settings(), limit=8)
        run_gates(s, FAMS)
        yield s


def accept_all_passing(store: Store) -> list[int]:
    ids = [i for i in review.queue_ids(store) if store.example(i).gate_status != "fail"]
    for i in ids:
        review.decide(store, i, "accept")
    return ids


# -- coverage ---------------------------------------------------------------------------------


def test_the_default_map_follows_the_seeds_mixture() -> None:
    fam = {k[0]: t for k, t in CMAP.targets.items() if k[1] == "family"}
    assert fam == {"grammar_tutor": 2000, "student_support": 3000, "passage_qa": 3000, "summarization": 1500,
                   "school_math": 2000, "tool_calling": 500, "safety": 500, "polish": 500}
    assert sum(fam.values()) == 13000
    assert CMAP.targets[("grammar_tutor", "difficulty", "middle_school")] == 800
    assert CMAP.targets[("tool_calling", "task_type", "tool_needed")] == 200
    assert CMAP.targets[("school_math", "task_type", "fractions")] == round(2000 / 6)


def test_a_broken_coverage_file_names_itself(tmp_path: Path) -> None:
    bad = tmp_path / "coverage.toml"
    bad.write_text("[families]\ngrammar_tutor = 'lots'\n", encoding="utf-8")
    with pytest.raises(CoverageError, match=str(bad)):
        CoverageMap.load(bad)


def test_remembered_cell_keys_are_the_cells_of_each_row() -> None:
    """What an export uses for 100k rows: the same cells as `keys_of`, row by row, whatever repeats; a
    dimension in the metadata, and values that are equal keys but different cells (1, 1.0, True), too."""
    rows = [{"kind": kind, "role": role, "family": family, "task_type": task, "difficulty": level,
             "topic": None, "source_type": "generated", "metadata": {"level": level}}
            for kind, role in (("candidate", None), ("seed", "polish"), ("seed", "fewshot"))
            for family in ("grammar_tutor", "school_math") for task in ("fractions", None, 1, 1.0, True)
            for level in ("middle_school", "high_school")]
    for cmap in (CMAP, CoverageMap(CMAP.targets, ["task_type", "difficulty"]),
                 CoverageMap(CMAP.targets, ["task_type", "level"]), CoverageMap(CMAP.targets, ["task_type"], ["level"])):
        keys = cmap.remembered_keys()
        for row in rows + rows[::-1]:
            assert keys(row) == cmap.keys_of(row), row


def test_live_counts_stay_correct_through_accept_undo_and_edit(store: Store) -> None:
    live = LiveCoverage(store, CMAP)
    assert live.counts == recount(store, CMAP)
    rng = random.Random(5)
    ids = review.queue_ids(store)
    for step in range(60):
        choice = rng.random()
        target = rng.choice(ids)
        if choice < 0.45:
            review.decide(store, target, "accept")
        elif choice < 0.65:
            review.decide(store, target, "reject")
        elif choice < 0.85:
            undone = review.undo(store)
            target = undone.example_id if undone else target
        else:
            ex = store.example(target)
            edited = [Message(**{**m.model_dump(), "content": m.content + " (ویرایش)"}) if m.role == "assistant" else m
                      for m in ex.messages]
            new_id = review.save_revision(store, target, edited, FAMS)
            ids[ids.index(target)] = new_id  # the original left the queues: only its revision is decidable
            review.decide(store, new_id, "accept")
            live.sync(store, new_id)
        live.sync(store, target)
        assert +live.counts == +recount(store, CMAP), f"step {step}"


def test_augment_queues_targeted_jobs_for_thin_cells(store: Store) -> None:
    counts = recount(store, CMAP)
    lines = plan_augmentation(store, FAMS, Settings(), CMAP, counts, max_jobs_per_cell=2)
    assert lines and all(line.cell.share < CMAP.thin_share for line in lines)
    polish = [line for line in lines if line.cell.family == "polish"]
    assert polish and all(line.note == "add polish seeds" for line in polish), "hand-written: no job writes them"
    fractions = next(line for line in lines if line.cell.key == ("school_math", "task_type", "fractions"))
    assert fractions.added == 2
    assert queue_augmentation(store, lines) == sum(line.added for line in lines)
    jobs = [j for j in store.jobs("family = 'school_math' AND kind = 'generate'")]
    targeted = [j for j in jobs if j.params.get("augment") == {"task_type": "fractions"}]
    assert len(targeted) == 2 and all(j.params["task_type"] == "fractions" for j in targeted)
    assert plan_augmentation(store, FAMS, Settings(), CMAP, counts, max_jobs_per_cell=2)[0].added == 0, "idempotent"

# -- the mix -----------------------------------------------------------------------------------


def test_mix_prefers_hand_written_respects_caps_and_excludes_failures(store: Store, tmp_path: Path) -> None:
    accept_all_passing(store)
    small = tmp_path / "coverage.toml"
    small.write_text("dimensions = ['task_type']\n[families]\nschool_math = 5\ngrammar_tutor = 2\n", encoding="utf-8")
    cmap = CoverageMap.load(small, FAMS)
    rows, _ = trainable(load_rows(store, "considered"), load_rows(store, "seeds"))
    attach_verdicts(store, rows)
    mix = build_mix(rows, cmap, seed=1)
    by_family = {}
    for r in mix.selected:
        by_family.setdefault(r.family, []).append(r)
    assert len(by_family["school_math"]) == 5 and len(by_family["grammar_tutor"]) == 2
    assert all(r.source_type == "manual_seed" for r in by_family["grammar_tutor"]), "hand-written first"
    assert all(not r.failed("dedup") and not r.failed("decontam") for r in mix.selected)
    assert any(reason.startswith("not selected: cell school_math") for reason in mix.reasons.values())
    assert [r.id for r in build_mix(rows, cmap, seed=1).selected] == [r.id for r in mix.selected]
    picks = {tuple(r.id for r in build_mix(rows, cmap, seed=s).selected) for s in range(6)}
    assert len(picks) > 1, "the seed decides ties"

# -- export ------------------------------------------------------------------------------------


def check_trl_row(row: dict) -> None:
    """The structural checks TRL applies to conversational data."""
    messages = row["messages"]
    assert messages and all(m["role"] in ("system", "user", "assistant", "tool") for m in messages)
    start = 1 if messages[0]["role"] == "system" else 0
    assert messages[start]["role"] == "user" and messages[-1]["role"] == "assistant"
    prev = None
    for m in messages[start:]:
        if m["role"] == "tool":
            assert prev in ("call", "tool")
        else:
            assert m["role"] != prev, "roles alternate"
        if m["role"] == "assistant" and m.get("tool_calls"):
            for call in m["tool_calls"]:
                assert call["type"] == "function" and isinstance(call["function"]["name"], str)
                assert isinstance(call["function"]["arguments"], str)
                assert isinstance(json.loads(call["function"]["arguments"]), dict)
            prev = "call"
        else:
            prev = "tool" if m["role"] == "tool" else m["role"]
    if row.get("tools") is not None:
        tools = json.loads(row["tools"])
        assert all(t["type"] == "function" and "parameters" in t["function"] for t in tools)


def test_exported_files_load_with_datasets_and_pass_trl_checks(store: Store, tmp_path: Path) -> None:
    import datasets

    accept_all_passing(store)
    result = export(store, CMAP, out_dir=tmp_path / "exports", formats=("prompt_completion", "alpaca"), today=TODAY)
    assert result.version.startswith("2026-11-22-")
    folder = result.path
    names = {p.name for p in folder.iterdir()}
    assert names == {"train.jsonl", "polish.jsonl", "eval_private.jsonl", "train.prompt_completion.jsonl",
                     "train.alpaca.jsonl", "manifest.json", "stats.json", "coverage_report.md", "curation_log.jsonl"}
    for name in ("train", "polish", "eval_private", "train.prompt_completion", "train.alpaca"):
        ds = datasets.load_dataset("json", data_files=str(folder / f"{name}.jsonl"), split="train",
                                   cache_dir=str(tmp_path / "hf"))
        assert len(ds) > 0
        if name in ("train", "polish", "eval_private"):
            for row in ds:
                check_trl_row(row)
    train = [json.loads(line) for line in (folder / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    tool_rows = [r for r in train if r["tools"]]
    assert tool_rows, "tool-calling rows are exported"
    for r in tool_rows:  # they round-trip to what the store holds
        stored = store.example(r["id"])
        assert json.loads(r["tools"]) == stored.tools
        calls = [c for m in r["messages"] for c in m.get("tool_calls") or []]
        stored_calls = [c for m in stored.messages for c in m.tool_calls or []]
        assert [json.loads(c["function"]["arguments"]) for c in calls] == \
            [json.loads(c.function["arguments"]) for c in stored_calls]
    assert all({"id", "family", "task_type", "difficulty", "source_type", "source_passage_id", "verified"} <= set(r)
               for r in train)
    math_rows = [r for r in train if r["family"] == "school_math"]
    assert math_rows and all(r["verified"] for r in math_rows)
    eval_ids = {r["id"] for r in map(json.loads, (folder / "eval_private.jsonl").read_text().splitlines())}
    assert not eval_ids & {r["id"] for r in train}, "eval items are never merged into train"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["counts"]["train"] == len(train)
    assert manifest["files"]["train.jsonl"] == __import__("hashlib").sha256((folder / "train.jsonl").read_bytes()).hexdigest()
    assert manifest["lineage"]["source_files"] and manifest["template_hashes"]
    log = [json.loads(line) for line in (folder / "curation_log.jsonl").read_text().splitlines()]
    considered = store.count("examples", "kind IN ('candidate', 'revision')")
    assert sum(1 for entry in log if entry["kind"] in ("candidate", "revision")) == considered
    dup = next(e for e in log if e["gates"].get("dedup", {}).get("verdict") == "fail")
    assert dup["exported"] is False and dup["why"].startswith("excluded: duplicate of #")
    assert any(e["decisions"] and e["decisions"][0]["action"] == "accept" for e in log)
    stats = json.loads((folder / "stats.json").read_text())
    assert stats["rows"] == len(train) and stats["length"]["response_tokens_approx"]["max"] > 0
    assert "| school_math | task_type |" in (folder / "coverage_report.md").read_text()
    assert store.count("exports") == 1


def test_exports_are_deterministic(store: Store, tmp_path: Path) -> None:
    accept_all_passing(store)
    a = export(store, CMAP, out_dir=tmp_path / "a", today=TODAY)
    b = export(store, CMAP, out_dir=tmp_path / "b", today=TODAY)
    again = export(store, CMAP, out_dir=tmp_path / "a", today=TODAY)
    assert a.version == b.version and again.reused
    for f in a.path.iterdir():
        assert f.read_bytes() == (b.path / f.name).read_bytes(), f.name
    review.decide(store, review.queue_ids(store, "accepted")[0], "reject")
    assert export(store, CMAP, out_dir=tmp_path / "a", today=TODAY).version != a.version


@pytest.mark.parametrize("log", ["made here", "made by a second process"])
def test_the_leak_check_refuses_a_planted_leak(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               log: str) -> None:
    if log == "made by a second process":  # (a large export's): stopped with the export, nothing left behind
        monkeypatch.setattr(curation_log, "IN_CHILD_FROM", 0)
    writers, real = [], curation_log.LogWriter.__init__
    monkeypatch.setattr(curation_log.LogWriter, "__init__", lambda self, *a, **k: (writers.append(self), real(self, *a, **k))[1])
    accept_all_passing(store)
    (eval_seed,) = store.examples("kind = 'seed' AND role = 'eval' AND family = 'passage_qa'")
    planted = Example(kind="candidate", family="passage_qa", task_type="factual_question", model="m", state="accepted",
                      messages=[Message(role="user", content="پرسشی دربارهٔ فردوسی"),
                                Message(role="assistant", content="به گفتهٔ متن، " + eval_seed.messages[1].content)])
    planted.key_hash = key_hash("planted")
    planted_id = store.add_example(planted)  # accepted without ever going through the gates
    with pytest.raises(LeakError) as err:
        export(store, CMAP, out_dir=tmp_path / "exports", today=TODAY)
    assert err.value.leaks == [{"id": planted_id, "file": "train", "eval_items": [eval_seed.id]}]
    assert not (tmp_path / "exports").exists(), "nothing written"
    assert all(w.process.poll() is not None for w in writers if w.process), "no process left running"
    assert len(writers) == 1 and (writers[0].process is not None) == (log == "made by a second process")


def test_a_killed_export_leaves_nothing_partial(store: Store, tmp_path: Path) -> None:
    accept_all_passing(store)
    out = tmp_path / "exports"
    script = tmp_path / "kill.py"
    script.write_text(textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(ROOT / 'tests')!r})
        from datetime import date
        from pathlib import Path
        from curator.target_mix import CoverageMap
        from curator.export import writer
        from curator.services.export import export_dataset
        from curator.store import Store
        from curator.families import load_families

        real_fsync = os.fsync
        count = [0]
        def dying_fsync(fd):
            count[0] += 1
            if count[0] == 3:  # in the middle of writing the files
                os.kill(os.getpid(), signal.SIGKILL)
            return real_fsync(fd)
        writer.os.fsync = dying_fsync
        fams = load_families(Path({str(ROOT / 'prompts')!r})).families
        cmap = CoverageMap.load(Path({str(ROOT / 'prompts' / 'coverage.toml')!r}), fams)
        with Store(Path({str(store.path)!r})) as store:
            export_dataset(store, cmap, out_dir=Path({str(out)!r}), today=date(2026, 11, 22))
    """), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert [p.name for p in out.iterdir() if not p.name.startswith(".")] == [], "no visible partial version"
    result = export(store, CMAP, out_dir=out, today=TODAY)
    assert [p.name for p in out.iterdir()] == [result.version], "the leftover temporary folder is cleaned up"


def test_cli_coverage_augment_export(store: Store, tmp_path: Path) -> None:
    accept_all_passing(store)
    env = {**os.environ, "CURATOR_DB": str(store.path)}
    run = lambda *a: subprocess.run([sys.executable, "-m", "curator", *a], env=env, capture_output=True, text=True,
                                    cwd=tmp_path, timeout=120)
    cov = run("coverage", "--thin")
    assert cov.returncode == 0 and "THIN" in cov.stdout and "thin cells" in cov.stdout
    aug = run("augment", "--dry-run", "--max-jobs", "1")
    assert aug.returncode == 0 and "would be queued" in aug.stdout
    out = run("export", "--format", "alpaca")
    assert out.returncode == 0, out.stderr
    assert "exported" in out.stdout and (tmp_path / "exports").exists()
