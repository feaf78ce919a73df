"""Snapshots of the dashboard's export list and of two exports compared (`D`), at 80x24 and 120x40: the
training rows added, removed and changed per family and cell, with the eval run that steered them. The
database lives in a fixed folder and the exports are made on a fixed day, so paths and versions stay the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.config import Settings
from curator.tui.app import CuratorApp
from test_snapshots_screens import fixed_folder, ready
from tui_fixtures import ROOT, build_exports_db

SIZES = [(80, 24), (120, 40)]
VIEWS = {"dashboard-exports": [], "export-diff": ["D"]}


@pytest.fixture(scope="module")
def database() -> Path:
    return build_exports_db(fixed_folder("exports") / "exports.db")[0]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("view", list(VIEWS))
def test_exports(snap_compare, database: Path, view: str, size: tuple[int, int]) -> None:
    async def opened(pilot) -> None:
        await ready(pilot)
        for key in VIEWS[view]:
            await pilot.press(key)
            await ready(pilot)

    app = CuratorApp(database, Settings(prompts_dir=ROOT / "prompts", bidi="app"))
    assert snap_compare(app, terminal_size=size, run_before=opened)
