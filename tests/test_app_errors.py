"""Errors in the app are shown and the app goes on: a worker's error, a full or unwritable export
folder, a database locked by another process while the curator decides."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from curator.config import Settings
from curator.tui.app import CuratorApp
from tui_fixtures import ROOT, build_db, settle


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build_db(tmp_path / "tui.db")


def app_for(db: Path, start: str) -> CuratorApp:
    return CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start=start)


async def test_a_worker_error_is_shown_and_the_app_goes_on(db: Path) -> None:
    app = app_for(db, "dashboard")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)

        def broken() -> None:
            raise RuntimeError("the disk went away")

        app.run_worker(broken, thread=True)
        await settle(pilot)
        assert app.is_running
        assert any("the disk went away" in e for e in app.errors)
        await pilot.press("t")
        await settle(pilot)
        assert app.screen.card is not None


async def test_a_coverage_count_that_fails_is_shown_and_r_counts_again(db: Path, monkeypatch) -> None:
    from curator.services import coverage

    real, failures = coverage.live_coverage, ["database disk image is malformed"]

    def count(store, cmap):
        if failures:
            raise RuntimeError(failures.pop())
        return real(store, cmap)

    monkeypatch.setattr(coverage, "live_coverage", count)
    app = app_for(db, "dashboard")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.coverage is None and app.is_running
        assert any("coverage could not be counted: RuntimeError: database disk image" in e for e in app.errors)
        assert "coverage could not be counted" in str(app.screen.query_one("#coverage").text)
        await pilot.press("r")
        await settle(pilot)
        assert app.coverage is not None, "counted again, not stuck"
        assert "thin cells" in str(app.screen.query_one("#coverage").text)


LOCKER = textwrap.dedent("""
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    print("LOCKED", flush=True)
    sys.stdin.readline()
    conn.execute("ROLLBACK")
""")


async def test_a_decision_while_another_process_holds_the_lock_is_refused_then_made(db: Path) -> None:
    """Seen by a user: a decision made while `curator import` wrote failed after 10 s and the exception
    exited the app. Now the write waits briefly, the curator is told, the card stays; the next try works."""
    app = app_for(db, "triage")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        first = app.screen.card.example.id
        locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(db)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert locker.stdout.readline().strip() == "LOCKED"
            await pilot.press("a", "a")  # this card fails a gate: the first a warns, the second accepts
            await settle(pilot)
            assert app.is_running
            assert app.errors and "busy" in app.errors[-1]
            assert app.screen.card.example.id == first
            assert app.store.decisions(first) == []
        finally:
            locker.stdin.write("\n")
            locker.stdin.flush()
            locker.wait(timeout=30)
        await pilot.press("a")
        await settle(pilot)
        assert [d.action for d in app.store.decisions(first)] == ["accept"]
        assert app.screen.card.example.id != first


async def test_a_decision_before_the_file_check_ends_is_refused_not_frozen(db: Path, monkeypatch) -> None:
    """The app opens a sound WAL file at once and checks it in the background (a 250 MB file takes
    6 s on a cold cache here); a decision made before the check ends is refused with a message
    instead of freezing the screen, and the same key works once the check has passed."""
    import threading

    from curator.store import base

    real, release = base._quick_check, threading.Event()

    def held_check(path):
        assert release.wait(30)
        real(path)

    monkeypatch.setattr(base, "_quick_check", held_check)
    app = app_for(db, "triage")
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(1000):  # the queue loads on a read-only connection: it never waits for the check
            if app.screen.card is not None:  # (not `settle`: the held check's worker would be waited for)
                break
            await pilot.pause()
        first = app.screen.card.example.id
        await pilot.press("a", "a")  # this card fails a gate: the first a warns, the second accepts
        assert "still being checked" in app.errors[-1]
        assert app.screen.card.example.id == first and app.store.decisions(first) == []
        release.set()
        await settle(pilot)
        await pilot.press("a")
        assert [d.action for d in app.store.decisions(first)] == ["accept"]
