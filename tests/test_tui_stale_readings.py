"""A screen shows the newest reading of the store. A reading that started earlier and ends later (a
slow worker superseded by a newer one) is dropped, never drawn over the newer one: the dashboard's
counts after an import, the triage queue after a filter changed."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path

from curator.config import Settings
from curator.tui.app import CuratorApp
from tui_fixtures import ROOT, build_db, settle, settle_until

WAIT_S = 60  # a safety net only: each wait below ends on an event


class Held:
    """Wraps a reading function: the next call reads, then waits (its worker still running) until
    released; `reading` is set once it has read, and `result` is what it read."""

    def __init__(self, real) -> None:
        self.real = real
        self.armed = False
        self.result = None
        self.reading = threading.Event()
        self.release = threading.Event()

    def __call__(self, *args, **kwargs):
        result = self.real(*args, **kwargs)
        if self.armed:
            self.armed = False
            self.result = result
            self.reading.set()
            self.release.wait(WAIT_S)
        return result


def dispatched(is_it):
    """A message hook, and an asyncio event it sets when a message `is_it` reaches its handler."""
    seen = asyncio.Event()

    def hook(message) -> None:
        if is_it(message):
            seen.set()

    return hook, seen


def passages_shown(app) -> bool:
    table = app.screen.query_one("#counts")
    return any("passages" in str(table.get_row_at(i)) for i in range(table.row_count))


async def test_counts_read_before_an_import_never_replace_the_counts_read_after_it(tmp_path: Path,
                                                                                  monkeypatch) -> None:
    from curator.tui.screens import dashboard

    db = tmp_path / "empty.db"
    corpus = tmp_path / "new.txt"
    corpus.write_text("گیاهان با نور خورشید غذا می‌سازند و اکسیژن آزاد می‌کنند. " * 20, encoding="utf-8")
    held = Held(dashboard.read_counts)
    monkeypatch.setattr(dashboard, "read_counts", held)
    hook, seen = dispatched(lambda message: held.result is not None and message is held.result)
    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="dashboard")
    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await settle(pilot)
        assert app.screen.has_class("empty")
        held.armed = True
        app.screen.load_counts()  # reads the empty store, then is slow to say so
        assert await asyncio.to_thread(held.reading.wait, WAIT_S)
        imported = subprocess.run([sys.executable, "-m", "curator", "--db", str(db), "import", str(corpus)],
                                  capture_output=True, text=True, cwd=ROOT)  # a second process fills the store
        assert imported.returncode == 0, imported.stderr
        app.screen.load_counts()  # a newer reading supersedes the slow one
        await settle_until(pilot, lambda: not app.screen.has_class("empty") and passages_shown(app))
        held.release.set()
        await asyncio.wait_for(seen.wait(), WAIT_S)  # the slow reading has reached the screen…
        await settle(pilot)
        assert not app.screen.has_class("empty") and passages_shown(app), "…and was dropped"


async def test_a_queue_read_for_an_older_filter_never_replaces_the_queue_of_the_newer_one(tmp_path: Path,
                                                                                          monkeypatch) -> None:
    from curator.services import triage
    from curator.tui.screens.triage import QueueLoaded

    db = build_db(tmp_path / "tui.db")
    held = Held(triage.queue_ids)
    monkeypatch.setattr(triage, "queue_ids", held)
    hook, seen = dispatched(lambda message: isinstance(message, QueueLoaded) and held.result is not None
                            and message.ids is held.result)
    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="triage")
    async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
        await settle(pilot)
        screen = app.screen
        everything = list(screen.ids)
        assert len(everything) > 1
        screen.filters = screen.filters.replace(family="tool_calling")
        held.armed = True
        screen.load_queue()  # the first filter's queue, slow to arrive
        assert await asyncio.to_thread(held.reading.wait, WAIT_S)
        screen.filters = screen.filters.replace(family=None)  # the curator changed the filter again
        screen.load_queue()
        await settle(pilot)
        assert screen.ids == everything
        held.release.set()
        await asyncio.wait_for(seen.wait(), WAIT_S)
        await settle(pilot)
        assert screen.ids == everything, "the older filter's queue was dropped"


async def test_a_change_made_while_coverage_is_counted_is_counted_again(tmp_path: Path, monkeypatch) -> None:
    from curator.services import coverage
    from curator.store import Store

    db = build_db(tmp_path / "tui.db")
    with Store(db, readonly=True) as store:
        (candidate,) = store.conn.execute("SELECT min(id) FROM examples WHERE kind = 'candidate' AND "
                                          "gate_status = 'pass' AND state = 'gated'").fetchone()
    held = Held(coverage.live_coverage)
    held.armed = True  # the app's first count, at startup
    monkeypatch.setattr(coverage, "live_coverage", held)
    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="dashboard")
    async with app.run_test(size=(80, 24)) as pilot:
        assert candidate is not None
        assert await asyncio.to_thread(held.reading.wait, WAIT_S)  # it has read the store…
        accepted = subprocess.run([sys.executable, "-m", "curator", "--db", str(db), "triage", "accept",
                                   str(candidate)], capture_output=True, text=True, cwd=ROOT)
        assert accepted.returncode == 0, accepted.stderr  # …then another process accepts a candidate
        app.screen.action_refresh_counts()  # the curator's `r`, while the first count still runs
        held.release.set()
        await settle_until(pilot, lambda: app.coverage is not None and candidate in app.coverage.members)


async def test_coverage_is_counted_once_at_startup_when_nothing_writes_meanwhile(tmp_path: Path,
                                                                                monkeypatch) -> None:
    """The dashboard asks for a count when it shows; the app's first count, under way, already reads the
    store as it is: no second count of 200k rows."""
    from curator.services import coverage

    db = build_db(tmp_path / "tui.db")
    calls = []
    real = coverage.live_coverage
    monkeypatch.setattr(coverage, "live_coverage", lambda store, cmap: calls.append(1) or real(store, cmap))
    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="dashboard")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle_until(pilot, lambda: app.coverage is not None)
        await settle(pilot)
        assert len(calls) == 1
        await pilot.press("r")
        await settle(pilot)
        assert len(calls) == 2, "r counts again"


async def test_a_seed_role_changed_in_the_app_while_coverage_is_counted_is_counted_again(tmp_path: Path,
                                                                                         monkeypatch) -> None:
    """The seeds screen writes on the app's own connection (no other connection's commit to notice):
    a polish seed made private during the count leaves coverage once counted again."""
    from curator.services import coverage
    from curator.services.seeds import change_role
    from curator.store import Store

    db = build_db(tmp_path / "tui.db")
    with Store(db, readonly=True) as store:
        seed = next(s.id for s in store.seeds(role="polish"))
    held = Held(coverage.live_coverage)
    held.armed = True
    monkeypatch.setattr(coverage, "live_coverage", held)
    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="dashboard")
    async with app.run_test(size=(80, 24)) as pilot:
        assert await asyncio.to_thread(held.reading.wait, WAIT_S)
        assert seed in held.result.members  # the count under way read it as counted
        change_role(app.store, seed, "eval")  # what the seeds screen does
        app.screen.action_refresh_counts()  # back on the dashboard, while the count still runs
        held.release.set()
        await settle_until(pilot, lambda: app.coverage is not None and seed not in app.coverage.members)
