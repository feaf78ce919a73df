"""A database the app cannot write — read-only, on a full disk, or deleted under it — never ends the
app: every screen's write shows what went wrong, naming the file, and the app keeps running.

Read-only is SQLite's `query_only` on every connection (the tests run as root, whom file permissions do
not stop; SQLite refuses both the same way: "attempt to write a readonly database"). A full disk is a
file-size limit (RLIMIT_FSIZE) in a second process that runs the app (a limit in the test process would
also stop pytest's own files). A deleted database is unlinked with its WAL while the app holds it open.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from curator.config import Settings
from curator.store import Store
from curator.store import base as store_base
from curator.tui.app import CuratorApp
from tui_fixtures import ROOT, build_db, settle, settle_until

TESTS = Path(__file__).resolve().parent


def errors_of(app) -> list[str]:
    """What the app told the curator went wrong (an error, or a warning that it cannot be done), every one
    since it opened: a toast that has timed out still counts (a busy machine must not lose one)."""
    return [message for severity, message in app.told if severity in ("error", "warning")]


async def visit_every_screen(app, pilot) -> None:
    """Show every main screen once (each loads what it shows while the file is still there)."""
    for key in "tpsjd":
        await pilot.press(key)
        await settle(pilot)


async def each_screen_writes(app, pilot, check) -> list[str]:
    """Do one write on every main screen; `check(what, errors)` after each. Returns what was done."""
    done = []

    async def step(what: str, *keys: str, until=None) -> None:
        before = len(errors_of(app))
        await pilot.press(*keys)
        try:
            await settle_until(pilot, until or (lambda: len(errors_of(app)) > before))
        except AssertionError:
            print("NOTES", [(n.severity, n.message) for n in app._notifications][-4:])
            raise
        assert app.is_running, f"the app ended on: {what}"
        check(what, errors_of(app)[before:])
        done.append(what)

    await pilot.press("t")
    await settle(pilot)
    card = app.screen.card.example.id
    await step("triage reject", "x")
    assert app.screen.card.example.id == card, "the card stays: nothing was decided"
    await step("triage flag", "f")
    await pilot.press("p")
    await settle(pilot)
    await step("passage quality", "1")
    await pilot.press("s")
    await settle(pilot)
    await pilot.press("r")
    await settle(pilot)
    await step("seed role", "down", "enter", "y")  # (the role list, then the question: y, never enter)
    await pilot.press("escape")
    await pilot.press("d")
    await settle(pilot)
    await step("export", "E")
    await pilot.press("j")
    await settle(pilot)
    await step("gates", "G")
    return done


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build_db(tmp_path / "tui.db")


def app_for(db: Path) -> CuratorApp:
    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="dashboard")
    app.told = []
    notify = app.notify

    def recorded(message, *args, severity="information", **kwargs):
        app.told.append((severity, str(message)))
        return notify(message, *args, severity=severity, **kwargs)

    app.notify = recorded
    return app


async def test_a_read_only_database_is_reported_on_every_screen(db: Path, monkeypatch) -> None:
    app = app_for(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await visit_every_screen(app, pilot)
        app.store.conn.execute("PRAGMA query_only = ON")
        connect = store_base.StoreBase._connect

        def read_only(self):
            conn = connect(self)
            conn.execute("PRAGMA query_only = ON")
            return conn

        monkeypatch.setattr(store_base.StoreBase, "_connect", read_only)

        def check(what: str, errors: list[str]) -> None:
            assert any("read-only" in e or "readonly" in e for e in errors), (what, errors)
            assert any(str(db) in e for e in errors), f"{what}: the file is named: {errors}"

        done = await each_screen_writes(app, pilot, check)
        assert len(done) == 6
    with Store(db, readonly=True) as store:
        assert store.count("decisions") == 0


async def test_a_database_deleted_under_the_app_is_reported_on_every_screen(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await visit_every_screen(app, pilot)
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{db}{suffix}").exists():
                os.unlink(f"{db}{suffix}")

        def check(what: str, errors: list[str]) -> None:
            assert any(("gone" in e or "read-only" in e or "no database" in e) and str(db) in e for e in errors), \
                (what, errors)

        done = await each_screen_writes(app, pilot, check)
        assert len(done) == 6
    assert not db.exists(), "no new empty database was made in its place"


def test_a_full_disk_is_reported_on_every_screen(db: Path) -> None:
    """The app in a second process whose files may not grow (RLIMIT_FSIZE, SIGXFSZ ignored): SQLite
    and the exporter meet a full disk."""
    script = f"""
import asyncio, json, resource, signal, sys
sys.path.insert(0, {str(TESTS)!r})
from pathlib import Path
from test_app_unwritable import app_for, each_screen_writes, visit_every_screen
from tui_fixtures import settle

async def main():
    app = app_for(Path({str(db)!r}))
    found = {{}}
    async with app.run_test(size=(120, 40)) as pilot:
        await visit_every_screen(app, pilot)
        app.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every write must grow a file
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        await each_screen_writes(app, pilot, lambda what, errors: found.__setitem__(what, errors))
        running = app.is_running
    print(json.dumps({{"found": found, "running": running}}, ensure_ascii=False))

asyncio.run(main())
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])})
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["running"]
    assert len(result["found"]) == 6
    for what, errors in result["found"].items():
        assert any("full" in e or "File too large" in e or "I/O" in e for e in errors), (what, errors)
