"""The dashboard lists the export versions (issue #23 item 4): `space` marks two, `D` compares them (or,
with none marked, the highlighted one against the one before it) in a modal that reads the curation logs
in a worker: per family and cell, the training rows added, removed and changed, with the eval run that
steered each."""

from __future__ import annotations

from pathlib import Path

from curator.config import ExportSettings, Settings
from curator.services.triage import Filters, decide, queue_ids
from curator.store import Store
from curator.tui.app import CuratorApp
from curator.tui.screens.dashboard import DashboardScreen
from curator.tui.screens.export_diff import ExportDiffScreen
from tui_fixtures import ROOT, build_db, build_exports_db, settle


def app_for(db: Path) -> CuratorApp:
    return CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"))


def rows(screen: ExportDiffScreen) -> dict[str, list[str]]:
    """{family or "family/cell": [added, removed, changed, steered by]} as shown."""
    table = screen.query_one("#diff")
    out, family = {}, ""
    for key in table.rows:
        name, *values = (str(v).strip() for v in table.get_row(key))
        if str(table.get_row(key)[0]).startswith("  "):
            name = f"{family}/{name}"
        else:
            family = name
        out[name] = values
    return out


def messages(app) -> list[str]:
    return [n.message for n in app._notifications]


async def test_d_compares_the_latest_export_with_the_one_before(tmp_path: Path) -> None:
    db, a, b = build_exports_db(tmp_path / "exports.db")
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        assert [e.version for e in dashboard.exports] == [b, a], "newest first"
        assert str(dashboard.query_one("#exports-title").render()) == "exports 2: ␣ marks, D diffs"
        await pilot.press("D")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ExportDiffScreen) and (screen.a, screen.b) == (a, b)
        shown = rows(screen)
        assert shown["tool_calling"] == ["2", "·", "·", "run 1: 2"], "added, steered by eval run 1"
        assert shown["tool_calling/tool_needed"] == ["1", "·", "·", "run 1: 1"]
        assert shown["student_support"][:3] == ["·", "1", "·"], "removed"
        assert shown["grammar_tutor"][:3] == ["·", "·", "1"], "a new version of a polish seed: changed"
        summary = str(screen.query_one("#diff-summary").render())
        assert summary == ("training rows, by lineage: 2 added, 1 removed, 1 changed; steered by eval run 1 "
                           "(2 rows)")
        assert b in str(screen.query_one("Vertical").border_title)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is dashboard


async def test_space_marks_the_two_to_compare(tmp_path: Path) -> None:
    db, a, b = build_exports_db(tmp_path / "exports.db")
    app = app_for(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        dashboard = app.screen
        await pilot.press("space")  # from the counts: the first space reaches the list and marks nothing
        assert app.focused is dashboard.query_one("#exports") and dashboard.marked == []
        await pilot.press("tab", "shift+tab")  # (tab reaches it too)
        assert app.focused is dashboard.query_one("#exports")
        await pilot.press("space")
        assert dashboard.marked == [b] and dashboard.mark_of(b) == "A"
        await pilot.press("down", "space")
        assert dashboard.marked == [b, a]
        table = dashboard.query_one("#exports")
        assert [str(table.get_row(v)[0]) for v in (a, b)] == ["A", "B"], "the older is A whatever the order marked"
        await pilot.press("D")
        await settle(pilot)
        assert isinstance(app.screen, ExportDiffScreen) and (app.screen.a, app.screen.b) == (a, b)
        await pilot.press("escape")
        await pilot.press("space")  # unmark the highlighted (A): one left
        assert dashboard.marked == [b]
        await pilot.press("up")
        await pilot.press("D")  # the marked one is the highlighted one
        assert any("the highlighted export is the one marked" in m for m in messages(app))


async def test_without_two_exports_d_says_why(tmp_path: Path) -> None:
    app = app_for(build_db(tmp_path / "none.db"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert str(app.screen.query_one("#exports-title").render()) == "exports: none (E writes one)"
        await pilot.press("D")
        await pilot.pause()
        assert not isinstance(app.screen, ExportDiffScreen)
        assert "no export yet" in messages(app)


async def test_an_export_folder_that_cannot_be_read_is_one_line(tmp_path: Path) -> None:
    db, a, b = build_exports_db(tmp_path / "broken.db")
    (db.parent / "exports" / a / "curation_log.jsonl").write_text("{not json\n", encoding="utf-8")
    app = app_for(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("D")
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, ExportDiffScreen)
        summary = str(app.screen.query_one("#diff-summary").render())
        assert summary.startswith("cannot compare: ") and "curation_log.jsonl:1: not valid JSON" in summary


async def test_e_with_too_many_rows_without_a_vector_says_how_many_and_how_to_embed_them(tmp_path: Path) -> None:
    db = build_db(tmp_path / "curator.db")
    with Store(db) as store:
        for example_id in queue_ids(store, filters=Filters(verdict="pass")):
            decide(store, example_id, "accept")
        with store.transaction():
            store.conn.execute("DELETE FROM embeddings")  # (as after an import of accepted rows, never gated)
    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app", export=ExportSettings(embed_limit=1)))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("E")
        await settle(pilot)
        (said,) = [m for m in messages(app) if "no sentence vector" in m]
        assert "rows the export may hold have no sentence vector yet" in said and "ctrl+p, then `embed`" in said
        assert not (db.parent / "exports").exists(), "nothing written"
