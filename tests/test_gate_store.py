"""The gate runner on the store: a stored row that no longer validates gets a format fail and the
run goes on; every write is a short transaction of at most BATCH examples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from curator.services.gating import lexical, runner
from curator.models import Example, Message, now_iso
from curator.services.gate import run_gates
from curator.store import Store
from curator.families import load_families
from curator.text.normalize import key_hash

ROOT = Path(__file__).resolve().parents[1]
FAMS = load_families(ROOT / "prompts").families


def add(store: Store, i: int) -> int:
    user, answer = f"پرسش {i}: فاعل در جملهٔ «علی آمد» کدام است؟", f"«علی» فاعل است. توضیح شمارهٔ {i} برای دانش‌آموز."
    e = Example(kind="candidate", family="grammar_tutor", task_type="explanation",
                messages=[Message(role="user", content=user), Message(role="assistant", content=answer)])
    e.key_hash = key_hash(user + "\n" + answer)
    return store.add_example(e)


def test_a_row_that_no_longer_validates_fails_format_and_the_run_goes_on(store: Store, db_file: Path) -> None:
    good = [add(store, i) for i in range(4)]
    with store.transaction():  # what an older version could write: an empty assistant turn
        bad = store.conn.execute(
            "INSERT INTO examples (kind, family, source_type, messages, state, key_hash, created_at, uid, lineage) "
            "VALUES ('candidate', 'grammar_tutor', 'generated', ?, 'new', 'k', ?, 'u-bad', 'u-bad')",
            (json.dumps([{"role": "user", "content": "فاعل چیست؟"}, {"role": "assistant", "content": ""}],
                        ensure_ascii=False), now_iso())).lastrowid
    out = subprocess.run([sys.executable, "-m", "curator", "--db", str(db_file), "gate"], capture_output=True,
                         text=True, cwd=ROOT, env={**os.environ, "CURATOR_DEBUG": ""})
    assert out.returncode == 0, out.stderr
    assert "5 new candidates checked" in out.stdout and "1 stored rows no longer valid" in out.stdout
    verdicts = store.current_verdicts()
    assert all({"format", "language", "length", "dedup", "decontam"} <= set(verdicts[i]) for i in good)
    assert verdicts[bad]["format"]["verdict"] == "fail" and verdicts[bad]["format"]["reason"] == "invalid_row"
    assert "empty assistant turn" in verdicts[bad]["format"]["detail"]["problem"]
    (state, status), = store.conn.execute("SELECT state, gate_status FROM examples WHERE id = ?", (bad,))
    assert (state, status) == ("gated", "fail")
    again = run_gates(store, FAMS)
    assert again.checked == 0 and again.invalid == 0, "the bad row is gated once"


def test_writes_are_short_transactions_of_at_most_a_batch(store: Store, monkeypatch) -> None:
    monkeypatch.setattr(runner, "BATCH", 4)
    monkeypatch.setattr(lexical, "WRITE_BATCH", 4)
    ids = [add(store, i) for i in range(10)] + [add(store, 0)]  # near duplicates, the last an exact one
    calls: list[tuple[str, set[int]]] = []
    for name, key in (("insert_verdicts", 0), ("set_gate_status", 2)):
        real = getattr(store, name)

        def spy(rows, real=real, name=name, key=key):
            assert not store.conn.in_transaction, f"{name} opens its own short transaction"
            calls.append((name, {r[key] for r in rows}))
            return real(rows)

        monkeypatch.setattr(store, name, spy)
    report = run_gates(store, FAMS)
    assert report.checked == 11 and report.duplicates >= 1
    assert all(len(examples) <= 4 for _, examples in calls)
    assert {n for n, _ in calls} == {"insert_verdicts", "set_gate_status"}
    assert sum(len(e) for n, e in calls if n == "set_gate_status") == 11
    assert store.example(ids[-1]).gate_status == "fail"


def test_cancel_between_set_level_writes_keeps_what_was_written(store: Store, monkeypatch) -> None:
    monkeypatch.setattr(runner, "BATCH", 3)
    monkeypatch.setattr(lexical, "WRITE_BATCH", 3)
    for i in range(8):
        add(store, i)
    cancel = threading.Event()
    real = store.insert_verdicts
    writes = []

    def spy(rows):
        writes.append(rows)
        if any(r[1] == "dedup" for r in rows):
            cancel.set()  # pause after the first set-level batch
        return real(rows)

    monkeypatch.setattr(store, "insert_verdicts", spy)
    first = run_gates(store, FAMS, cancel=cancel)
    assert first.paused
    assert sum(r[1] in ("dedup", "decontam") for rows in writes for r in rows) == 3
    second = run_gates(store, FAMS)
    assert not second.paused
    verdicts = store.current_verdicts()
    assert all({"dedup", "decontam"} <= set(verdicts[i]) for i in verdicts)


def test_gate_audit_and_report_open_the_store_read_only(store: Store, db_file: Path) -> None:
    ids = [add(store, i) for i in range(3)]
    run_gates(store, FAMS)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "curator", "--db", str(db_file), "gate", *args],
                              capture_output=True, text=True, cwd=ROOT, env={**os.environ, "CURATOR_DEBUG": ""})

    with store.transaction():  # a writer holds the lock: read-only commands still answer
        store.conn.execute("UPDATE examples SET topic = 'x' WHERE id = ?", (ids[0],))
        audit = cli("audit", "format", "--sample", "2")
        report = cli("report")
    assert audit.returncode == 0 and audit.stdout.count("\n") == 2, audit.stderr
    assert report.returncode == 0 and "format" in report.stdout
    override = cli("override", str(ids[0]), "format", "fail")
    assert override.returncode == 0 and store.example(ids[0]).gate_status == "fail"
    missing = cli("override", "4242", "format", "fail")
    assert missing.returncode != 0 and "no candidate #4242" in missing.stderr
