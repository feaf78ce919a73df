"""Augmentation without surprises: one plan for the dry run, the confirmation and the real run, so
the dry run counts exactly what the real run queues; the CLI asks before queueing (--yes for scripts)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from curator.config import Settings
from curator.target_mix import CoverageMap
from curator.families import load_families
from curator.services import augment as service
from curator.store import Store
from tui_fixtures import build_db

ROOT = Path(__file__).resolve().parents[1]
FAMS = load_families(ROOT / "prompts").families
CMAP = CoverageMap.load(ROOT / "prompts" / "coverage.toml", FAMS)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build_db(tmp_path / "aug.db")


def _queued(db: Path) -> int:
    with Store(db, readonly=True) as store:
        return store.count_jobs(state="queued")


def _run(db: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "CURATOR_DB": str(db)}
    return subprocess.run([sys.executable, "-m", "curator", "augment", "--max-jobs", "2", *args], env=env,
                          input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_service_dry_run_counts_what_the_real_run_queues(db: Path) -> None:
    with Store(db) as store:
        before = store.count_jobs()
        dry = service.augment(store, CMAP, FAMS, Settings(), max_jobs_per_cell=3, dry_run=True)
        assert store.count_jobs() == before, "a dry run stores nothing"
        assert dry.plan.jobs > 0 and dry.plan.worst_cost_usd > 0
        real = service.augment(store, CMAP, FAMS, Settings(), max_jobs_per_cell=3)
        assert real.queued == dry.plan.jobs == store.count_jobs() - before
        assert service.augment(store, CMAP, FAMS, Settings(), max_jobs_per_cell=3, dry_run=True).plan.jobs == 0


def test_cli_dry_run_equals_real_run_and_asks_first(db: Path) -> None:
    before = _queued(db)
    dry = _run(db, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    line = next(x for x in dry.stdout.splitlines() if x.startswith("dry run:"))
    would = int(line.split()[2])
    assert would > 0 and "worst case $" in line and _queued(db) == before

    # Without a terminal the question is shown and not asked (a pipe may never answer): --yes goes on.
    no = _run(db, stdin="y\n")
    assert no.returncode == 1 and "worst case $" in no.stderr, no.stderr
    assert "nothing queued: no terminal to ask; add --yes to go on without the question" in no.stderr
    assert _queued(db) == before, "not asked: nothing queued"

    yes = _run(db, "--yes")
    assert yes.returncode == 0, yes.stderr
    assert _queued(db) - before == would, yes.stdout
    assert f"{would} jobs queued" in yes.stdout


def test_cli_yes_queues_without_asking(db: Path) -> None:
    before = _queued(db)
    out = _run(db, "--yes")  # no stdin: a prompt would abort
    assert out.returncode == 0, out.stderr
    assert _queued(db) > before and "[y/N]" not in out.stdout


def test_the_cost_of_a_run_counts_the_jobs_already_queued_for_its_family(db: Path) -> None:
    from curator.services import generate

    settings = Settings()
    with Store(db) as store:
        planned = service.plan(store, CMAP, FAMS, settings, max_jobs_per_cell=2)
        service.queue(store, planned)
        queued = store.count_jobs(state="queued", family="grammar_tutor")
        assert queued > 1
        estimate = generate.estimate(store, FAMS["grammar_tutor"], settings, limit=queued + 1)
        one = generate.estimate(store, FAMS["grammar_tutor"], settings, limit=1)
    # `--limit N` is what one run sends: the jobs `A` queued for the family first, then new ones up to N;
    # the question counts them all
    assert estimate.requests == queued + 1 and estimate.worst_cost_usd > 0
    assert one.requests == 1


def test_on_a_terminal_it_asks_and_no_queues_nothing(db: Path) -> None:
    """The question on a real terminal (a pty): n, or a bare enter (no is the default), queues nothing."""
    import pty

    before = _queued(db)
    for answer in (b"n\n", b"\n"):
        leader, follower = pty.openpty()
        env = {**os.environ, "CURATOR_DB": str(db)}
        proc = subprocess.Popen([sys.executable, "-m", "curator", "augment", "--max-jobs", "2"], env=env,
                                stdin=follower, stdout=subprocess.PIPE, stderr=follower, cwd=ROOT)
        os.close(follower)
        asked = b""
        while b"[y/N]" not in asked:  # (synchronised on the question itself, not on time)
            chunk = os.read(leader, 4096)
            assert chunk, asked
            asked += chunk
        os.write(leader, answer)
        out, _ = proc.communicate(timeout=120)
        with contextlib.suppress(OSError):
            asked += os.read(leader, 4096)
        os.close(leader)
        assert proc.returncode == 1 and b"worst case $" in asked, asked
        assert b"nothing queued (add --yes to skip the question)" in asked, asked
    assert _queued(db) == before
