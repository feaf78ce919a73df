"""Right to left on the screens (issue #12): Persian table cells and rule text through the pipeline,
the `b` toggle redrawing them, and the BDSM sequences the app sends the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.drivers.headless_driver import HeadlessDriver

from curator.config import Settings
from curator.display.rtl import reorder, shape
from curator.store import Store
from curator.tui.app import BDSM_EXPLICIT, BDSM_IMPLICIT, CuratorApp
from curator.tui.widgets.rtl import RtlText
from tui_fixtures import ROOT, build_db, settle


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build_db(tmp_path / "rtl.db")


def app_for(db: Path, start: str, bidi: str = "app") -> CuratorApp:
    return CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi=bidi), start=start)


def visual(text: str) -> str:
    return reorder(shape(text), True)


async def test_seeds_first_turn_column_goes_through_the_pipeline_and_follows_the_toggle(db: Path) -> None:
    with Store(db) as store:
        first = next(m.content for m in store.example(1).messages if m.role == "user")
    beginning = " ".join(first.split()[:2])
    app = app_for(db, "seeds")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#seed-table")
        drawn = str(table.get_row_at(0)[-1])
        assert visual(beginning) in drawn and beginning not in drawn
        await pilot.press("b")  # the terminal reorders now: the cell holds the logical text
        await settle(pilot)
        drawn = str(table.get_row_at(0)[-1])
        assert drawn.startswith(beginning) and visual(beginning) not in drawn


async def test_passages_rule_text_goes_through_the_pipeline(db: Path) -> None:
    app = app_for(db, "passages")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        rules = app.screen.query_one("#rules", RtlText)
        persian = next(w.strip("،") for line in app.screen.current().rules for w in line.split()
                       if "\u0600" <= w[0] <= "\u06ff")
        assert persian in rules.text  # the widget holds the logical text and draws it reordered
        drawn = str(rules.render())
        assert visual(persian) in drawn and persian not in drawn
        cell = app.screen.query_one("#passage-table").cells_at(0)[-1]
        assert cell and not any(word in cell for word in app.screen.current().text.split()[:3])


def bdsm_writes(monkeypatch) -> list[str]:
    sent: list[str] = []
    write = HeadlessDriver.write

    def record(self, data: str) -> None:
        if data in (BDSM_EXPLICIT, BDSM_IMPLICIT):
            sent.append(data)
        write(self, data)

    monkeypatch.setattr(HeadlessDriver, "write", record)
    return sent


async def test_bdsm_explicit_while_the_app_reorders_restored_on_exit(db: Path, monkeypatch) -> None:
    sent = bdsm_writes(monkeypatch)
    app = app_for(db, "triage")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert sent == ["\x1b[8l"]
        await pilot.press("b")  # the terminal reorders
        await pilot.press("b")  # the app again
        assert sent == ["\x1b[8l", "\x1b[8h", "\x1b[8l"]
    assert sent == ["\x1b[8l", "\x1b[8h", "\x1b[8l", "\x1b[8h"]


async def test_bdsm_is_restored_when_the_app_crashes(db: Path, monkeypatch) -> None:
    sent = bdsm_writes(monkeypatch)

    def crash(self) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(CuratorApp, "action_toggle_help", crash)
    app = app_for(db, "dashboard")
    with pytest.raises(RuntimeError, match="a bug"):
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            await pilot.press("question_mark")
            await pilot.pause()
    assert sent == ["\x1b[8l", "\x1b[8h"]


async def test_bdsm_untouched_while_the_terminal_reorders(db: Path, monkeypatch) -> None:
    sent = bdsm_writes(monkeypatch)
    app = app_for(db, "dashboard", bidi="terminal")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert sent == []
        await pilot.press("b")
        assert sent == ["\x1b[8l"]
    assert sent == ["\x1b[8l", "\x1b[8h"]


async def test_a_persian_database_name_in_the_header_goes_through_the_pipeline(tmp_path: Path) -> None:
    db = build_db(tmp_path / "داده‌ها.db")
    app = app_for(db, "dashboard")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.sub_title.startswith(reorder(shape("داده‌ها.db"), True)) and "داده‌ها.db" not in app.sub_title
        await pilot.press("b")  # the terminal reorders now: the name is sent in logical order
        await pilot.pause()
        assert app.sub_title.startswith("داده‌ها.db")


async def test_persian_coverage_cells_on_the_dashboard_are_reordered_once(db: Path) -> None:
    from curator.target_mix import Cell

    app = app_for(db, "dashboard")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        live = app.coverage
        cells = [Cell("grammar_tutor", "topic", "مضاف و مضاف‌الیه", target=250, count=3)]
        live.cells = lambda: cells  # a Persian cell value, as a `topic` dimension gives
        app.screen.show_coverage()
        await pilot.pause()
        drawn = str(app.screen.query_one("#coverage", RtlText).render())
        assert visual("مضاف و مضاف‌الیه") in drawn and "مضاف و مضاف‌الیه" not in drawn


async def test_a_family_without_a_target_is_neither_full_nor_thin_on_the_dashboard(db: Path) -> None:
    """As `curator coverage` says it (the dashboard drew "1/0 █████ full")."""
    from curator.target_mix import Cell

    app = app_for(db, "dashboard")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        live = app.coverage
        live.cells = lambda: [Cell("dialogue", "family", "dialogue", target=0, count=1),
                              Cell("grammar_tutor", "family", "grammar_tutor", target=4, count=4)]
        app.screen.show_coverage()
        await pilot.pause()
        drawn = str(app.screen.query_one("#coverage", RtlText).render()).splitlines()
        dialogue = next(line for line in drawn if line.startswith("dialogue"))
        assert dialogue.split()[1:2] == ["1/-"] and dialogue.endswith("no target") and "█" not in dialogue
        assert next(line for line in drawn if line.startswith("grammar_tutor")).endswith("full")


async def test_a_persian_answer_in_a_one_line_prompt_is_also_shown_as_it_reads(db: Path) -> None:
    app = app_for(db, "triage")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await pilot.pause()
        await pilot.press(*"تاریخ ایران")
        await pilot.pause()
        preview = app.screen.query_one("#preview")
        assert preview.display and visual("تاریخ ایران") in str(preview.render())
        assert app.screen.query_one("#answer").value == "تاریخ ایران"  # the field keeps the logical text
        await pilot.press("ctrl+u")  # Latin only: nothing to reorder, no preview
        await pilot.press(*"numpy")
        await pilot.pause()
        assert not preview.display
