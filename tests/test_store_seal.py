"""The whole-file check runs once per change of the file, not once per command: a process that
checked the file and closed its last writing connection seals the state it left; the next one skips
the check while the file is as sealed, and checks again after anything else touched it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from curator.services.demo import prepare_sample
from curator.store import Store, StoreError
from curator.store import base
from test_store_safety import damage

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def checks(monkeypatch) -> list[Path]:
    """Each quick_check run in this process, as if every open came from a new process."""
    ran: list[Path] = []
    real = base._quick_check

    def counted(path: Path) -> None:
        ran.append(path)
        real(path)

    monkeypatch.setattr(base, "_quick_check", counted)
    monkeypatch.setattr(base, "_checks", {})
    return ran


def new_process() -> None:
    base._checks.clear()


def test_a_sealed_file_is_not_checked_again_until_it_changes(tmp_path: Path, checks: list[Path]) -> None:
    db = tmp_path / "c.db"
    with Store(db) as store:
        prepare_sample(store)
    assert checks == [] and not (tmp_path / "c.db.checked").exists(), "a new file has nothing to check"
    new_process()
    with Store(db) as store:
        store.update_passage(1, quality="high")
    assert len(checks) == 1 and (tmp_path / "c.db.checked").exists()
    new_process()
    with Store(db) as store:  # as sealed: no check
        store.update_passage(1, quality="medium")
    with Store(db, readonly=True) as store:
        assert store.passage(1).quality == "medium"
    assert len(checks) == 1
    new_process()
    with Store(db):  # the last writer sealed what it left
        pass
    assert len(checks) == 1


def test_a_file_changed_after_the_seal_is_checked_and_damage_is_reported(tmp_path: Path, checks: list[Path]) -> None:
    db = tmp_path / "d.db"
    with Store(db) as store:
        prepare_sample(store)
    new_process()
    with Store(db):
        pass
    assert (tmp_path / "d.db.checked").exists()
    damage(db)  # same size, one page changed
    new_process()
    with pytest.raises(StoreError, match="damaged"):
        Store(db)
    assert len(checks) == 2


def test_another_process_that_writes_seals_for_the_next(tmp_path: Path, checks: list[Path]) -> None:
    db = tmp_path / "e.db"
    with Store(db) as store:
        prepare_sample(store)
    out = subprocess.run([sys.executable, "-m", "curator", "--db", str(db), "passages", "set", "1", "--quality",
                          "reject"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    new_process()
    with Store(db, readonly=True) as store:
        assert store.passage(1).quality == "reject"
    assert checks == [], "the command checked the file and sealed what it left"
