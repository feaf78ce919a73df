"""Snapshots of the key line and `?` help over triage, at 80x24 and 120x40, with Persian content and
with hostile text."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.config import Settings
from curator.tui.app import CuratorApp
from test_tui_inert import hostile_db
from tui_fixtures import ROOT, build_db, settle

SIZES = [(80, 24), (120, 40)]


async def _ready(pilot) -> None:
    await pilot.pause()
    await settle(pilot)
    await pilot.pause()


async def _help(pilot) -> None:
    await _ready(pilot)
    await pilot.press("question_mark")
    await pilot.pause()


def _app(db: Path) -> CuratorApp:
    return CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="triage")


@pytest.mark.parametrize("size", SIZES)
def test_triage_key_line_persian(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(_app(build_db(tmp_path / "snap.db")), terminal_size=size, run_before=_ready)


@pytest.mark.parametrize("size", SIZES)
def test_triage_help_persian(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(_app(build_db(tmp_path / "snap.db")), terminal_size=size, run_before=_help)


@pytest.mark.parametrize("size", SIZES)
def test_triage_key_line_hostile(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(_app(hostile_db(tmp_path)), terminal_size=size, run_before=_ready)
