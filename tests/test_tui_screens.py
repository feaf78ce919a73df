"""The dashboard, jobs, seeds and passages screens: augmentation asks first, an empty database says how
to start, table rows open with enter, the seeds cursor stays on its row, the marked count is right."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from curator.config import Settings
from curator.coverage import CoverageMap
from curator.services import augment as augment_service
from curator.store import Store
from curator.tui.app import CuratorApp
from curator.tui.screens.prompt import ConfirmScreen
from tui_fixtures import FAMILIES, ROOT, build_db

SETTINGS = Settings(prompts_dir=ROOT / "prompts", bidi="app")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build_db(tmp_path_factory.mktemp("screens") / "built.db")


@pytest.fixture
def db(built: Path, tmp_path: Path) -> Path:
    """A fresh copy of the built database for each test (building it runs the gates: slow)."""
    copy = tmp_path / "screens.db"
    src, dst = sqlite3.connect(built), sqlite3.connect(copy)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    return copy


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_augment_from_the_dashboard_asks_with_count_and_cost(db: Path) -> None:
    with Store(db, readonly=True) as store:
        planned = augment_service.plan(store, CoverageMap.load(ROOT / "prompts" / "coverage.toml", FAMILIES),
                                       FAMILIES, SETTINGS)
        before = store.count_jobs()
    app = CuratorApp(db, SETTINGS)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("A")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        question = str(app.screen.query_one("#question", Static).render())
        assert f"{planned.jobs} jobs" in question and "worst case $" in question
        await pilot.press("n")
        await settle(pilot)
        assert app.store.count_jobs() == before, "declined: nothing queued"
        await pilot.press("A")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert app.store.count_jobs() - before == planned.jobs
        await pilot.press("q")


async def test_an_empty_database_says_how_to_start(tmp_path: Path) -> None:
    app = CuratorApp(tmp_path / "empty.db", SETTINGS)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.has_class("empty")
        text = str(app.screen.query_one("#empty", Static).render())
        for hint in ("curator import PATH", "curator seeds import FILE", "curator demo"):
            assert hint in text
        assert not app.screen.query_one("#counts", DataTable).display or not app.screen.query_one("#main").display
        await pilot.press("q")
