"""The jobs screen's generation worker: the same services as the CLI; an error is shown, never fatal."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.config import Settings
from curator.tui.app import CuratorApp
from curator.tui.screens.prompt import ConfirmScreen
from fake_messages_api import FakeMessagesAPI
from tui_fixtures import ROOT, build_db, settle, settle_until


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build_db(tmp_path / "tui.db")


async def _start(app: CuratorApp, pilot, request: str, *, asked: bool = True) -> None:
    family, count = request.split()
    await pilot.press("g")
    await pilot.pause()
    app.screen.query_one("#family").value = family  # the generation form: a family list and a count
    app.screen.query_one("#count").value = count
    await pilot.press("ctrl+s")
    await pilot.pause()
    await settle(pilot)  # the key and the estimate: the cost is asked about first
    await pilot.pause()
    if not asked:
        assert not isinstance(app.screen, ConfirmScreen), "no question about a run that cannot be sent"
        return
    assert isinstance(app.screen, ConfirmScreen) and "worst case $" in app.screen.question
    await pilot.press("enter")  # (never an answer: an enter typed ahead must not spend money)
    await pilot.pause()
    assert isinstance(app.screen, ConfirmScreen)
    await pilot.press("y")
    await pilot.pause()
    await settle(pilot)
    await pilot.pause()


async def test_a_generation_error_is_shown_and_the_next_run_works(db: Path, monkeypatch) -> None:
    with FakeMessagesAPI() as api:
        monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
        monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)  # (a compatible server needs no key)
        app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="jobs")
        async with app.run_test(size=(140, 45)) as pilot:
            await settle(pilot)
            # #24: the cost question came first, took y, and only then said the key was not set, with the
            # jobs left queued; now the key is checked first, and the app says how to set it or a server
            await _start(app, pilot, "safety 3", asked=False)
            progress = str(app.screen.query_one("#progress").render())
            assert "cannot generate safety" in progress and "ANTHROPIC_API_KEY is not set" in progress
            told = " ".join(n.message for n in app._notifications)
            assert "export ANTHROPIC_API_KEY=" in told and "ANTHROPIC_BASE_URL" in told, told
            assert app.is_running and api.requests == [] and app.store.count_jobs(family="safety") == 0
            monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
            monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
            await _start(app, pilot, "safety 3")
            assert "finished safety: 3 jobs done" in str(app.screen.query_one("#progress").render())
            assert app.store.count_jobs(state="done", family="safety") == 3 and len(api.requests) == 3
            await settle(pilot)  # the tables, read again after the run
            await pilot.pause()
            summary = app.screen.query_one("#summary")
            labels = [c.label.plain for c in summary.ordered_columns]
            rows = [dict(zip(labels, map(str, summary.get_row_at(i)))) for i in range(summary.row_count)]
            (row,) = [r for r in rows if (r["kind"], r["family"].strip(), r["state"]) == ("generate", "safety", "done")]
            jobs = app.store.jobs("state = 'done' AND family = 'safety'")
            assert int(row["cached"]) == sum(j.cache_read_tokens for j in jobs) > 0, "the prompt cache's reads"
            assert int(row["written"]) == sum(j.cache_write_tokens for j in jobs) > 0, "and writes"


async def test_enter_on_a_job_with_errors_shows_every_attempt(db: Path, monkeypatch) -> None:
    from fake_messages_api import Fault

    from curator.tui.screens.raw import RawScreen

    with FakeMessagesAPI() as api:
        api.faults.append(Fault.text("the first reply, broken"))
        monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
        app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="jobs")
        app.settings.teacher.concurrency = 1
        async with app.run_test(size=(140, 45)) as pilot:
            await settle(pilot)
            await _start(app, pilot, "safety 1")
            errors = app.screen.query_one("#errors")
            await settle_until(pilot, lambda: errors.row_count == 1)  # (the tables read after the run)
            errors.focus()
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, RawScreen)
            assert "attempt 1 (retry)" in app.screen.raw and "the first reply, broken" in app.screen.raw
            assert "attempt 2 (done)" in app.screen.raw


async def test_the_form_says_which_families_have_a_built_in_generator(db: Path) -> None:
    from curator.tui.screens.jobs import GenerateForm

    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("g")
        await pilot.pause()
        form = app.screen
        form.query_one("#family").value = "safety"
        form.query_one("#procedural").value = True
        await pilot.press("ctrl+s")
        await pilot.pause()
        error = str(form.query_one("#error").render())
        assert app.screen is form and "safety has no built-in generator" in error
        assert "school_math" in error and "tool_calling" in error
        assert app.store.count_jobs(family="safety") == 0
        before = app.store.count_jobs(state="done", family="school_math")
        form.query_one("#family").value = "school_math"
        await pilot.press("ctrl+s")
        await pilot.pause()
        await settle(pilot)
        await pilot.pause()
        assert not isinstance(app.screen, GenerateForm)
        assert app.store.count_jobs(state="done", family="school_math") == before + 10  # the form's count


async def test_a_run_that_costs_money_shows_its_cost_and_sends_nothing_when_declined(db: Path, monkeypatch) -> None:
    with FakeMessagesAPI() as api:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
        app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="jobs")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.press("g")
            await pilot.pause()
            app.screen.query_one("#family").value = "safety"
            app.screen.query_one("#count").value = "4"
            await pilot.press("ctrl+s")
            await pilot.pause()
            await settle(pilot)
            await pilot.pause()
            question = app.screen.question
            assert "Generate safety" in question and "4 requests" in question and "worst case $" in question
            await pilot.press("n")
            await pilot.pause()
            await settle(pilot)
            assert api.requests == [] and app.store.count_jobs(family="safety") == 0  # nothing sent or queued


async def test_the_procedural_box_reads_without_colour(tmp_path: Path) -> None:
    """The generate form's procedural box shows X when on and nothing when off (#23: it showed X both ways,
    only the colour differed)."""
    db = build_db(tmp_path / "tui.db")
    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="jobs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        box = app.screen.query_one("#procedural")
        assert "▐ ▌" in str(box.render()) and not box.value
        box.value = True
        await pilot.pause()
        assert "▐X▌" in str(box.render())
        box.value = False
        await pilot.pause()
        assert "▐ ▌" in str(box.render())
