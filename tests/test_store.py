"""The store: a real SQLite file in WAL mode, migrated forward, refusing what it must not touch."""

import sqlite3
from pathlib import Path

import pytest

from curator.models import Decision, Example, GateVerdict, Job, Message
from curator.store import LATEST_VERSION, Store, StoreError
from curator.store.schema import MIGRATIONS


def test_new_database_is_wal_with_foreign_keys_and_latest_schema(store: Store) -> None:
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert store.version == LATEST_VERSION
    assert set(store.table_counts()) >= {"passages", "examples", "gate_verdicts", "decisions", "jobs", "exports"}
    assert store.conn.execute("PRAGMA page_size").fetchone()[0] == 8192


def test_an_existing_database_keeps_its_page_size(db_file: Path) -> None:
    conn = sqlite3.connect(db_file)
    conn.execute("PRAGMA user_version = 1")
    for statement in MIGRATIONS[0].split(";"):
        conn.execute(statement)
    conn.commit()
    conn.close()
    with Store(db_file) as store:
        assert store.conn.execute("PRAGMA page_size").fetchone()[0] == 4096
        assert store.version == LATEST_VERSION


def test_rows_round_trip_through_the_models(store: Store) -> None:
    ex = Example(family="grammar_tutor", task_type="explanation",
                 messages=[Message(role="user", content="فاعل چیست؟"), Message(role="assistant", content="انجام‌دهندهٔ کار.")],
                 metadata={"note": "یادداشت"}, key_hash="k")
    ex_id = store.add_example(ex)
    back = store.example(ex_id)
    assert back.messages == ex.messages and back.metadata == {"note": "یادداشت"}
    store.add_verdict(GateVerdict(example_id=ex_id, gate="length", gate_version="1", verdict="pass", reason="ok"))
    store.add_decision(Decision(example_id=ex_id, action="accept", seconds=2.5))
    assert [v.gate for v in store.verdicts(ex_id)] == ["length"]
    assert [d.action for d in store.decisions(ex_id)] == ["accept"]


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        store.add_decision(Decision(example_id=999, action="accept"))


def test_jobs_are_idempotent_on_their_key(store: Store) -> None:
    assert store.add_job(Job(idem_key="k1", family="grammar_tutor")) is not None
    assert store.add_job(Job(idem_key="k1", family="grammar_tutor")) is None
    assert store.count("jobs") == 1


def test_a_failed_transaction_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.add_job(Job(idem_key="a"))
            raise RuntimeError("boom")
    assert store.count("jobs") == 0


def test_migrates_an_older_schema_keeping_its_rows(db_file: Path) -> None:
    conn = sqlite3.connect(db_file)
    conn.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    conn.execute(
        "INSERT INTO passages (source_path, start, \"end\", text, key_hash, created_at) "
        "VALUES ('old.txt', 0, 4, 'متن', 'h1', '2026-01-01T00:00:00Z')"
    )
    conn.commit()
    conn.close()
    with Store(db_file) as store:
        assert store.version == LATEST_VERSION
        (passage,) = store.passages()
        assert passage.text == "متن" and passage.source_id is not None
        assert [s["path"] for s in store.source_paths([passage.id])] == ["old.txt"]


def test_refuses_a_newer_schema(db_file: Path) -> None:
    Store(db_file).close()
    conn = sqlite3.connect(db_file)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer curator"):
        Store(db_file)


@pytest.mark.parametrize("content", [b"this is not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 4000])
def test_a_corrupt_file_is_reported_and_never_overwritten(db_file: Path, content: bytes) -> None:
    db_file.write_bytes(content)
    with pytest.raises(StoreError) as err:
        Store(db_file)
    assert str(db_file) in str(err.value)
    assert db_file.read_bytes() == content


def test_a_foreign_sqlite_file_is_refused(db_file: Path) -> None:
    conn = sqlite3.connect(db_file)
    conn.execute("CREATE TABLE other (x)")
    conn.close()
    with pytest.raises(StoreError, match="not a curator database"):
        Store(db_file)


def test_an_empty_file_read_only_is_named_empty_and_left_as_it_is(db_file: Path) -> None:
    db_file.write_bytes(b"")
    with pytest.raises(StoreError, match="empty, not a curator database yet"):
        Store(db_file, readonly=True)
    assert db_file.read_bytes() == b""


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="folder"):
        Store(tmp_path)


def test_seed_needs_a_role() -> None:
    with pytest.raises(ValueError, match="role"):
        Example(kind="seed", family="x", messages=[Message(role="user", content="سلام")])


def test_the_change_mark_changes_when_this_or_another_connection_writes(store: Store, db_file: Path) -> None:
    before = store.change_mark()
    store.examples()
    assert store.change_mark() == before, "reads do not change it"
    store.add_example(Example(kind="candidate", family="grammar_tutor", messages=[Message(role="user", content="س")]))
    own = store.change_mark()
    assert own != before
    with Store(db_file) as other:
        other.add_example(Example(kind="candidate", family="grammar_tutor",
                                  messages=[Message(role="user", content="ج")]))
    assert store.change_mark() != own
