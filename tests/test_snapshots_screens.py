"""Snapshots of the dashboard, jobs, seeds and passages screens and of an empty database, at 80x24
and 120x40: with Persian content, and with hostile text (control codes in names, seeds, passages
and job errors). Databases are built in fixed folders so the paths the screens show stay the same."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from curator.config import Settings
from curator.tui.app import CuratorApp
from test_tui_inert import hostile_db
from tui_fixtures import ROOT, build_db, settle

SIZES = [(80, 24), (120, 40)]
SCREENS = ["dashboard", "jobs", "seeds", "passages"]
SETTINGS = dict(prompts_dir=ROOT / "prompts", bidi="app")


def fixed_folder(name: str) -> Path:
    folder = Path(tempfile.gettempdir()) / f"curator-snapshots-{name}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def persian_db() -> Path:
    return build_db(fixed_folder("persian") / "persian.db")


@pytest.fixture(scope="module")
def hostile() -> Path:
    return hostile_db(fixed_folder("hostile"))


async def ready(pilot) -> None:
    """Settled: workers done, and the jobs screen's tables loaded (it starts their worker only after
    its first paint, so one round of waiting may come too early on a busy machine)."""
    for round in range(100):
        await pilot.pause()
        await settle(pilot)
        jobs = pilot.app._screens.get("jobs")
        if round >= 1 and (jobs is None or jobs.overview is not None):
            break
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", SCREENS)
def test_persian(snap_compare, persian_db: Path, screen: str, size: tuple[int, int]) -> None:
    app = CuratorApp(persian_db, Settings(**SETTINGS), start=screen)
    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", SCREENS)
def test_hostile(snap_compare, hostile: Path, screen: str, size: tuple[int, int]) -> None:
    app = CuratorApp(hostile, Settings(**SETTINGS), start=screen)
    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_empty_database(snap_compare, size: tuple[int, int]) -> None:
    app = CuratorApp(fixed_folder(f"empty-{size[0]}") / "empty.db", Settings(**SETTINGS))
    assert snap_compare(app, terminal_size=size, run_before=ready)
