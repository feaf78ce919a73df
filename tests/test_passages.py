"""Passages from the command line, through the same service as the Passages screen."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from curator.services.demo import prepare_sample
from curator.store import Store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "p.db"
    with Store(path) as store:
        prepare_sample(store)
    return path


def curator(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "curator", *args, "--db", str(db)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def test_list_set_and_queue(db: Path) -> None:
    out = curator(db, "passages", "list", "--json", "--limit", "3")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 3 and all(r["text"] for r in rows)
    first = rows[0]["id"]
    out = curator(db, "passages", "set", str(first), "--quality", "high", "--tags", "grammar, math",
                  "--families", "passage_qa")
    assert out.returncode == 0, out.stderr
    with Store(db, readonly=True) as store:
        p = store.passage(first)
    assert (p.quality, p.tags, p.families) == ("high", ["grammar", "math"], ["passage_qa"])
    assert p.rules[-1] == "quality high: set by the curator"
    out = curator(db, "passages", "queue", str(first), "--family", "passage_qa")
    assert out.returncode == 0 and "queued 1 passage_qa job for 1 passage" in out.stdout
    assert "queued 0" in curator(db, "passages", "queue", str(first), "--family", "passage_qa").stdout


def test_bad_changes_are_refused_and_write_nothing(db: Path) -> None:
    with Store(db, readonly=True) as store:
        before = store.passage(1)
    out = curator(db, "passages", "set", "1", "--families", "passage_qa,no_such_family")
    assert out.returncode != 0 and "unknown family 'no_such_family'" in out.stderr
    out = curator(db, "passages", "set", "999999", "--quality", "high")
    assert out.returncode != 0 and "no passage #999999" in out.stderr
    with Store(db, readonly=True) as store:
        second = store.passage(2)
    out = curator(db, "passages", "set", "1", "2", "999999", "--quality", "reject")  # all or none
    assert out.returncode == 1 and "no passage #999999: nothing was changed" in out.stderr, out.stderr
    out = curator(db, "passages", "set", "1", "2", "--families", "no_such_family")
    assert out.returncode == 1 and "unknown family" in out.stderr
    with Store(db, readonly=True) as store:
        assert store.passage(1) == before and store.passage(2) == second
        jobs = store.count("jobs")
    out = curator(db, "passages", "queue", "1", "999999", "--family", "passage_qa")
    assert out.returncode == 1 and "no passage #999999: nothing was queued" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and "IntegrityError" not in out.stderr
    with Store(db, readonly=True) as store:
        assert store.count("jobs") == jobs  # not even passage #1's job


def test_the_screen_reads_the_ids_then_a_screenful_of_rows(db: Path) -> None:
    """What the Passages screen scrolls over: every visible passage's id in order (those containing
    the search), and the rows of a screenful by id (a passage gone is left out)."""
    from curator.services.passages import list_passages, matching_ids, passages_by_id

    with Store(db, readonly=True) as store:
        everything = list_passages(store, limit=None)
        ids = matching_ids(store)
        assert list(ids) == [p.id for p in everything.rows] and len(ids) == everything.total
        word = everything.rows[0].text.split()[0]
        assert list(matching_ids(store, search=word)) == [p.id for p in list_passages(store, search=word, limit=None).rows]
        rows = passages_by_id(store, [ids[2], ids[0], 999_999])
        assert set(rows) == {ids[0], ids[2]} and rows[ids[2]] == everything.rows[2]
