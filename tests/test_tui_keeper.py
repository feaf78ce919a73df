"""Triage's gate details (`g`) on a duplicate: `k` makes this candidate the keeper of its cluster (it
passes its dedup gate, the former keeper fails naming it) and the triage card shows it; on a leak of the
eval set or a copy of a seed, `k` says why there is no keeper to swap and writes nothing."""

from __future__ import annotations

from pathlib import Path

from curator.config import Settings
from curator.store import Store
from curator.tui.app import CuratorApp
from curator.tui.screens.evidence import EvidenceScreen
from curator.tui.widgets.rtl import RtlText
from test_evidence import build as build_leaks
from tui_fixtures import ROOT, build_db, build_duplicates_db, settle


def app_for(db: Path) -> CuratorApp:
    return CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="triage")


async def open_details(pilot, example_id: int) -> EvidenceScreen:
    app = pilot.app
    await settle(pilot)
    while app.screen.card.example.id != example_id:
        await pilot.press("right")
        await settle(pilot)
    await pilot.press("g")
    await settle(pilot)
    assert isinstance(app.screen, EvidenceScreen)
    return app.screen


def texts(screen) -> list[str]:
    return [w.text for w in screen.query(RtlText)]


def messages(app) -> list[str]:
    return [n.message for n in app._notifications]


async def test_k_makes_the_duplicate_the_keeper_and_the_card_shows_it(tmp_path: Path) -> None:
    db, kept, copy = build_duplicates_db(tmp_path / "keeper.db")
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_details(pilot, copy)
        triage_screen = app.screen_stack[-2]
        assert triage_screen.card.verdicts["dedup"]["verdict"] == "fail"
        assert "dedup fail" in str(triage_screen.query_one("#verdicts").render())
        shown = texts(screen)
        assert "this candidate" in shown and f"keeper #{kept}" in shown
        assert any(t.startswith("only here: ") and "مشخص" in t for t in shown), "the word diff"
        assert "k make this the keeper" in str(screen.query_one("VerticalScroll").border_subtitle)
        await pilot.press("k")
        await settle(pilot)
        assert app.screen is screen, "the details stay open, showing what changed"
        assert texts(screen)[0] == f"#{copy} is now the keeper; dedup: #{kept} now fails naming it"
        assert any('"chosen": true' in t for t in texts(screen))
        assert triage_screen.card.example.id == copy, "the card below stays"
        assert triage_screen.card.verdicts["dedup"]["verdict"] == "pass", "and shows its new verdict"
        assert triage_screen.card.example.gate_status == "pass"
        await pilot.press("k")  # again: nothing to swap
        await settle(pilot)
        assert any(m.startswith(f"no keeper to swap: #{copy} is already the keeper") for m in messages(app))
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is triage_screen
        assert "dedup fail" not in str(triage_screen.query_one("#verdicts").render())
    with Store(db) as store:
        verdicts = store.current_verdicts([kept, copy], gates=("dedup",))
        assert verdicts[kept]["dedup"]["verdict"] == "fail" and verdicts[kept]["dedup"]["detail"]["keeper"] == copy
        assert verdicts[copy]["dedup"]["verdict"] == "pass"
        assert [(d.action, d.example_id) for d in store.decisions()] == [("keeper", copy)]


async def test_k_on_a_leak_or_a_copy_of_a_seed_says_why_and_writes_nothing(tmp_path: Path) -> None:
    eval_id, leak, _, _ = build_leaks(tmp_path / "leak.db")
    app = app_for(tmp_path / "leak.db")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_details(pilot, leak)
        assert "make this the keeper" not in str(screen.query_one("VerticalScroll").border_subtitle)
        await pilot.press("k")
        await settle(pilot)
        assert any(m.startswith(f"no keeper to swap: #{leak}: it matches a private eval item") for m in messages(app))
    db = build_db(tmp_path / "seed.db")
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        copy = app.screen.card.example.id  # the first card copies a seed
        screen = await open_details(pilot, copy)
        assert "make this the keeper" not in str(screen.query_one("VerticalScroll").border_subtitle)
        await pilot.press("k")
        await settle(pilot)
        assert any("a seed is always kept" in m for m in messages(app))
    for path in (tmp_path / "leak.db", db):
        with Store(path) as store:
            assert store.decisions() == []
