"""Snapshots of Persian conversations in the triage screen, at 80x24 and at 160x48."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.config import Settings
from curator.tui.app import CuratorApp
from tui_fixtures import ROOT, build_db, settle


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build_db(tmp_path / "snap.db")


async def _ready(pilot) -> None:
    await pilot.pause()
    await settle(pilot)
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_triage_persian_conversation(snap_compare, db: Path, size: tuple[int, int]) -> None:
    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="triage")
    assert snap_compare(app, terminal_size=size, run_before=_ready)


def test_seeds_screen(snap_compare, db: Path) -> None:
    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="seeds")
    assert snap_compare(app, terminal_size=(120, 36), run_before=_ready)
