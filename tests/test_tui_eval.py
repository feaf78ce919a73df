"""The eval loop in the app: the private eval set run from the palette (a worker, its summary and
scorecard shown), and the student's pass rate per family on the dashboard beside coverage (snapshots at
80x24 and 120x40, a bar per family that needs no colour to read)."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.config import Settings
from curator.services.evaluation import score_run
from curator.store import Store
from curator.tui.app import CuratorApp
from fake_chat_api import FakeChatAPI
from test_snapshots_screens import fixed_folder, ready
from tui_fixtures import FAMILIES, ROOT, build_db, settle, settle_until
from test_tui_commands import asked_again, palette
from curator.tui.commands import COMMANDS

SETTINGS = dict(prompts_dir=ROOT / "prompts", bidi="app")


def with_a_run(path: Path) -> Path:
    """The sample project with one eval run: every eval item answered with its reference, every other open
    answer judged right (the math item passes by its verifier)."""
    build_db(path)
    with Store(path) as store:
        run = store.add_eval_run(endpoint="http://127.0.0.1:8000/v1", model="student", api="openai",
                                 export_version="v1", params={})
        items = store.current_eval_items()
        for item in items:
            store.store_eval_answer(run, item.id, None, {"role": "assistant", "content": item.messages[-1].content},
                                    "{}")
        score_run(store, run, FAMILIES)
        pending = [item for item, scorer, passed, _, _ in store.eval_scores(run) if scorer == "judge" and passed is None]
        for n, item_id in enumerate(pending):
            store.set_eval_score(run, item_id, "judge", n % 2 == 0, "judged", {"reason": "ثابت"})
    return path


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_dashboard_shows_the_students_scorecard(snap_compare, size: tuple[int, int]) -> None:
    db = with_a_run(fixed_folder(f"eval-{size[0]}") / "eval.db")
    app = CuratorApp(db, Settings(**SETTINGS), start="dashboard")
    assert snap_compare(app, terminal_size=size, run_before=ready)


async def test_an_eval_run_from_the_palette(tmp_path: Path) -> None:
    db = build_db(tmp_path / "tui.db")
    with FakeChatAPI(script=lambda body: {"content": "پاسخ کوتاه دانش‌آموز به این پرسش این است که نمی‌دانم."}) as api:
        app = CuratorApp(db, Settings(**SETTINGS), start="dashboard")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await palette(pilot, "Run the private eval set", f"{api.url} student v2")
            await settle_until(pilot, lambda: app.last_result is not None)
            assert "eval run #1" in app.last_result and "answered" in app.last_result
            assert "still to be judged" in app.last_result, "open answers wait for a judge"
            assert app.last_progress == "asking the student: 5/5" and app.sub_title == "tui.db · bidi app"
            await pilot.press("escape")
            await settle(pilot)
            await pilot.app.switch_mode("dashboard")
            await settle_until(pilot, lambda: "student: eval run #1" in str(app.screen.query_one("#coverage").text))
            assert "student: eval run #1 (export v2)" in str(app.screen.query_one("#coverage").text)
        assert api.answered == 5  # the sample's five eval items, to this endpoint only


async def test_an_unreachable_student_is_a_message_and_the_app_goes_on(tmp_path: Path) -> None:
    db = build_db(tmp_path / "tui.db")
    app = CuratorApp(db, Settings(**SETTINGS), start="dashboard")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await palette(pilot, "Run the private eval set", "http://127.0.0.1:9/v1 student")
        await settle_until(pilot, lambda: bool(app.errors))
        assert "127.0.0.1:9/v1: cannot connect" in app.errors[-1]
        assert app.is_running
        await palette(pilot, "Run the private eval set", "http://127.0.0.1:9/v1 student --api gemini")
        assert (await asked_again(pilot))[1] == "--api is openai or anthropic, not 'gemini'"
        await pilot.press("escape")
        from fake_messages_api import FakeMessagesAPI

        with FakeMessagesAPI(responder=lambda body, n: {"note": "پاسخ"}) as api:  # a student behind Messages
            await palette(pilot, "Run the private eval set", f"{api.url} student --api anthropic")
            await settle_until(pilot, lambda: bool(api.requests) and "eval run #" in (app.last_result or ""))
        assert all(r["model"] == "student" for r in api.requests), "asked through the Messages API"


async def test_augment_on_the_dashboard_plans_for_the_cells_the_student_failed(tmp_path: Path) -> None:
    db = with_a_run(tmp_path / "eval.db")
    app = CuratorApp(db, Settings(**SETTINGS), start="dashboard")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle_until(pilot, lambda: app.screen.card is not None)
        await pilot.press("A")
        await settle_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        question = str(app.screen.question)
        assert "the cells the student failed in eval run #1" in question and "failing cells" in question
        await pilot.press("y")
        await settle(pilot)
    with Store(db, readonly=True) as store:
        steered = store.conn.execute("SELECT count(*) FROM jobs WHERE kind = 'generate' "
                                     "AND json_extract(params, '$.augment.eval_run') = '1'").fetchone()[0]
        families = {r[0] for r in store.conn.execute("SELECT DISTINCT family FROM jobs WHERE kind = 'generate'")}
    assert steered > 0 and families == {"safety", "student_support"}  # the two families it failed in


async def test_while_a_palette_command_runs_the_palette_offers_to_stop_it(tmp_path: Path) -> None:
    import asyncio
    import threading

    db = build_db(tmp_path / "tui.db")
    asked, release = threading.Event(), threading.Event()

    def held(body: dict) -> dict:
        asked.set()
        release.wait(30)  # the requests wait until the test has asked to stop
        return {"content": "پاسخ کوتاه دانش‌آموز به این پرسش این است که نمی‌دانم."}

    with FakeChatAPI(script=held) as api:
        app = CuratorApp(db, Settings(**SETTINGS), start="dashboard")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            titles = [c.title for c in app.get_system_commands(app.screen)]
            assert "Stop the running command" not in titles, "offered only while a command runs"
            app.run_service_command(next(c for c in COMMANDS if c.use.command == "eval run"), [api.url, "student"])
            assert await asyncio.to_thread(asked.wait, 30)
            titles = [c.title for c in app.get_system_commands(app.screen)]
            assert "Stop the running command" in titles
            app.action_stop_command()
            assert app.command_stop is not None and app.command_stop.is_set()
            release.set()
            await settle_until(pilot, lambda: app.last_result is not None)
            assert "eval run #1" in app.last_result and app.command_stop is None



async def test_the_palettes_eval_run_takes_the_commands_options_and_its_judge(tmp_path: Path, monkeypatch) -> None:
    """As `curator eval run`: --limit, the student's key from $STUDENT_API_KEY (never stored), --judge with the
    judge's endpoint and model (the open answers go there, through the real SDK), and the report written."""
    from fake_messages_api import FakeMessagesAPI

    monkeypatch.setenv("STUDENT_API_KEY", "student-secret")
    monkeypatch.setenv("JUDGE_API_KEY", "judge-secret")
    db = build_db(tmp_path / "tui.db")
    answer = {"content": "پاسخ کوتاه دانش‌آموز به این پرسش این است که نمی‌دانم."}
    with FakeChatAPI(script=lambda body: answer) as api, \
            FakeMessagesAPI(responder=lambda body, n: {"verdict": "fail", "reason": "پاسخ نداده است."}) as judge:
        app = CuratorApp(db, Settings(**SETTINGS), start="dashboard")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await palette(pilot, "Run the private eval set",
                          f"{api.url} student --limit 4 --judge --judge-endpoint {judge.url} --judge-model grader")
            await settle_until(pilot, lambda: app.last_result is not None or bool(app.errors))
            assert not app.errors, app.errors
            result = app.last_result
    assert api.answered == 4 and api.keys == ["Bearer student-secret"] * 4, "four items asked, with the student's key"
    assert judge.requests and all(r["model"] == "grader" for r in judge.requests), "open answers went to the judge"
    assert "judged" in result and "report: " in result
    report = db.parent / "evals" / "run-1" / "eval_report.md"
    assert report.is_file() and str(report) in result
    import sqlite3

    with sqlite3.connect(db) as conn:  # (read through SQLite: its write-ahead log included)
        dump = "\n".join(conn.iterdump())
    assert api.url in dump and "secret" not in dump, "the run names its endpoint; no key reaches the store"


async def test_the_palettes_eval_options_are_checked_before_the_student_is_asked(tmp_path: Path) -> None:
    db = build_db(tmp_path / "tui.db")
    with FakeChatAPI(script=lambda body: {"content": "پاسخ"}) as api:
        app = CuratorApp(db, Settings(**SETTINGS), start="dashboard")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await palette(pilot, "Run the private eval set", f"{api.url} student --limit many")
            assert (await asked_again(pilot)) == (f"{api.url} student --limit many",
                                                  "--limit takes a whole number from 1, not 'many'")
            await pilot.press("escape")
            await palette(pilot, "Run the private eval set", f"{api.url} student --judge --judge-api openai")
            assert (await asked_again(pilot))[1] == "--judge-api openai needs --judge-endpoint"
            await pilot.press("escape")
            assert app.is_running
        assert api.requests == [], "nothing was asked of the student"


async def test_the_palette_judges_the_latest_eval_runs_open_answers(tmp_path: Path) -> None:
    from fake_messages_api import FakeMessagesAPI

    import asyncio

    from curator.services.evaluation import StudentSettings, run_eval

    def answered(db: Path, url: str) -> int:  # (a run made as the command makes it, outside the app's loop)
        with Store(db) as store:
            run = run_eval(store, StudentSettings(endpoint=url, model="student")).run
            score_run(store, run, FAMILIES)
        return run

    db = build_db(tmp_path / "tui.db")
    with FakeChatAPI(script=lambda body: {"content": "پاسخ کوتاه دانش‌آموز."}) as api:
        run = await asyncio.to_thread(answered, db, api.url)
    with FakeMessagesAPI(responder=lambda body, n: {"verdict": "pass", "reason": "درست است."}) as judge:
        app = CuratorApp(db, Settings(**SETTINGS), start="dashboard")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await palette(pilot, "Judge an eval run", f"--endpoint {judge.url} --model grader")
            await settle_until(pilot, lambda: app.last_result is not None or bool(app.errors))
            assert not app.errors, app.errors
            assert "judged" in app.last_result and f"eval run #{run}" in app.last_result
    assert judge.requests and all(r["model"] == "grader" for r in judge.requests)
    with Store(db, readonly=True) as store:
        assert all(passed is not None for _, scorer, passed, _, _ in store.eval_scores(run) if scorer == "judge")


async def test_the_palettes_judge_names_its_own_options_when_refused(tmp_path: Path) -> None:
    db = build_db(tmp_path / "tui.db")
    app = CuratorApp(db, Settings(**SETTINGS), start="dashboard")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await palette(pilot, "Judge an eval run", "--api openai")
        assert (await asked_again(pilot)) == ("--api openai", "--api openai needs --endpoint"), "as `eval judge`"


async def test_a_count_that_ends_while_the_app_closes_is_dropped(tmp_path: Path) -> None:
    """The coverage count is a worker: it may end after the dashboard's widgets are gone (the app closing)."""
    app = CuratorApp(build_db(tmp_path / "tui.db"), Settings(**SETTINGS), start="dashboard")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await app.screen.query_one("#coverage").remove()
        app.refresh_dashboard_coverage()  # (it raised NoMatches, and the app failed)
        await pilot.pause()
        assert app.is_running
