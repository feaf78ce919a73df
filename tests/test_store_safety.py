"""The file is checked before anything writes to it; --db means one thing wherever it is written;
read-only commands never create or change a file."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from curator.services.demo import prepare_sample
from curator.store import Store, StoreError
from tui_fixtures import settle

PAGE = 8192


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def curator(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "curator", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd)


def damage(path: Path, *, journal: str = "DELETE") -> Path:
    """Damage the passages b-tree of a curator database (its header stays valid)."""
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA journal_mode = {journal}")
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'passages'").fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    offset = (root - 1) * PAGE
    data[offset + 3:offset + 5] = (500).to_bytes(2, "big")  # more cells than the page holds
    path.write_bytes(bytes(data))
    return path


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    """A curator database in rollback-journal mode whose passages b-tree is damaged."""
    path = tmp_path / "damaged.db"
    with Store(path) as store:
        prepare_sample(store)
    return damage(path)


COMMANDS = [["stats"], ["gate"], ["export"], ["coverage"], ["jobs"], ["import", "{corpus}"],
            ["seeds", "import", "{seeds}"], ["generate", "--family", "school_math", "--procedural", "--limit", "1"], []]


@pytest.mark.parametrize("command", [["stats"], ["import", "{corpus}"]], ids=" ".join)
def test_nothing_is_left_beside_a_damaged_wal_file(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "db" / "damaged.db"
    with Store(path) as store:
        prepare_sample(store)
    damage(path, journal="WAL")
    (tmp_path / "db" / "damaged.db.checked").unlink(missing_ok=True)
    corpus = tmp_path / "a.txt"
    corpus.write_text("متنی کوتاه برای آزمون. " * 30, encoding="utf-8")
    before, listing = sha(path), sorted(p.name for p in path.parent.iterdir())
    out = curator("--db", str(path), *[a.format(corpus=corpus) for a in command], cwd=tmp_path)
    assert out.returncode == 1 and "damaged" in out.stderr
    assert sha(path) == before
    assert sorted(p.name for p in path.parent.iterdir()) == listing  # no -shm, -wal or .checked beside it


def test_a_file_of_a_newer_schema_is_refused_and_nothing_is_left_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    with Store(path):
        pass
    for leftover in path.parent.glob("newer.db?*"):
        leftover.unlink()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    before, listing = sha(path), sorted(p.name for p in tmp_path.iterdir())
    for command in (["stats"], ["import", str(path)]):
        out = curator("--db", str(path), *command, cwd=tmp_path)
        assert out.returncode == 1 and "newer curator" in out.stderr
    assert sha(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == listing


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "(the app)")
def test_a_damaged_file_is_reported_and_left_byte_identical(damaged: Path, tmp_path: Path, command: list[str]) -> None:
    corpus = tmp_path / "a.txt"
    corpus.write_text("متنی کوتاه برای آزمون. " * 30, encoding="utf-8")
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("", encoding="utf-8")
    before = sha(damaged)
    args = [a.format(corpus=corpus, seeds=seeds) for a in command]
    out = curator("--db", str(damaged), *args, cwd=tmp_path)
    assert out.returncode != 0
    assert "damaged" in out.stderr and "left untouched" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert sha(damaged) == before
    assert not Path(str(damaged) + "-wal").exists()


def test_a_file_that_is_not_sqlite_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database" * 100)
    with pytest.raises(StoreError, match="not a SQLite database"):
        Store(path)
    assert path.read_bytes() == b"these are my notes, not a database" * 100


@pytest.mark.parametrize("where", ["before", "after"])
@pytest.mark.parametrize("command", [["stats"], ["gate"], ["export"], ["coverage"], ["jobs"]],
                         ids=lambda c: c[0])
def test_db_means_the_same_before_or_after_the_command(tmp_path: Path, where: str, command: list[str]) -> None:
    """Seen by a user: `curator --db X stats` ignored X and made db/curator.db in the current folder."""
    db = tmp_path / "mine.db"
    with Store(db) as store:
        prepare_sample(store)
    work = tmp_path / "elsewhere"
    work.mkdir()
    args = ["--db", str(db), *command] if where == "before" else [*command, "--db", str(db)]
    out = curator(*args, cwd=work)
    assert out.returncode == 0, out.stderr
    assert not (work / "db").exists()
    if command == ["stats"]:
        assert "passages" in out.stdout and " 0\n" not in out.stdout.split("passages", 1)[1].split("\n", 1)[0]


READ_ONLY = [["stats"], ["coverage"], ["jobs"], ["gate", "report"], ["gate", "audit", "format"],
             ["candidates", "list"], ["seeds", "list"], ["passages", "list"]]


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_read_only_commands_neither_create_nor_change_a_database(tmp_path: Path, command: list[str]) -> None:
    out = curator(*command, "--db", str(tmp_path / "none.db"), cwd=tmp_path)
    assert out.returncode != 0 and "no database here" in out.stderr
    assert not (tmp_path / "none.db").exists()
    db = tmp_path / "c.db"
    with Store(db) as store:
        prepare_sample(store)
    before = sha(db)
    out = curator(*command, "--db", str(db), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert sha(db) == before


def test_a_read_only_store_cannot_write(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    with Store(db) as store:
        prepare_sample(store)
    with Store(db, readonly=True) as store:
        assert store.count_passages() > 0
        with pytest.raises((StoreError, sqlite3.OperationalError)):
            store.update_passage(1, quality="reject")


async def test_the_app_on_a_damaged_file_says_so_and_never_writes(tmp_path: Path) -> None:
    """The app opens a WAL file at once and checks it in the background; a damaged one is reported,
    and a decision is refused, leaving the file byte-identical."""
    from tui_fixtures import ROOT, build_db

    from curator.config import Settings
    from curator.tui.app import CuratorApp

    db = damage(build_db(tmp_path / "tui.db"), journal="WAL")
    before = sha(db)
    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="triage")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await settle(pilot)
        await pilot.pause()
        assert any("damaged" in e for e in app.errors)
        await pilot.press("a")
        await settle(pilot)
        await pilot.pause()
        assert app.is_running
    assert sha(db) == before
