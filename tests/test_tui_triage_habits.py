"""The triage habits on screen, key by key, at 80x24: progress, the last decision line, the warning
before accepting a failed candidate, reject reasons on 1-9, blind mode, the curator's flag queue, the
card's history and the gate details view."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curator.config import Settings, TriageSettings
from curator.services import triage
from curator.store import Store
from curator.tui.app import CuratorApp
from curator.tui.keys import keys_of
from tui_fixtures import ROOT, build_db, settle


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build_db(tmp_path / "habits.db")


def app_for(db: Path, **triage) -> CuratorApp:
    return CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app", triage=TriageSettings(**triage)),
                      start="triage")


def text(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


def on_screen(app, selector: str) -> bool:
    """The widget is drawn inside the terminal (not scrolled or pushed off at this size)."""
    region = app.screen.query_one(selector).region
    return region.height > 0 and region.bottom <= app.size.height and region.y >= 0


async def test_progress_and_the_last_decision_line_at_80x24(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        total = len(screen.ids)
        assert f"{total} left / {total}" in text(app, "#status") and on_screen(app, "#status")
        assert "0 decided since opening" in text(app, "#tally") and on_screen(app, "#tally")
        first = screen.card.example.id
        await pilot.press("x")
        assert f"{total - 1} left / {total}" in text(app, "#status")
        tally = text(app, "#tally")
        assert f"rejected #{first} · undo: ⌫" in tally and "1 decided since opening · median" in tally
        second = screen.card.example.id
        await pilot.press("space")  # a skip (or a flag) leaves the card undecided, in the queue: not counted
        assert f"skipped #{second}" in text(app, "#tally") and "1 decided" in text(app, "#tally")
        assert f"{total - 1} left / {total}" in text(app, "#status")
        await pilot.press("backspace", "backspace")
        assert f"undid reject of #{first}" in text(app, "#tally") and "0 decided" in text(app, "#tally")
        assert f"{total} left / {total}" in text(app, "#status")
        assert on_screen(app, "#verdicts") and on_screen(app, "#reasons")


async def test_accepting_a_failed_candidate_warns_and_needs_a_second_key(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        first = screen.card.example.id
        assert screen.card.accept_warnings(), "the fixture's first candidate fails the dedup gates"
        await pilot.press("a")
        assert screen.card.example.id == first and app.store.decisions(first) == []
        assert "⚠" in text(app, "#tally") and "dedup" in text(app, "#tally") and on_screen(app, "#tally")
        await pilot.press("l", "h")  # moving away cancels: back on it, `a` warns again
        assert "⚠" not in text(app, "#tally")
        await pilot.press("a")
        assert app.store.decisions(first) == []
        await pilot.press("a")
        assert [d.action for d in app.store.decisions(first)] == ["accept"]
        assert f"accepted #{first}" in text(app, "#tally") and "⚠" not in text(app, "#tally")
        clean = next(i for i in screen.ids[screen.position:] if not triage.load_card(app.store, i).accept_warnings())
        screen.position = screen.ids.index(clean)
        screen.show_current()
        await pilot.press("a")  # nothing to warn about: one key accepts
        assert [d.action for d in app.store.decisions(clean)] == ["accept"]


async def test_number_keys_reject_with_the_configured_reason_codes(db: Path) -> None:
    app = app_for(db, reasons=["wrong", "tone"])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert "reject: 1 wrong 2 tone" in text(app, "#reasons") and on_screen(app, "#reasons")
        first = screen.card.example.id
        await pilot.press("2")
        assert "rejected #%d (tone)" % first in text(app, "#tally")
        second = screen.card.example.id
        await pilot.press("9")  # no reason on 9: nothing is decided
        await pilot.pause()
        assert screen.card.example.id == second and app.store.decisions(second) == []
        assert "no reason on key 9" in text(app, "#tally"), "said on the tally line, not in a toast"
    with Store(db) as store:
        assert [(d.action, d.reason) for d in store.decisions(first)] == [("reject", "tone")]
        assert store.reject_reason_counts() == {"tone": 1}


async def test_blind_mode_hides_verdicts_until_the_curator_decides(db: Path) -> None:
    app = app_for(db, blind=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shown = text(app, "#verdicts")
        assert "hidden until you decide" in shown and "fail" not in shown and "near_duplicate" not in shown
        await pilot.press("g")
        await pilot.pause()
        details = "\n".join(w.text for w in app.screen.query("RtlText"))
        assert "Blind mode" in details and "keeper" not in details
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("x", "h")  # decided: back on it, its verdicts are shown
        assert "dedup fail" in text(app, "#verdicts")
        await pilot.press("l")
        assert "hidden until you decide" in text(app, "#verdicts")
        await pilot.press("B")  # blind mode off
        assert "hidden" not in text(app, "#verdicts") and "pass:" in text(app, "#verdicts")


async def test_the_flag_queue_and_the_cards_own_history(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        first = screen.card.example.id
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"check the verb", "enter")
        await pilot.pause()
        assert "note: check the verb" in text(app, "#history") and on_screen(app, "#history")
        await pilot.press("f")
        assert f"flagged #{first}" in text(app, "#tally")
        await pilot.press("m")
        await settle(pilot)
        assert screen.queue == "mine" and screen.ids == [first]
        assert "Flagged by me · 1 left / 1" in text(app, "#status")
        history = text(app, "#history")
        assert "flag" in history and "(+1, g)" in history, "at 80x24 the latest line, and how many more"
        await pilot.press("x")
        await pilot.press("m")
        await settle(pilot)
        assert screen.ids == [], "a decided flag leaves the queue"


async def test_every_gate_is_accounted_for_and_the_details_key_shows_the_evidence(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        gates = set(screen.card.verdicts)
        shown = text(app, "#verdicts")
        named = {g for g in gates if g in shown}
        more = [line for line in shown.splitlines() if line.startswith("+")]
        hidden = int(more[0].split()[0][1:]) if more else 0
        assert len(named) + hidden >= len(gates) and "dedup fail near_duplicate_of #" in shown
        await pilot.press("g")
        await pilot.pause()
        assert type(app.screen).__name__ == "EvidenceScreen"
        details = "\n".join(w.text for w in app.screen.query("RtlText"))
        assert all(f"{g}:" in details for g in gates) and '"keeper":' in details
        assert "this candidate" in details and "keeper #" in details, "the duplicate beside its keeper"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


async def test_arrow_keys_move_between_candidates_even_with_the_conversation_focused(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.query_one("#conversation").focus()
        await pilot.pause()
        first = screen.card.example.id
        await pilot.press("right")
        assert screen.card.example.id == screen.ids[1] != first
        await pilot.press("left")
        assert screen.card.example.id == first
        assert app.store.decisions(first) == []  # moving decides nothing
        await pilot.press("left")  # before the first: it stays, and says so
        assert screen.card.example.id == first and "first candidate" in text(app, "#tally")
        shown = {k.binding_id: k.label for k in keys_of(screen).screen}  # what `?` and the key line name
        assert shown["triage.next"] == "→/l" and shown["triage.previous"] == "←/h"


async def test_help_names_each_number_key_by_its_reason(db: Path) -> None:
    app = app_for(db, reasons=["wrong", "tone"])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shown = {k.binding_id: k.description for k in keys_of(app.screen).screen}
        assert shown["triage.reason1"] == "Reject: wrong" and shown["triage.reason2"] == "Reject: tone"
        assert shown["triage.reason3"] == "Reject: no reason set on 3"


async def test_a_card_without_a_source_passage_gives_its_room_to_the_conversation(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        heights = {}
        for example_id in screen.ids:
            screen.position = screen.ids.index(example_id)
            screen.show_current()
            await pilot.pause()
            with_passage = bool(screen.card.passage_text)
            assert screen.query_one("#passage-box").display == with_passage
            heights.setdefault(with_passage, screen.query_one("#conversation").region.height)
        assert set(heights) == {True, False}, "the fixture has cards with and without a passage"
        assert heights[False] > heights[True]
        assert on_screen(app, "#verdicts") and on_screen(app, "#reasons")


async def test_brackets_select_the_previous_and_next_turn_for_copying(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        view = app.screen.query_one("#turns")
        assert view.selected_message().role == "assistant", "the last prose turn is selected first"
        await pilot.press("left_square_bracket")
        assert view.selected_message().role == "user"
        await pilot.press("y")
        assert app.clipboard == view.selected_message().content
        await pilot.press("right_square_bracket")
        assert view.selected_message().role == "assistant"


async def test_t_filters_the_queue_by_passage_tag_and_c_clears_it(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        everything = list(screen.ids)
        assert screen.tags_list, "the fixture's passages have tags"
        await pilot.press("t")
        await settle(pilot)
        tag = screen.filters.tag
        assert tag == screen.tags_list[0] and f"tag={tag}" in text(app, "#filterbar")
        assert f"{len(screen.ids)} shown" in text(app, "#filterbar"), "the filter bar counts what it selects"
        with Store(db, readonly=True) as store:
            tagged = {p.id for p in store.passages() if tag in p.tags}
            assert all(store.example(i).passage_id in tagged for i in screen.ids)
        assert len(screen.ids) < len(everything)
        await pilot.press("c")
        await settle(pilot)
        assert screen.ids == everything and not app.screen.query_one("#filterbar").display


async def test_tool_calls_and_tool_schemas_are_indented_json_left_to_right(db: Path) -> None:
    from curator.tui.widgets.conversation import turn_blocks

    app = app_for(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        with Store(db, readonly=True) as store:
            with_tools = next(i for i in screen.ids if store.example(i).tools)
        screen.position = screen.ids.index(with_tools)
        screen.show_current()
        await pilot.pause()
        example = screen.card.example
        blocks = {label: (body, ltr) for label, body, ltr in turn_blocks(example)}
        body, ltr = blocks["tools"]
        assert ltr and body == json.dumps(example.tools, ensure_ascii=False, indent=2)
        calls = [(label, b) for label, (b, ltr) in blocks.items() if "tool call" in label]
        for label, b in calls:
            assert blocks[label][1] and b.startswith("{\n  "), "arguments as indented JSON"
        drawn = str(screen.query_one("#turns").render())
        name = example.tools[0]["function"]["name"]
        assert f'      "name": "{name}",' in drawn or f'"name": "{name}"' in drawn
        assert '  {' in drawn and '    "function": {' in drawn, "indentation kept, left to right"


async def test_in_blind_mode_the_accept_warning_names_no_gate(db: Path) -> None:
    app = app_for(db, blind=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.card.accept_warnings(), "the fixture's first candidate fails the dedup gates"
        await pilot.press("a")
        tally = text(app, "#tally")
        assert "blind: B shows which" in tally and "dedup" not in tally


def test_a_shortened_reason_legend_never_shows_two_reasons_alike() -> None:
    """At 80 columns in blind mode the nine default reasons are cut; unsupported and unsafe were both "uns"."""
    from curator.tui.screens.triage import one_line_legend

    reasons = ["wrong", "unnatural", "off_topic", "unsupported", "incomplete", "mixed_language", "bad_format",
               "unsafe", "duplicate"]
    for width in (80, 72, 60):
        line = one_line_legend(reasons, True, width)
        shown = line.removeprefix("rej: ").removesuffix(" · blind (B)").split()[1::2]
        assert len(shown) == 9 and len(set(shown)) == 9, line
        assert all(r.startswith(s) and len(s) >= 3 for r, s in zip(reasons, shown)), line
