"""The triage screen over the triage service: a busy database never kills the app or moves the
card; an edit's revision takes its original's place; a reject can carry a reason code."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from curator.config import Settings
from curator.store import Store
from curator.tui.app import CuratorApp
from tui_fixtures import ROOT, build_db, settle


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build_db(tmp_path / "tui.db")


def app_for(db: Path) -> CuratorApp:
    return CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="triage")


def messages(app) -> list[str]:
    return [n.message for n in app._notifications]


def hold_write_lock(db: Path) -> sqlite3.Connection:
    """Another connection in the middle of a write transaction: the file's write lock is taken."""
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


async def test_a_busy_database_is_reported_and_the_card_stays(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.store.conn.execute("PRAGMA busy_timeout = 50")  # give up quickly instead of after 10 s
        screen = app.screen
        first = screen.card.example.id
        await pilot.press("a", "a")  # this card fails a gate: the first a warns, the second accepts
        second = screen.card.example.id
        assert second != first
        other = hold_write_lock(db)
        try:
            await pilot.press("x")
            await pilot.pause()
            assert app.is_running and screen.card.example.id == second, "the card stays"
            assert any("reject not saved" in m and "busy" in m for m in messages(app))
            await pilot.press("backspace")
            await pilot.pause()
            assert any("undo not saved" in m for m in messages(app))
            assert screen.card.example.id == second
        finally:
            other.execute("ROLLBACK")
            other.close()
        await pilot.press("x")
        assert screen.card.example.id != second
    with Store(db) as store:
        assert store.example(first).state == "accepted" and store.example(second).state == "rejected"
        assert [d.action for d in store.decisions()] == ["accept", "reject"]


async def test_a_busy_save_keeps_the_editor_open(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.store.conn.execute("PRAGMA busy_timeout = 50")
        original = app.screen.card.example.id
        await pilot.press("e")
        await pilot.pause()
        area = list(app.screen.query("TurnEditor"))[-1].query_one("TextArea")
        area.focus()
        await pilot.press("end", *" تازه")
        other = hold_write_lock(db)
        try:
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert type(app.screen).__name__ == "EditScreen"
            assert "not saved" in str(app.screen.query_one("#error").render())
        finally:
            other.execute("ROLLBACK")
            other.close()
        await pilot.press("ctrl+s")
        await settle(pilot)
        screen = app.screen
        revision = screen.card.example
        assert revision.kind == "revision" and revision.parent_id == original
        assert original not in screen.ids, "the original left the queue; its revision took its place"
        await pilot.press("a", "a")  # the revision ends without a full stop: the content gate fails it
    with Store(db) as store:
        assert store.example(original).superseded_by == revision.id
        assert store.example(revision.id).state == "accepted" and store.example(original).state != "accepted"


async def test_reject_with_a_reason_code(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        target = app.screen.card.example.id
        await pilot.press("X")
        await pilot.pause()
        await pilot.press(*"off_topic", "enter")
        await pilot.pause()
        assert app.screen.card.example.id != target
    with Store(db) as store:
        (decision,) = store.decisions(target)
        assert (decision.action, decision.reason) == ("reject", "off_topic")


async def test_a_row_that_no_longer_validates_is_named_not_fatal(db: Path) -> None:
    import json

    from curator.models import now_iso

    with Store(db) as store, store.transaction():
        bad = store.conn.execute(
            "INSERT INTO examples (kind, family, source_type, messages, state, gate_status, key_hash, created_at, uid, "
            "lineage) VALUES ('candidate', 'grammar_tutor', 'generated', ?, 'gated', 'fail', 'k', ?, 'u-bad', 'u-bad')",
            (json.dumps([{"role": "user", "content": ""}]), now_iso())).lastrowid
    app = app_for(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.position = screen.ids.index(bad)
        screen.show_current()
        await pilot.pause()
        assert screen.card is None and f"#{bad} cannot be shown" in screen.problem
        await pilot.press("a")  # nothing to decide on; the app stays up
        await pilot.press("right")
        assert app.is_running and screen.position == screen.ids.index(bad) + 1


async def test_a_typed_reason_becomes_a_code_and_a_bad_one_decides_nothing(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        target = app.screen.card.example.id
        await pilot.press("X")
        await pilot.pause()
        await pilot.press(*"Off Topic", "enter")  # the same code as off_topic, not a new one
        await pilot.pause()
        second = app.screen.card.example.id
        await pilot.press("X")
        await pilot.pause()
        await pilot.press(*"خیلی بد!", "enter")
        await pilot.pause()
        # refused where it was typed, and kept there to be corrected (the dialog closed and lost it)
        assert app.screen.query_one("Input").value == "خیلی بد!"
        assert "a reason code is up to 32 lowercase" in str(app.screen.query_one("#error").render())
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.card.example.id == second and app.store.decisions(second) == []
    with Store(db) as store:
        assert [(d.action, d.reason) for d in store.decisions(target)] == [("reject", "off_topic")]


async def test_the_reason_prompt_suggests_the_configured_reasons(db: Path) -> None:
    """`X` suggests the reason codes the curator configured (it used to suggest wrong_answer, which is not one)."""
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        reasons = app.screen.reasons
        await pilot.press("X")
        await pilot.pause()
        question = str(app.screen.question)
        assert "wrong_answer" not in question and ", ".join(reasons[:4]) in question


async def test_the_palette_names_the_reason_keys_and_only_beside_the_card(db: Path) -> None:
    """On triage the palette lists the number keys by their reasons, as `?` does (it used to say "Reject:
    reason 1"); from the dashboard it lists none: a reject from there would hit a card out of sight."""
    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="triage")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        first = app.settings.triage.reasons[0]
        assert f"Reject: {first}" in titles
        assert not any(t.startswith("Reject: reason") for t in titles)
        await pilot.press("d")
        await settle(pilot)
        assert not any(c.title.startswith("Reject") for c in app.get_system_commands(app.screen))


async def test_every_reason_key_is_listed_at_80x24(db: Path) -> None:
    """At 80 columns the reject legend lists all nine keys (the reasons shortened to fit; `?` names them
    whole), also after a resize on another screen (#23: 6–9 were cut)."""
    app = app_for(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        legend = str(app.screen.query_one("#reasons").render())
        reasons = app.screen.reasons
        assert app.screen.has_class("narrow") and len(legend) <= 80
        assert all(f"{n} {r[:3]}" in legend for n, r in enumerate(reasons, 1)), legend
