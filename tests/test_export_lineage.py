"""One example per lineage in a real export; superseded rows never count in coverage; the dashboard
runs export and augment in workers and shows their errors; none of this speaks SQL outside the store."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from curator.services import triage as review
from curator.config import Settings
from curator.target_mix import CoverageMap, LiveCoverage, recount
from curator.services.gate import run_gates
from curator.models import Message
from curator.services.coverage import coverage
from curator.services.export import export_dataset
from curator.services.seeds import edit_seed
from curator.store import Store
from curator.families import load_families
from curator.jobs.procedural import run_procedural
from curator.tui.app import CuratorApp
from tui_fixtures import build_db, settle

ROOT = Path(__file__).resolve().parents[1]
FAMS = load_families(ROOT / "prompts").families
CMAP = CoverageMap.load(ROOT / "prompts" / "coverage.toml", FAMS)
TODAY = date(2026, 11, 22)


@pytest.fixture
def store(tmp_path: Path):
    with Store(build_db(tmp_path / "x.db")) as s:
        run_procedural(s, FAMS["school_math"], Settings(), limit=6)
        run_gates(s, FAMS)
        yield s


def edited(store: Store, example_id: int) -> list[Message]:
    return [Message(**{**m.model_dump(), "content": m.content + " (ویرایش)"}) if m.role == "assistant" else m
            for m in store.example(example_id).messages]


def exported(result, name: str = "train.jsonl") -> list[dict]:
    return [json.loads(line) for line in (result.path / name).read_text(encoding="utf-8").splitlines()]


def log_of(result) -> dict[int, dict]:
    return {e["id"]: e for e in exported(result, "curation_log.jsonl")}


def test_an_original_and_its_accepted_revision_never_both_reach_train(store: Store, tmp_path: Path) -> None:
    original = next(i for i in review.queue_ids(store) if store.example(i).gate_status != "fail"
                    and store.example(i).family == "school_math")
    review.decide(store, original, "accept")
    revision = review.save_revision(store, original, edited(store, original), FAMS)
    review.decide(store, revision, "accept")
    assert store.example(revision).lineage == store.example(original).lineage
    result = export_dataset(store, CMAP, out_dir=tmp_path / "exports", today=TODAY)
    ids = {row["id"] for row in exported(result)}
    assert revision in ids and original not in ids
    log = log_of(result)
    assert log[revision]["exported"] and not log[original]["exported"]
    assert log[original]["why"].startswith("not exported:") and str(revision) in log[original]["why"]
    assert log[original]["lineage"] == log[revision]["lineage"]


def test_only_the_current_version_of_a_seed_is_exported(store: Store, tmp_path: Path) -> None:
    old = store.fewshot_seeds("grammar_tutor")[0]
    data = {**old.model_dump(mode="json", exclude={"id", "uid", "lineage", "version", "superseded_by",
                                                   "parent_id", "created_at", "key_hash"})}
    data["messages"][-1]["content"] += " (نسخهٔ دوم)"
    new = edit_seed(store, old.id, data)
    result = export_dataset(store, CMAP, out_dir=tmp_path / "exports", today=TODAY)
    ids = {row["id"] for row in exported(result)}
    assert new in ids and old.id not in ids
    assert log_of(result)[old.id]["why"] == f"not exported: replaced by version #{new}"


def test_superseded_rows_never_count_in_coverage(store: Store) -> None:
    before = recount(store, CMAP)
    live = LiveCoverage(store, CMAP)
    seed = store.fewshot_seeds("grammar_tutor")[0]
    data = seed.model_dump(mode="json", exclude={"id", "uid", "lineage", "version", "superseded_by", "parent_id",
                                                 "created_at", "key_hash"})
    data["messages"][-1]["content"] += " (نسخهٔ دوم)"
    edit_seed(store, seed.id, data)
    assert recount(store, CMAP) == before, "a new seed version replaces the old one in the counts"
    original = next(i for i in review.queue_ids(store) if store.example(i).family == "school_math")
    review.decide(store, original, "accept")
    live.sync(store, original)
    counted = recount(store, CMAP)
    key = ("school_math", "family", "school_math")
    assert counted[key] == before[key] + 1 and live.counts[key] == counted[key]
    revision = review.save_revision(store, original, edited(store, original), FAMS)
    with store.transaction():  # what a revision does to the row it replaces
        store.supersede(original, revision)
    live.sync(store, original)
    assert recount(store, CMAP)[key] == before[key] and live.counts[key] == before[key]
    assert coverage(store, CMAP).cells == CMAP.cells(recount(store, CMAP))


async def test_the_dashboard_shows_an_export_that_cannot_be_written_and_keeps_running(
        tmp_path: Path, monkeypatch) -> None:
    db = build_db(tmp_path / "d.db")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exports").write_text("a file where the export folder would go", encoding="utf-8")
    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="dashboard")
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        await settle(pilot)
        await pilot.press("E")
        await settle(pilot)
        await pilot.pause()
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert any("export failed" in m and "exports" in m for m in errors), errors
        (tmp_path / "exports").unlink()
        await pilot.press("E")
        await settle(pilot)
        await pilot.pause()
        assert any(n.message.startswith("exported ") for n in app._notifications)
        await pilot.press("A")  # plans, then asks with the job count and the worst-case cost
        await settle(pilot)
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        await pilot.pause()
        assert any("jobs queued" in n.message for n in app._notifications)
        assert app.is_running
        await pilot.press("q")
    assert [p.name for p in (tmp_path / "exports").iterdir()][0].startswith("20")
    with Store(db, readonly=True) as store:
        assert store.count_jobs(kind="generate") > 0


MINE = ["corpus", "services", "export", "cli", "target_mix.py",
        "augment_plan.py", "sample", "tui/screens/dashboard.py", "tui/screens/seeds.py", "tui/screens/passages.py",
        "tui/screens/prompt.py", "tui/screens/raw.py"]
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b.*\b(FROM|INTO|SET|WHERE)\b|\.conn\b|store\.(examples|jobs|count)\(")


def test_import_seeds_coverage_augment_and_export_speak_no_sql() -> None:
    src = ROOT / "src" / "curator"
    files = [f for part in MINE for f in ([src / part] if part.endswith(".py") else (src / part).rglob("*.py"))]
    offending = [f"{f.relative_to(src)}:{n}: {line.strip()}" for f in files
                 for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1) if SQL.search(line)]
    assert offending == []


def test_an_export_lands_beside_the_database_whatever_the_working_folder(tmp_path: Path) -> None:
    import subprocess
    import sys

    db = build_db(tmp_path / "project" / "curator.db")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = subprocess.run([sys.executable, "-m", "curator", "export", "--db", str(db)], cwd=elsewhere,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    versions = list((db.parent / "exports").iterdir())
    assert len(versions) == 1 and str(versions[0]) in out.stdout
    assert not (elsewhere / "exports").exists()
