"""An interrupted import leaves nothing visible, is cleaned by the next writer, and imports again the
same; `curator import` says by its exit code whether everything was read."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from curator.services.corpus_import import import_corpus
from curator.store import Store

PARA = "فتوسنتز فرایندی است که گیاه با آن غذای خود را می‌سازد. نور خورشید در این فرایند نقش اصلی دارد. "
WORDS = "فاعل مفعول متمم مسند فعل قید صفت جمله دانش‌آموز معلم درس کتاب مدرسه آب خورشید گیاه برگ نور".split()


def big_corpus(path: Path, megabytes: int) -> Path:
    """Distinct Persian paragraphs (every passage new) of about `megabytes` MB."""
    lines, size, i = [], 0, 0
    while size < megabytes * 1_000_000:
        words = " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(40))
        para = f"{words} شمارهٔ {i}. {PARA}\n\n"
        lines.append(para)
        size += len(para.encode())
        i += 1
    path.write_text("".join(lines), encoding="utf-8")
    return path


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CURATOR_DB"}
    return subprocess.run([sys.executable, "-m", "curator", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)


def raw_counts(db: Path) -> tuple[int, int]:
    """(passage rows, source rows) as stored, visible or not (a read-only connection of the test's own)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return (conn.execute("SELECT count(*) FROM passages").fetchone()[0],
                conn.execute("SELECT count(*) FROM sources").fetchone()[0])
    finally:
        conn.close()


def stored_passages(db: Path) -> list[tuple]:
    with Store(db, readonly=True) as store:
        return [(p.source_path, p.start, p.end, p.text, p.key_hash, p.quality, p.tags) for p in store.passages()]


def kill_when_rows_are_in(proc: subprocess.Popen, db: Path, already: int = 0) -> int:
    """Wait until the importer has committed some of the file's passages (more than `already`
    rows), then SIGKILL it."""
    seen = already
    while seen <= already:
        try:  # wait on the process a little between looks (it must not end first)
            proc.wait(timeout=0.005)
            pytest.fail(f"the import ended before it could be interrupted: {proc.stderr.read()}")
        except subprocess.TimeoutExpired:
            pass
        try:
            seen = raw_counts(db)[0]
        except sqlite3.OperationalError:  # the file or its tables do not exist yet
            pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return seen


def test_a_killed_import_is_invisible_cleaned_by_the_next_writer_and_imports_again_the_same(tmp_path: Path) -> None:
    corpus = big_corpus(tmp_path / "big.txt", 2)  # several batches, no worker processes
    small = tmp_path / "small.txt"
    small.write_text(PARA * 4, encoding="utf-8")
    db = tmp_path / "c.db"
    assert run("import", str(small), "--db", str(db)).returncode == 0
    before = stored_passages(db)
    env = {k: v for k, v in os.environ.items() if k != "CURATOR_DB"}
    proc = subprocess.Popen([sys.executable, "-m", "curator", "import", str(corpus), "--db", str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    seen = kill_when_rows_are_in(proc, db, len(before))
    assert proc.returncode == -signal.SIGKILL
    assert raw_counts(db)[0] >= seen > len(before), "the killed import had committed some batches"

    with Store(db, readonly=True) as reader:  # a reader does not clean, and sees none of them
        assert reader.count_passages() == len(before)
        assert {p.source_path for p in reader.passages()} == {str(small)}
    assert stored_passages(db) == before

    with Store(db):  # the next writer's open cleans up
        pass
    assert raw_counts(db) == (len(before), 1)

    again = run("import", str(corpus), "--db", str(db))
    assert again.returncode == 0, again.stderr
    fresh = tmp_path / "fresh.db"
    assert run("import", str(small), str(corpus), "--db", str(fresh)).returncode == 0
    assert stored_passages(db) == stored_passages(fresh)


def test_a_store_opened_before_the_kill_takes_the_file_over(tmp_path: Path) -> None:
    # The long-lived store (the app's) never reopened, so nothing cleaned the dead import: importing
    # the same file through it must take the source over, not insert passages under a deleted source.
    corpus = big_corpus(tmp_path / "big.txt", 2)
    db = tmp_path / "c.db"
    with Store(db) as store:
        env = {k: v for k, v in os.environ.items() if k != "CURATOR_DB"}
        proc = subprocess.Popen([sys.executable, "-m", "curator", "import", str(corpus), "--db", str(db)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        kill_when_rows_are_in(proc, db)
        report = import_corpus(store, [corpus], workers=1)
        assert report.outcome == "ok" and report.problems == []
        assert report.passages_added == report.passages_seen == store.count_passages()
    fresh = tmp_path / "fresh.db"
    with Store(fresh) as other:
        import_corpus(other, [corpus], workers=1)
    assert stored_passages(db) == stored_passages(fresh)


def test_a_failed_reimport_keeps_what_the_first_import_stored(store: Store, tmp_path: Path) -> None:
    corpus = tmp_path / "a.txt"
    corpus.write_text((PARA * 3 + "\n\n") * 2500, encoding="utf-8")
    first = import_corpus(store, [corpus])
    assert first.outcome == "ok" and store.count_passages() > 0
    kept = store.count_passages()

    def fail(done: int, total: int) -> None:
        raise RuntimeError("disk trouble")

    with pytest.raises(RuntimeError):
        import_corpus(store, [corpus], progress=fail)
    assert store.count_passages() == kept, "the file imported whole before stays"


def test_cancel_drops_the_file_in_progress_and_keeps_the_ones_before(store: Store, tmp_path: Path) -> None:
    done = tmp_path / "a.txt"
    done.write_text(PARA * 4, encoding="utf-8")
    big = big_corpus(tmp_path / "b.txt", 2)
    cancel = threading.Event()
    seen: list[tuple[int, int]] = []

    def progress(read: int, total: int) -> None:
        seen.append((read, total))
        if read > done.stat().st_size:  # in the middle of the second file
            cancel.set()

    report = import_corpus(store, [done, big], progress=progress, cancel=cancel)
    assert report.cancelled and report.files == 1 and report.outcome == "partial"
    assert {p.source_path for p in store.passages()} == {str(done)}
    assert seen[-1][1] == done.stat().st_size + big.stat().st_size


# -- exit codes -----------------------------------------------------------------------------------


def test_exit_0_when_everything_was_read_even_if_nothing_was_new(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(PARA * 4, encoding="utf-8")
    db = str(tmp_path / "c.db")
    first = run("import", str(tmp_path / "a.txt"), "--db", db)
    again = run("import", str(tmp_path / "a.txt"), "--db", db)
    assert first.returncode == 0 and again.returncode == 0, again.stderr
    assert "0 passages added" in again.stdout


def test_exit_3_when_a_file_or_a_line_was_skipped(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text(PARA * 4, encoding="utf-8")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    out = run("import", str(tmp_path / "good.txt"), str(tmp_path / "empty.txt"), "--db", str(tmp_path / "c.db"))
    assert out.returncode == 3 and "1 file," in out.stdout and "empty file" in out.stderr
    lines = tmp_path / "rows.jsonl"
    lines.write_text(json.dumps({"text": PARA * 3}, ensure_ascii=False) + "\n{bad\n", encoding="utf-8")
    out = run("import", str(lines), "--db", str(tmp_path / "d.db"))
    assert out.returncode == 3 and f"{lines}:2: not valid JSON" in out.stderr


@pytest.mark.parametrize("what", ["missing", "all bad", "empty folder"])
def test_exit_4_when_nothing_was_read(tmp_path: Path, what: str) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    if what == "all bad":
        (folder / "empty.txt").write_text("", encoding="utf-8")
        (folder / "bin.txt").write_bytes(b"\x00\x01")
    target = tmp_path / "nope" if what == "missing" else folder
    out = run("import", str(target), "--db", str(tmp_path / "c.db"))
    assert out.returncode == 4, (out.stdout, out.stderr)
    assert "0 files" in out.stdout and "Traceback" not in out.stderr
