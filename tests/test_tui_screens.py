"""The dashboard, jobs, seeds and passages screens: augmentation asks first, an empty database says how
to start, table rows open with enter, the seeds cursor stays on its row, the marked count is right."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from curator.config import Settings
from curator.target_mix import CoverageMap
from curator.services import augment as augment_service
from curator.store import Store
from curator.tui.app import CuratorApp
from curator.tui.screens.prompt import ConfirmScreen
from curator.tui.widgets.line_table import LineTable
from tui_fixtures import FAMILIES, ROOT, build_db, settle, settle_until

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
        for hint in ("curator import PATH", "curator seeds import FILE", "curator demo", "Import a corpus"):
            assert hint in text
        assert not app.screen.query_one("#counts", DataTable).display or not app.screen.query_one("#main").display
        await pilot.press("q")


async def change_role(pilot) -> None:
    """r, the next role in the list, and yes if asked (a move into or out of the eval set)."""
    await pilot.press("r", "down", "enter")
    await pilot.pause()
    if isinstance(pilot.app.screen, ConfirmScreen):
        await pilot.press("y")


async def test_seeds_cursor_stays_on_its_row_after_role_change_and_edit_cancel(db: Path) -> None:
    app = CuratorApp(db, SETTINGS, start="seeds")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#seed-table", DataTable)
        await pilot.press("down", "down", "down")
        seed_id = table.get_row_at(3)[0]
        await change_role(pilot)
        await settle(pilot)
        assert table.cursor_row == 3 and table.get_row_at(table.cursor_row)[0] == seed_id
        await pilot.press("e")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.id == "seeds" or app.screen.__class__.__name__ == "SeedsScreen"
        assert table.cursor_row == 3
        await change_role(pilot)  # the next r changes the same seed's role again
        await settle(pilot)
        assert table.get_row_at(table.cursor_row)[0] == seed_id
        await pilot.press("q")


async def test_enter_on_the_seeds_table_edits_the_seed(db: Path) -> None:
    from curator.tui.screens.seeds import SeedEditScreen

    app = CuratorApp(db, SETTINGS, start="seeds")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#seed-table", DataTable)
        await pilot.press("down", "down")
        seed_id = int(table.get_row_at(2)[0])
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SeedEditScreen) and app.screen.seed.id == seed_id
        app.screen.query_one("#task").value = "changed_task"
        await pilot.press("ctrl+s")  # a new version: the cursor follows it, wherever its row is
        await settle(pilot)
        new_id = int(table.get_row_at(table.cursor_row)[0])
        assert new_id != seed_id and app.store.example(new_id).lineage == app.store.example(seed_id).lineage
        await pilot.press("q")


def test_the_jobs_screen_module_does_not_import_the_teacher_sdk() -> None:
    """The SDK's import takes seconds: the jobs screen loads it in a worker, never while it paints."""
    code = ("import sys, curator.tui.app, curator.tui.screens.jobs; "
            "assert 'anthropic' not in sys.modules, 'the SDK is imported with the screen'")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


async def test_jobs_screen_loads_behind_a_line_and_p_opens_passages(db: Path) -> None:
    from curator.tui.screens.jobs import JobsScreen
    from curator.tui.screens.passages import PassagesScreen

    app = CuratorApp(db, SETTINGS, start="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, JobsScreen)
        await settle(pilot)
        assert "idle" in str(app.screen.query_one("#progress", Static).render())
        assert app.screen.query_one("#summary", DataTable).row_count > 0
        await pilot.press("space")  # pause/resume moved off p: nothing to pause yet
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, PassagesScreen)
        await pilot.press("q")


async def test_the_generation_form_starts_a_procedural_run(db: Path) -> None:
    from textual.widgets import Checkbox

    from curator.tui.screens.jobs import GenerateForm

    app = CuratorApp(db, SETTINGS, start="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = app.store.count_jobs(family="school_math")
        await pilot.press("g")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, GenerateForm) and "school_math" in form.families
        form.query_one("#family").value = "school_math"
        form.query_one("#count").value = "0"
        await pilot.press("ctrl+s")
        assert app.screen is form and "at least 1" in str(form.query_one("#error", Static).render())
        form.query_one("#count").value = "2"
        form.query_one("#procedural", Checkbox).value = True
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.store.count_jobs(family="school_math") == before + 2
        await pilot.press("q")


async def test_passages_header_counts_the_marked_rows(db: Path) -> None:
    app = app_with(db, "passages")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        info = app.screen.query_one("#info", Static)
        table = app.screen.query_one("#passage-table", LineTable)
        assert "0 marked" in str(info.render())
        await pilot.press("space", "space")
        assert "2 marked" in str(info.render())
        assert [table.cells_at(i)[0] for i in range(2)] == ["●", "●"]
        await pilot.press("g")
        await pilot.pause()
        await pilot.press(*"passage_qa", "enter")
        await pilot.pause()
        assert "0 marked" in str(info.render()) and table.cells_at(0)[0] == " "
        assert table.labels == ["", "id", "quality", "text"], "80 wide: text room"
        await pilot.press("q")


def app_with(db: Path, start: str) -> CuratorApp:
    return CuratorApp(db, SETTINGS, start=start)


def on_an_eval_seed(app: CuratorApp) -> tuple[DataTable, int, int]:
    """Put the seeds table's cursor on a private eval seed: (the table, its row, its id)."""
    table = app.screen.query_one("#seed-table", DataTable)
    ids = [int(table.get_row_at(i)[0]) for i in range(table.row_count)]
    row = next(i for i, seed_id in enumerate(ids) if app.screen.by_id[seed_id].role == "eval")
    table.move_cursor(row=row)
    return table, row, ids[row]


async def test_moving_a_seed_out_of_the_private_eval_set_asks_first(db: Path) -> None:
    app = CuratorApp(db, SETTINGS, start="seeds")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table, row, seed_id = on_an_eval_seed(app)
        await pilot.press("r", "down", "enter")  # eval → polish
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and "leaves the private eval set" in app.screen.question
        await pilot.press("n")
        await settle(pilot)
        assert app.store.example(seed_id).role == "eval" and table.cursor_row == row
        await pilot.press("r", "down", "enter", "y")
        await settle(pilot)
        assert app.store.example(seed_id).role == "polish"
        await pilot.press("r", "up", "up", "enter")  # polish → fewshot stays out of the eval set: no question
        await settle(pilot)
        assert app.store.example(seed_id).role == "fewshot" and not isinstance(app.screen, ConfirmScreen)
        assert [d.note for d in app.store.decisions(seed_id)] == ["eval → polish", "polish → fewshot"]


async def test_the_seed_editor_asks_before_saving_an_eval_item_as_training_material(db: Path) -> None:
    from curator.tui.screens.seeds import SeedEditScreen

    app = CuratorApp(db, SETTINGS, start="seeds")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        _table, _row, seed_id = on_an_eval_seed(app)
        await pilot.press("e")
        await settle(pilot)
        editor = app.screen
        editor.query_one("#role").value = "fewshot"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and "leaves the private eval set" in app.screen.question
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is editor and app.store.example(seed_id).role == "eval"  # nothing saved, still editing
        await pilot.press("ctrl+s", "y")
        await settle(pilot)
        assert not isinstance(app.screen, SeedEditScreen)
        assert app.store.example(seed_id).superseded_by is not None
        assert app.store.example(app.store.example(seed_id).superseded_by).role == "fewshot"


async def test_the_dashboard_counts_coverage_again_when_the_store_changed_elsewhere(db: Path) -> None:
    from curator.services.seeds import change_role

    app = CuratorApp(db, SETTINGS, start="dashboard")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        polish = next(c.count for c in app.coverage.cells() if c.family == "polish" and c.dimension == "family")
        with Store(db) as other:  # another process moves a few-shot seed to polish
            fewshot = next(s.id for s in other.seeds(role="fewshot"))
            change_role(other, fewshot, "polish")
        await pilot.press("r")

        def polish_now() -> int:
            return next(c.count for c in app.coverage.cells() if c.family == "polish" and c.dimension == "family")

        await settle_until(pilot, lambda: polish_now() == polish + 1)
        now = polish_now()
        assert f"{now:>5}/" in app.screen.query_one("#coverage").text
