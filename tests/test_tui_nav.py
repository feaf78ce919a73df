"""Navigation: the key line of each screen, `?` help, the command palette and the screens as modes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.cells import cell_len

from curator.config import Settings
from curator.store import Store
from curator.tui.app import CuratorApp
from curator.tui.screens.help import HelpScreen
from curator.tui.widgets.keyline import KeyLine
from tui_fixtures import ROOT, build_db, command, settle, settle_until


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return build_db(tmp_path_factory.mktemp("nav") / "nav.db")


@pytest.fixture
def fresh_db(tmp_path: Path) -> Path:
    return build_db(tmp_path / "nav.db")


def app_for(db: Path, start: str = "triage", **settings) -> CuratorApp:
    return CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app", **settings), start=start)


def key_line(app) -> list[str]:
    return str(app.screen.query_one(KeyLine).render()).split("\n")


# The first keys each screen's line must show at 80x24, in this order.
FIRST_KEYS = {
    "dashboard": ["r Refresh", "E Export", "A Augment"],
    "triage": ["a Accept", "x Reject", "X Reject reason", "␣ Skip", "⌫ Undo", "e Edit", "f Flag"],
    "seeds": ["n New", "e Edit", "r Role"],
    "passages": ["/ Search", "1 High", "2 Medium", "3 Reject"],
    "jobs": ["g Generate", "␣ Pause/resume", "G Gates", "r Refresh"],
}


async def test_each_screen_has_its_own_key_line_within_80_columns(db: Path) -> None:
    app = app_for(db, start="dashboard")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for name, first in FIRST_KEYS.items():
            app.action_open(name)
            await settle(pilot)
            lines = key_line(app)
            text = "  ".join(lines)
            assert 1 <= len(lines) <= 2 and all(cell_len(line) <= 80 for line in lines), lines
            positions = [text.index(item) for item in first]
            assert positions == sorted(positions), (name, text)
            assert lines[-1].endswith(("? keys", "? more")), lines
            title = name.capitalize()
            assert f"  {title}" not in text and not text.startswith(title), (name, text)  # not its own screen
        assert not app.screen.query("Footer")


async def test_a_dialog_with_a_key_line_of_its_own_is_not_given_a_second(db: Path) -> None:
    """The seed and candidate editors have their own key line; the line of the screen under them stays blank
    (it drew the same keys a second time)."""
    app = app_for(db, start="seeds")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        under = app.screen.query_one(KeyLine)
        await pilot.press("e")
        await settle(pilot)
        own = app.screen.query_one(KeyLine)
        assert own is not under and "^s Save" in own.render().plain
        assert under.render().plain.strip() == ""
        await pilot.press("escape")
        await settle(pilot)
        assert "e Edit" in under.render().plain


async def test_the_key_line_shows_remapped_keys(db: Path) -> None:
    app = app_for(db, keys={"triage.accept": "A", "app.help": "f1"})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = "  ".join(key_line(app))
        assert text.startswith("A Accept  x Reject") and "a Accept" not in text
        assert text.endswith("f1 more") and "? " not in text


async def test_the_accept_warning_names_the_remapped_key(db: Path) -> None:
    app = app_for(db, keys={"triage.accept": "A"})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        first = app.screen.card.example.id
        assert app.screen.card.accept_warnings(), "the fixture's first candidate fails the dedup gates"
        await pilot.press("A")
        tally = str(app.screen.query_one("#tally").render())
        assert f"⚠ A again to accept #{first}" in tally, tally
        await pilot.press("A")
        assert [d.action for d in app.store.decisions(first)] == ["accept"]


async def test_a_wide_terminal_shows_every_triage_key(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        text = "  ".join(key_line(app))
        for item in ("/ Search", "F Family", "v Verdict", "t Tag", "c Clear filters", "y Copy",
                     "[ Previous turn", "] Next turn"):
            assert item in text, text


async def test_screens_are_modes_and_keep_their_state(fresh_db: Path) -> None:
    app = app_for(fresh_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        triage = app.screen
        await pilot.press("a", "a")  # the first card fails a gate: accepting it takes a second `a`
        await pilot.press("l")  # the next card
        card, position = triage.card.example.id, triage.position
        await pilot.press("d")
        await settle(pilot)
        assert app.current_mode == "dashboard" and app.screen is not triage
        await pilot.press("s")
        await settle(pilot)
        assert app.current_mode == "seeds"
        await pilot.press("t")
        await settle(pilot)
        assert app.current_mode == "triage" and app.screen is triage
        assert triage.card.example.id == card and triage.position == position
        with Store(fresh_db, readonly=True) as store:
            assert [d.action for d in store.decisions()] == ["accept"]
        await pilot.press("e")  # a modal in triage: the screen keys wait until it is answered
        await pilot.pause()
        modal = app.screen
        await pilot.press("d")
        assert app.screen is modal and app.current_mode == "triage"


async def test_help_lists_this_screens_keys_first_and_scrolls(db: Path) -> None:
    app = app_for(db, keys={"triage.accept": "A"})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = re.sub(" +", " ", str(app.screen.query_one("#help-keys").render()))  # columns as one space
        order = ["Triage keys", "A Accept", "X Reject with a reason", "→/l Next", "F Family", "[ Previous turn",
                 "] Next turn", "Everywhere", "d Dashboard", "? Keys", "Textual's own", "Palette"]
        positions = [text.index(item) for item in order]
        assert positions == sorted(positions), text
        assert "a Accept" not in text
        scroll = app.screen.query_one("VerticalScroll")
        assert scroll.max_scroll_y > 0  # longer than 24 rows: scrolled, never cut
        await pilot.press("end")
        await pilot.pause()
        assert scroll.scroll_y == scroll.max_scroll_y
        await pilot.press("question_mark")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen) and app.current_mode == "triage"
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        text = str(app.screen.query_one("#help-keys").render())
        assert text.startswith("Dashboard keys\nr  Refresh\nE  Export") and "Accept" not in text
        assert text.index("A  Augment") < text.index("Everywhere") < text.index("t  Triage")
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_mode == "dashboard" and not isinstance(app.screen, HelpScreen)


async def test_keys_in_the_palette_opens_this_screens_help(db: Path) -> None:
    app = app_for(db, start="seeds")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await command(pilot, "Keys")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen) and not app.screen.query("HelpPanel")
        assert str(app.screen.query_one("#help-keys").render()).startswith("Seeds keys\nn  New")


def palette_titles(app) -> dict[str, str]:
    commands = list(app.get_system_commands(app.screen))
    titles = [c.title for c in commands]
    assert len(titles) == len(set(titles)), sorted(t for t in titles if titles.count(t) > 1)
    return {c.title: c.help for c in commands}


async def test_the_palette_holds_every_screens_commands_with_their_current_keys(db: Path) -> None:
    app = app_for(db, keys={"triage.accept": "A", "dashboard.export": "ctrl+e", "app.help": "f1"})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        commands = palette_titles(app)
        assert commands["Accept"] == "key A"
        assert commands["Export (dashboard)"] == "key ^e on dashboard"
        assert commands["Keys"] == "key f1"
        assert commands["New (seeds)"] == "key n on seeds"
        assert commands["Triage"].startswith("key t (here it is Tag")  # the screen's own t wins here
        assert "Import a corpus" in commands and "Theme" in commands
        await pilot.press("d")
        await settle(pilot)
        commands = palette_titles(app)
        assert commands["Export"] == "key ^e" and commands["Queue (triage)"] == "key w on triage"
        # What acts at once on the card, the passage or the job a screen shows is offered on that screen only:
        # from here it would decide what the curator cannot see.
        unseen = {"Accept", "Reject", "Skip", "Flag", "Note", "Copy", "Reject with a reason", "Reject: reason 1",
                  "High", "Mark", "Queue generation", "Pause/resume"}
        assert not {t.rsplit(" (", 1)[0] for t in commands if t.endswith(("(triage)", "(passages)", "(jobs)"))} & unseen
        assert "Edit (triage)" in commands and "Undo (triage)" in commands


async def test_export_from_the_triage_palette(tmp_path: Path, monkeypatch) -> None:
    db = build_db(tmp_path / "project" / "d.db")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the app was started from another folder
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await command(pilot, "Export (dashboard)")

        def exported() -> list[str]:
            return [n.message for n in app._notifications if n.message.startswith("exported ")]

        await settle_until(pilot, lambda: bool(exported()))  # (the export starts once the dashboard shows)
        assert app.current_mode == "dashboard"
        exported = exported()
    versions = list((db.parent / "exports").iterdir())
    assert len(versions) == 1 and not (elsewhere / "exports").exists(), "beside the database, not the folder"
    assert str(versions[0]) in exported[0].replace("\n", ""), "the path is shown"
