"""Snapshots of the screens that open over another, at 80x24 and 120x40: the candidate editor and the
seed editor (Persian, and hostile text shown as pictures), the generation form and its cost confirmation, the family chooser,
the augmentation confirmation with its cost, a failed job's raw response, the gate details view and
`?` help on the dashboard. Databases live in fixed folders so the paths on screen stay the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.config import Settings
from curator.tui.app import CuratorApp
from fake_messages_api import FakeMessagesAPI
from test_snapshots_screens import fixed_folder, ready
from test_tui_inert import hostile_db
from tui_fixtures import ROOT, build_db

SIZES = [(80, 24), (120, 40)]
SETTINGS = dict(prompts_dir=ROOT / "prompts", bidi="app")

# name: (database, first screen, keys pressed once it has settled)
MODALS = {
    "candidate-editor": ("persian", "triage", ["e"]),
    "candidate-editor-hostile": ("hostile", "triage", ["e"]),
    "seed-editor": ("persian", "seeds", ["e"]),
    "seed-editor-hostile": ("hostile", "seeds", ["e"]),
    "generate-form": ("persian", "jobs", ["g"]),
    "generate-cost-confirmation": ("persian", "jobs", ["g", "ctrl+s"]),
    "family-chooser": ("persian", "passages", ["space", "down", "space", "g"]),
    "augment-confirmation": ("persian", "dashboard", ["A"]),
    "job-raw-response-hostile": ("hostile", "jobs", ["tab", "enter"]),
    "help-dashboard": ("persian", "dashboard", ["question_mark"]),
}


@pytest.fixture(scope="module")
def databases() -> dict[str, Path]:
    return {"persian": build_db(fixed_folder("modals-persian") / "persian.db"),
            "hostile": hostile_db(fixed_folder("modals-hostile"))}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", list(MODALS))
def test_modal(snap_compare, databases: dict[str, Path], name: str, size: tuple[int, int], monkeypatch) -> None:
    database, start, keys = MODALS[name]

    async def opened(pilot) -> None:
        await ready(pilot)
        for key in keys:
            await pilot.press(key)
            await ready(pilot)

    app = CuratorApp(databases[database], Settings(**SETTINGS), start=start)
    app.NOTIFICATION_TIMEOUT = 24 * 3600  # a toast (augment's "planning…") stays: its expiry would depend on speed
    with FakeMessagesAPI() as api:  # the server is checked (and counts tokens) before the cost question
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
        monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
        assert snap_compare(app, terminal_size=size, run_before=opened)
