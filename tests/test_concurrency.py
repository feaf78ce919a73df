"""The concurrency contract, with real processes on one database file: the app (its own process,
driven by Pilot) decides while other `curator` commands read and write the same file; then the app
is killed with SIGKILL. Every decision drawn as done is in the database, and the file is sound."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path


from curator.models import Example, Message
from curator.services.demo import prepare_sample
from curator.store import Store
from curator.text.normalize import key_hash
from synthetic import generate

HERE = Path(__file__).resolve().parent


def candidates_db(path: Path, n: int) -> Path:
    """The sample project plus `n` distinct pending candidates."""
    with Store(path) as store:
        prepare_sample(store)
        with store.transaction():
            for i in range(n):
                question = f"پرسش شمارهٔ {i}: چرا آسمان در روز شمارهٔ {i * 7 + 3} آبی است؟"
                answer = f"پاسخ {i}: نور خورشید در هوا پخش می‌شود و رنگ آبی بیشتر پراکنده می‌شود ({i})."
                e = Example(kind="candidate", family="student_support", task_type="explanation",
                            messages=[Message(role="user", content=question), Message(role="assistant", content=answer)])
                e.key_hash = key_hash(question + "\n" + answer)
                store.add_example(e)
    return path


def curator(db: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "curator", *args, "--db", str(db)], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


class AppProcess:
    """The app in its own process (tests/app_driver.py), read line by line."""

    def __init__(self, db: Path, decisions: int, *, wait_go: bool = False, keys: str = "a") -> None:
        args = [sys.executable, str(HERE / "app_driver.py"), str(db), str(decisions), "--keys", keys]
        self.proc = subprocess.Popen(args + (["--wait-go"] if wait_go else []), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.done: list[int] = []

    def wait_for(self, word: str) -> None:
        for line in self.proc.stdout:
            line = line.strip()
            if line.startswith("done "):
                self.done.append(int(line.split()[1]))
            if line == word:
                return
        raise AssertionError(f"the app ended before {word}: {self.proc.stderr.read()[-3000:]}")

    def go(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def kill(self) -> str:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        assert self.proc.returncode == -signal.SIGKILL
        return self.proc.stderr.read()


def assert_sound(db: Path, decided: list[int], action: str = "accept") -> None:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()
    with Store(db) as store:
        for example_id in decided:
            assert [d.action for d in store.decisions(example_id)] == [action], example_id
            assert store.example(example_id).state == "accepted"


def test_decisions_survive_other_commands_reading_and_writing_the_file(tmp_path: Path) -> None:
    """Seen by a user: with the app open, `curator stats` from another shell, then `a` five times, then
    the app killed: 0 of 5 decisions survived (a worker's file check dropped the app's locks)."""
    db = candidates_db(tmp_path / "shared.db", 12)
    small = tmp_path / "more.txt"
    generate(small, 0.05, seed=3)
    app = AppProcess(db, 5, wait_go=True)
    app.wait_for("READY")
    assert curator(db, "stats").returncode == 0
    imported = curator(db, "import", str(small))
    assert imported.returncode == 0, imported.stderr
    assert curator(db, "stats").returncode == 0
    app.go()
    app.wait_for("DONE")
    assert curator(db, "stats").returncode == 0
    stderr = app.kill()
    assert len(app.done) == 5
    assert "Traceback" not in stderr
    assert_sound(db, app.done)


def test_two_hundred_decisions_while_a_50_mb_import_and_a_stats_loop_share_the_file(tmp_path: Path) -> None:
    db = candidates_db(tmp_path / "shared.db", 230)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for part in range(5):
        generate(corpus / f"part{part}.txt", 10, seed=part)
    importer = subprocess.Popen([sys.executable, "-m", "curator", "import", str(corpus), "--db", str(db)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stop = threading.Event()
    stats_runs: list[int] = []

    def stats_loop() -> None:
        while not stop.is_set():
            stats_runs.append(curator(db, "stats").returncode)

    reader = threading.Thread(target=stats_loop)
    reader.start()
    try:
        app = AppProcess(db, 200)
        app.wait_for("DONE")
        stderr = app.kill()
    finally:
        stop.set()
        reader.join()
        out, err = importer.communicate(timeout=300)
    assert importer.returncode == 0, err
    assert stats_runs and set(stats_runs) == {0}
    assert len(app.done) == 200
    assert "Traceback" not in stderr
    assert_sound(db, app.done)
    with Store(db, readonly=True) as store:
        assert store.count_passages() > 10_000
