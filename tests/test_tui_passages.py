"""The Passages screen lists every passage however many there are (issue #23: it stopped at 2,000):
the list holds their ids and draws line by line, reading only the rows in view; the keys, the search
and the side panel work on the whole store."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.config import Settings
from curator.tui.app import CuratorApp
from curator.tui.widgets.line_table import LineTable
from curator.tui.widgets.rtl import RtlText
from tui_fixtures import ROOT, build_passages_db, settle

N = 200_000


@pytest.fixture(scope="module")
def big_db(tmp_path_factory) -> Path:
    return build_passages_db(tmp_path_factory.mktemp("big") / "passages.db", N, marker="ziggurat", every=1000)


def on_screen(table: LineTable) -> list[str]:
    """The table's lines as drawn now."""
    return [table.render_line(y).text for y in range(table.size.height)]


def listed_ids(table: LineTable) -> list[int]:
    return [int(line.split()[0]) for line in on_screen(table)[1:] if line.split() and line.split()[0].isdigit()]


async def test_every_passage_of_200k_is_listed_read_a_screen_at_a_time(big_db: Path) -> None:
    app = CuratorApp(big_db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="passages")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        table = screen.query_one("#passage-table", LineTable)
        info = lambda: str(screen.query_one("#info").render())  # noqa: E731
        assert "200,000 passages" in info()
        asked: list[int] = []
        fetch = table.fetch
        table.fetch = lambda ids: asked.extend(ids) or fetch(ids)

        await pilot.press("end")
        await pilot.pause()
        assert table.row_id == N and listed_ids(table)[-1] == N, "the last passage is on screen"
        with app.project.reader() as store:
            last = store.passage(N)
        assert screen.query_one("#passage-text", RtlText).text == last.text, "the side panel shows it"
        assert screen.current().id == N

        was = last.quality
        await pilot.press("3")  # a key on the 200,000th row writes it, redraws it and says what it did
        await pilot.pause()
        assert app.store.passage(N).quality == "reject"
        assert "reject" in on_screen(table)[-1]
        assert info().startswith(f"#{N} quality {was} → reject · 200,000 passages")
        await pilot.press("3")
        await pilot.pause()
        assert info().startswith(f"#{N} unchanged · ")

        await pilot.press("home")
        await pilot.pause()
        assert table.row_id == 1 and listed_ids(table)[0] == 1
        await pilot.press("pagedown")
        await pilot.pause()
        assert table.row_id == 1 + table.page == listed_ids(table)[0], "a page on, the cursor on the same line"
        assert len(asked) <= 4 * table.page, "only the rows in view were read"

        await pilot.press("slash")
        await pilot.pause()
        await pilot.press(*"ziggurat", "enter")
        await settle(pilot)
        assert "200 passages matching «ziggurat»" in info(), "the search runs over the whole store"
        assert listed_ids(table)[:3] == [1000, 2000, 3000]
        await pilot.press("end")
        await pilot.pause()
        assert table.row_id == N and listed_ids(table)[-1] == N
        assert "ziggurat" in screen.query_one("#passage-text", RtlText).text

        await pilot.press("slash")
        await pilot.pause()
        await pilot.press("ctrl+u", *"nothing-like-this", "enter")
        await settle(pilot)
        assert "0 passages matching «nothing-like-this»" in info() and table.row_id is None and screen.current() is None
        assert screen.query_one("#passage-text", RtlText).text == ""


async def test_a_reload_keeps_the_cursor_on_its_passage_and_a_failed_read_is_said_once(tmp_path: Path,
                                                                                      monkeypatch) -> None:
    from curator.store import StoreError
    from curator.tui.messages import DataChanged
    from curator.tui.screens import passages
    from tui_fixtures import build_db

    app = CuratorApp(build_db(tmp_path / "small.db"), Settings(prompts_dir=ROOT / "prompts", bidi="app"),
                     start="passages")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        table = screen.query_one("#passage-table", LineTable)
        await pilot.press("down", "down", "down")
        kept = table.row_id
        screen.post_message(DataChanged())  # a palette command changed the store: the list is read again
        await settle(pilot)
        assert table.row_id == kept and screen.current().id == kept

        def unreadable(store, ids):
            raise StoreError("the disk went away")

        monkeypatch.setattr(passages, "passages_by_id", unreadable)
        screen.post_message(DataChanged())  # the rows are read again when drawn, and now they cannot be
        await settle(pilot)
        assert "(cannot be read)" in on_screen(table)[1]
        assert sum("could not read the passages" in e for e in app.errors) == 1, app.errors
        assert screen.current() is None and screen.query_one("#passage-text", RtlText).text == ""


async def test_a_search_says_how_to_list_all_again_and_forgets_the_last_change(tmp_path: Path) -> None:
    from tui_fixtures import build_db

    app = CuratorApp(build_db(tmp_path / "s.db"), Settings(prompts_dir=ROOT / "prompts", bidi="app"),
                     start="passages")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        info = lambda: str(screen.query_one("#info").render())  # noqa: E731
        await pilot.press("2")
        await pilot.pause()
        assert info().startswith("#1 quality ")
        for typed, said in (("zzzz-not-there", "0 passages matching «zzzz-not-there» (/ empty: all) · 0 marked"),
                            ("", "37 passages · 0 marked (space marks, g queues jobs for them)")):
            await pilot.press("slash")
            await pilot.pause()
            app.screen.query_one("#answer").value = typed
            await pilot.press("enter")
            await settle(pilot)
            assert info().startswith(said), info()
