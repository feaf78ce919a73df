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
def test_triage_filter_bar_and_prediction(snap_compare, db: Path, size: tuple[int, int]) -> None:
    """A filter typed in the bar (its count, `*` to decide all) and the predictor's estimate on the card."""
    from curator.services import triage
    from curator.store import Store

    with Store(db) as store:
        ids = triage.queue_ids(store)
        store.put_predictions("snap", [(i, p) for i, p in zip(ids, (0.91, 0.12, 0.64, 0.3, 0.5, 0.07))])

    async def filtered(pilot) -> None:
        await settle(pilot)
        await pilot.press("equals_sign")
        await pilot.pause()
        pilot.app.screen.query_one("Input").value = "verdict=fail predicted=0.6.."
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(triage_app(db), terminal_size=size, run_before=filtered)


@pytest.mark.parametrize("size", SIZES)
def test_triage_bulk_confirmation(snap_compare, db: Path, size: tuple[int, int]) -> None:
    """`*` then reject: the confirmation names the count, the reason, the filter and what it skips."""
    async def confirming(pilot) -> None:
        await settle(pilot)
        await pilot.press("asterisk")
        await pilot.pause()
        await pilot.press("down", "enter")
        await pilot.pause()
        await pilot.press("enter")  # the first configured reason
        await settle(pilot)

    assert snap_compare(triage_app(db), terminal_size=size, run_before=confirming)


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
