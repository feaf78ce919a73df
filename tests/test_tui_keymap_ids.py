"""`[keys]` in curator.toml remaps bindings by id: a misspelt id is named at start, not ignored."""

from __future__ import annotations

from pathlib import Path

from curator.config import Settings
from curator.tui.app import CuratorApp
from curator.tui.keys import binding_ids, unknown_binding_ids
from tui_fixtures import ROOT, build_db, settle


def test_every_screens_binding_ids_are_known() -> None:
    ids = binding_ids()
    assert {"triage.accept", "triage.reject", "dashboard.export", "jobs.gate", "seed.save", "app.quit"} <= ids
    assert unknown_binding_ids({"triage.accept": "y", "triage.acept": "y"}) == ["triage.acept"]


async def test_a_misspelt_binding_id_is_shown_at_start(tmp_path: Path) -> None:
    db = build_db(tmp_path / "keys.db")
    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app", keys={"triage.acept": "y",
                                                                                   "triage.reject": "z"}))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.is_running
        assert any("[keys]" in e and "'triage.acept'" in e for e in app.errors), app.errors
        assert not any("triage.reject" in e for e in app.errors)
