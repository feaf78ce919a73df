"""Rough edges found trying triage as a new user at 80x24: a long accept warning is shown whole, triage's
messages go to its tally line (a toast would cover the gate lines), and under an open dialog the key line
offers the dialog's keys, not the screen's single letters (which would type into the dialog's field)."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.config import Settings
from curator.models import Example, Message
from curator.services.gating.runner import update_status
from curator.store import Store
from curator.tui.app import CuratorApp
from tui_fixtures import ROOT, build_db, settle, settle_until


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build_db(tmp_path / "edges.db")


def app_for(db: Path) -> CuratorApp:
    return CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="triage")


def text(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


def toasts(app) -> int:
    return len(app.screen.query("Toast"))


async def test_a_long_accept_warning_is_shown_whole_at_80x24(db: Path) -> None:
    gates = ("decontam_meaning", "dedup_meaning", "language", "faithfulness", "length")
    with Store(db) as store:
        bad = store.add_example(Example(kind="candidate", family="grammar_tutor", messages=[
            Message(role="user", content="پرسش"), Message(role="assistant", content="پاسخ")]))
        store.insert_verdicts([(bad, "format", "1", "pass", "ok", None, {})]
                              + [(bad, gate, "1", "fail", f"{gate}_problem", 0.9, {}) for gate in gates])
        update_status(store, [bad])
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.screen.ids.insert(0, bad)
        app.screen.position = 0
        app.screen.show_current()
        await pilot.press("a")
        await pilot.pause()
        shown = " ".join(line.strip() for line in text(app, "#tally").splitlines())
        assert all(gate in shown for gate in gates), shown
        assert "…" not in shown and shown.startswith("⚠ a again to accept")
        region = app.screen.query_one("#tally").region
        assert region.height >= 2 and region.bottom <= app.size.height


async def test_triage_says_what_happened_on_its_tally_line_not_in_toasts(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("backspace")  # nothing to undo
        await pilot.pause()
        assert "nothing to undo" in text(app, "#tally") and toasts(app) == 0
        await pilot.press("B")
        await pilot.pause()
        assert "blind mode" in text(app, "#tally") and toasts(app) == 0
        await pilot.press("x", "backspace")
        await pilot.pause()
        assert "undid reject" in text(app, "#tally") and toasts(app) == 0


async def test_under_a_dialog_the_key_line_offers_the_dialogs_keys(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        triage_keys = app.screen.query_one("KeyLine")
        assert "a Accept" in str(triage_keys.render())
        await pilot.press("X")  # the reason prompt: its field takes every letter
        await settle(pilot)
        line = str(triage_keys.render())
        assert "esc Cancel" in line and "a Accept" not in line and "x Reject" not in line and "d Dashboard" not in line
        await pilot.press("escape")
        await settle(pilot)
        assert "a Accept" in str(triage_keys.render())


async def test_a_key_that_cannot_act_says_why_until_the_next_card(db: Path) -> None:
    """A key with nothing to act on is never silent over SSH; its word passes once another card is drawn,
    and the last decision's line (with its undo) shows again."""
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press("x")  # a decision: its line stays
        await pilot.press("left", "left")
        await pilot.pause()
        assert text(app, "#tally").startswith("this is the first candidate of the queue")
        await pilot.press("right")
        await pilot.pause()
        assert text(app, "#tally").startswith("rejected #") and "first candidate" not in text(app, "#tally")
        await pilot.press("e")
        await settle_until(pilot, lambda: app.screen is not screen)
        await pilot.press("escape")
        await settle_until(pilot, lambda: app.screen is screen)
        assert text(app, "#tally").startswith("edit cancelled: nothing saved")
        screen.position = len(screen.ids)  # past the last card
        screen.show_current()
        for key in ("a", "e", "n", "X", "g"):
            screen.notice = ""
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is screen, f"{key} opened nothing"
            assert text(app, "#tally").startswith("no candidate here: the end of this queue (← goes back)"), key
        screen.ids, screen.position = [], 0
        screen.show_current()
        await pilot.press("a")
        await pilot.pause()
        assert "this queue is empty (w changes it, c clears the filters)" in text(app, "#tally")
        assert toasts(app) == 0
