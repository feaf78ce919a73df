"""Triage at scale in the app, key by key at 80x24: the filter bar and its count, a bulk decision over what
it shows (confirmed with its count and what it skips) and the one undo that takes it back, a bulk cut short
named and resumed, the predictor's estimate on the card (hidden in blind mode), the queue ordered by it, and
the predictor retrained in a worker as decisions arrive."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from curator.config import Settings, TriageSettings
from curator.models import Example, Message
from curator.services import bulk, triage
from curator.services.triage import Filters
from curator.store import Store
from curator.tui.app import CuratorApp
from tui_fixtures import ROOT, build_db, settle, settle_until


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build_db(tmp_path / "scale.db")


def app_for(db: Path, **settings) -> CuratorApp:
    return CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app", triage=TriageSettings(**settings)),
                      start="triage")


def text(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def type_filter(pilot, filter_text: str) -> None:
    await pilot.press("equals_sign")
    await pilot.pause()
    prompt = pilot.app.screen.query_one("Input")
    prompt.value = filter_text
    await pilot.press("enter")
    await settle(pilot)


async def test_the_filter_bar_names_the_filter_and_counts_what_it_selects(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not app.screen.query_one("#filterbar").display, "no filter: no bar"
        await type_filter(pilot, "verdict=fail")
        with Store(db, readonly=True) as store:
            failed = triage.queue_ids(store, filters=Filters(verdict="fail"))
        assert app.screen.ids == failed and len(failed) == 3
        bar = text(app, "#filterbar")
        assert bar == "filter verdict=fail\u200e · 3 shown · * decide all · = edit · c clear"
        await type_filter(pilot, "colour=red")
        assert pilot.app.screen.query_one("Input").value == "colour=red", "kept in the dialog, to be corrected"
        assert "KEY one of family" in text(app, "#error")
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.filters == Filters(verdict="fail"), "a wrong filter changes nothing"
        await type_filter(pilot, "search=دماوند")  # a Persian value keeps the count after it, where it belongs
        bar = text(app, "#filterbar")
        assert bar.startswith("filter search=") and f"\u200e · {len(app.screen.ids)} shown · " in bar, bar
        assert not bar.startswith(f"filter search={len(app.screen.ids)}"), bar
        await type_filter(pilot, "")
        assert not app.screen.query_one("#filterbar").display and len(app.screen.ids) == 6


async def bulk_over_shown(pilot, choice: int, reason: str | None = None) -> str:
    """`*`, pick the choice'th action, give the reason, and return the confirmation's question."""
    await pilot.press("asterisk")
    await pilot.pause()
    for _ in range(choice):
        await pilot.press("down")
    await pilot.press("enter")
    await pilot.pause()
    if reason is not None:
        pilot.app.screen.query_one("Input").value = reason
        await pilot.press("enter")
    await settle(pilot)
    return str(pilot.app.screen.query_one("#question").render())


async def test_a_bulk_reject_over_the_filter_is_confirmed_by_count_and_one_undo_takes_it_back(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await type_filter(pilot, "verdict=fail")
        shown = list(app.screen.ids)
        question = await bulk_over_shown(pilot, 1, "off_topic")
        assert question.startswith("Reject 3 candidates (reason off_topic) — verdict=fail")
        await pilot.press("y")
        await settle_until(pilot, lambda: app.screen.bulk_running is None and "bulk #1" in app.screen.last_line)
        assert text(app, "#tally").startswith("bulk #1: rejected 3 (off_topic) · undo: ⌫")
        with Store(db, readonly=True) as store:
            assert {store.example(i).state for i in shown} == {"rejected"}
            assert {store.decisions(i)[-1].reason for i in shown} == {"off_topic"}
        assert app.screen.ids == [], "the filter's pending candidates are decided"
        await pilot.press("backspace")
        await settle_until(pilot, lambda: app.screen.bulk_running is None and len(app.screen.ids) == 3)
        with Store(db, readonly=True) as store:
            assert {store.example(i).state for i in shown} == {"gated"}, "one undo: the whole bulk"


async def test_a_bulk_accept_skips_what_a_gate_fails_and_says_so(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        question = await bulk_over_shown(pilot, 0)
        assert question.startswith("Accept 3 candidates") and "3 failed by a gate (never bulk-accepted)" in question
        await pilot.press("n")
        await settle(pilot)
        with Store(db, readonly=True) as store:
            assert store.bulks() == [], "declined: nothing planned, nothing decided"


async def test_a_bulk_cut_short_is_named_and_r_resumes_it(db: Path) -> None:
    with Store(db) as store:
        with store.transaction():
            for i in range(bulk.PART + 20):
                store.add_example(Example(kind="candidate", family="grammar_tutor", messages=[
                    Message(role="user", content=f"پرسش {i}"), Message(role="assistant", content=f"پاسخ {i}")]))
        stop = threading.Event()
        cut = bulk.run(store, bulk.plan(store, "flag", Filters(family="grammar_tutor")),
                       progress=lambda done, total: stop.set(), cancel=stop)
        assert cut.finished_at is None
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        bar = text(app, "#filterbar")
        assert bar.startswith(f"⚠ bulk #{cut.id} flag stopped at 500 of {cut.planned:,}: R resumes it")
        said, tell = [], app.screen.tell
        app.screen.tell = lambda line: (said.append(line), tell(line))
        app.screen.action_resume_bulk()  # R…
        app.screen.action_resume_bulk()  # …and R again while it resumes: one bulk at a time
        await settle_until(pilot, lambda: app.screen.bulk_running is None and not app.screen.unfinished)
        assert "a bulk is running: wait for it" in said
        assert not app.screen.query_one("#filterbar").display
    with Store(db, readonly=True) as store:
        assert store.bulk(cut.id).done == cut.planned and store.unfinished_bulks() == []


async def test_the_card_shows_the_prediction_unless_blind_and_o_orders_by_it(db: Path) -> None:
    with Store(db) as store:
        ids = triage.queue_ids(store)
        store.put_predictions("test", [(ids[0], 0.91), (ids[1], 0.2), (ids[2], 0.55)])
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert text(app, "#verdicts").startswith("predicted: reject 0.91")
        await pilot.press("o")  # most uncertain first
        await settle(pilot)
        assert app.screen.ids[:3] == [ids[2], ids[1], ids[0]]
        assert "order: most uncertain first" in text(app, "#filterbar")
        await pilot.press("o")  # likeliest reject first
        await settle(pilot)
        assert app.screen.ids[:3] == [ids[0], ids[2], ids[1]]
    blind = app_for(db, blind=True)
    async with blind.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "predicted" not in text(blind, "#verdicts"), "blind mode hides the estimate until a decision"


def model(db: Path) -> str | None:
    with Store(db, readonly=True) as store:
        return store.prediction_model()


async def test_the_predictor_retrains_in_a_worker_as_decisions_arrive(db: Path) -> None:
    from test_predict import fill

    with Store(db) as store:
        truth = fill(store, 120)
        for example_id in list(truth)[:60]:
            triage.decide(store, example_id, "reject" if truth[example_id] else "accept")
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)  # on opening: the decisions are enough and no model exists, so it learns
        first = model(db)
        assert first is not None and app.screen.predictor_line.startswith(f"predictor {first}")
        for _ in range(25):  # 25 more decisions: a new model
            await pilot.press("x")
        await settle_until(pilot, lambda: model(db) != first)
        assert app.screen.card is None or app.screen.card.predicted is not None
