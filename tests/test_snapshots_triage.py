"""Snapshots of the triage screen at 80x24 and 120x40: a Persian card, a hostile card (control codes,
markup, bidi overrides shown as pictures), the warning before accepting a failed candidate, and the
gate details view (a copy of a seed; a duplicate beside the candidate that keeps it, with the word diff
and `k` to make the duplicate the keeper)."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.config import Settings
from curator.tui.app import CuratorApp
from test_tui_inert import hostile_db
from tui_fixtures import ROOT, build_db, build_duplicates_db, settle

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build_db(tmp_path / "snap.db")


def triage_app(db: Path) -> CuratorApp:
    return CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="triage")


@pytest.mark.parametrize("size", SIZES)
def test_triage_persian_card(snap_compare, db: Path, size: tuple[int, int]) -> None:
    assert snap_compare(triage_app(db), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_triage_hostile_card(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(triage_app(hostile_db(tmp_path)), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_triage_accept_warning(snap_compare, db: Path, size: tuple[int, int]) -> None:
    async def warned(pilot) -> None:
        await settle(pilot)
        await pilot.press("a")  # the first card fails the dedup gates
        await pilot.pause()

    assert snap_compare(triage_app(db), terminal_size=size, run_before=warned)


@pytest.mark.parametrize("size", SIZES)
def test_triage_gate_details(snap_compare, db: Path, size: tuple[int, int]) -> None:
    async def details(pilot) -> None:
        await settle(pilot)
        await pilot.press("g")
        await pilot.pause()

    assert snap_compare(triage_app(db), terminal_size=size, run_before=details)


@pytest.mark.parametrize("size", SIZES)
def test_triage_duplicate_beside_its_keeper(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    db, _, copy = build_duplicates_db(tmp_path / "snap.db")

    async def details(pilot) -> None:
        await settle(pilot)
        while pilot.app.screen.card.example.id != copy:
            await pilot.press("right")
            await settle(pilot)
        await pilot.press("g")
        await settle(pilot)

    assert snap_compare(triage_app(db), terminal_size=size, run_before=details)
