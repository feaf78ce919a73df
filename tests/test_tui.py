"""The terminal app driven for real: Pilot key flows against a real database file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from curator.config import Settings
from curator.store import Store
from curator.tui.app import CuratorApp
from curator.tui.screens.prompt import ChooseScreen
from curator.tui.screens.triage import TriageScreen
from curator.tui.widgets.rtl import RtlText
from tui_fixtures import ROOT, build_db, settle


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build_db(tmp_path / "tui.db")


def app_for(db: Path, start: str = "triage", **settings) -> CuratorApp:
    return CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app", **settings), start=start)


def screen_text(app) -> str:
    return "\n".join(str(w.render()) for w in app.screen.query("Static, RtlText, ConversationView"))


async def test_accept_reject_skip_undo(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TriageScreen) and screen.card is not None
        first = screen.card.example.id
        await pilot.press("a", "a")  # this card fails a gate: the first a warns, the second accepts
        second = screen.card.example.id
        await pilot.press("x")
        third = screen.card.example.id
        await pilot.press("space")
        assert screen.card.example.id not in (first, second, third)
        with Store(db) as store:  # another connection sees every decision already
            assert store.example(first).state == "accepted"
            assert store.example(second).state == "rejected"
            actions = [d.action for d in store.decisions()]
            assert actions == ["accept", "reject", "skip"]
            assert all(d.seconds is not None for d in store.decisions())
        await pilot.press("backspace")  # undoes the skip
        await pilot.press("backspace")  # undoes the reject, and shows that candidate again
        assert screen.card.example.id == second
        with Store(db) as store:
            assert store.example(second).state == "gated"
            assert [d.action for d in store.decisions()][-2:] == ["undo", "undo"]
        await pilot.press("a")
        if screen.confirming == second:  # a gate fails it: the first a warns, the second accepts
            await pilot.press("a")
        with Store(db) as store:
            assert store.example(second).state == "accepted"
        assert "accepted #%d" % second in str(screen.query_one("#tally").render())


async def test_edit_saves_a_revision_and_runs_cheap_gates(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        original = app.screen.card.example
        await pilot.press("e")
        await pilot.pause()
        editors = list(app.screen.query("TurnEditor"))
        area = editors[-1].query_one("TextArea")
        area.focus()
        await pilot.press("end", *" مثال تازه")
        await pilot.pause()
        preview = editors[-1].query_one(RtlText)
        assert "مثال تازه" in preview.text, "the preview follows what is typed"
        await pilot.press("a", "x")  # triage keys are inert while the editor has focus
        await pilot.press("ctrl+s")
        await settle(pilot)
        revision = app.screen.card.example
        assert revision.kind == "revision" and revision.parent_id == original.id
        assert revision.messages[-1].content.endswith("مثال تازهax")
        with Store(db) as store:
            assert store.example(original.id).messages == original.messages
            assert {v.gate for v in store.verdicts(revision.id)} >= {"format", "language", "length"}
            assert store.decisions(original.id)[-1].action == "edit"
            assert not [d for d in store.decisions() if d.action in ("accept", "reject")]


async def test_filters_and_queues(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        total = len(screen.ids)
        await pilot.press("F")
        await settle(pilot)
        family = screen.filters.family
        assert family and all(app.store.example(i).family == family for i in screen.ids)
        await pilot.press("c")
        await settle(pilot)
        assert len(screen.ids) == total
        await pilot.press("v", "v", "v")  # verdict filter: pass → flag → fail
        await settle(pilot)
        assert screen.filters.verdict == "fail"
        assert all(app.store.example(i).gate_status == "fail" for i in screen.ids)
        await pilot.press("c", "slash")
        await pilot.pause()
        await pilot.press(*"آپادانا", "enter")
        await settle(pilot)
        assert screen.filters.search == "آپادانا" and len(screen.ids) == 1
        await pilot.press("c", "w")
        await settle(pilot)
        assert screen.queue == "flagged"


async def test_untrusted_text_is_inert(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        target = next(i for i in screen.ids if "[bold]" in app.store.example(i).messages[0].content)
        screen.position = screen.ids.index(target)
        screen.show_current()
        await pilot.pause()
        text = screen_text(app)
        assert text.count("bold") >= 2, "markup tags are shown as text, not applied"
        assert "\x1b" not in text and "\u241b" in text, "escape sequences become visible placeholders"
        assert "\u2407" in text and "\x07" not in text


async def test_note_and_flag(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        example_id = app.screen.card.example.id
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"خوب است", "enter")
        await pilot.pause()
        await pilot.press("f")
        with Store(db) as store:
            notes = store.decisions(example_id)
            assert [(d.action, d.note) for d in notes] == [("note", "خوب است"), ("flag", None)]


async def test_seeds_in_each_role(db: Path) -> None:
    app = app_for(db, start="seeds")
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        before = app.store.count("examples", "kind = 'seed'")
        for role in ("fewshot", "eval", "polish"):
            await pilot.press("n")
            await pilot.pause()
            screen = app.screen
            screen.query_one("#role").value = role
            editors = list(screen.query("TurnEditor"))
            editors[1].query_one("TextArea").text = f"پرسش تازه برای نقش {role} دربارهٔ قید چیست؟"
            editors[2].query_one("TextArea").text = f"قید چگونگی کار را می‌گوید؛ نمونه برای {role}."
            await pilot.press("ctrl+s")
            await settle(pilot)
        roles = dict(app.store.conn.execute(
            "SELECT role, count(*) FROM examples WHERE kind = 'seed' AND messages LIKE '%پرسش تازه%' GROUP BY role"))
        assert roles == {"fewshot": 1, "eval": 1, "polish": 1}
        assert app.store.count("examples", "kind = 'seed'") == before + 3
        assert "fewshot" in str(app.screen.query_one("#targets").render())


async def test_seed_editor_reports_invalid_input(db: Path) -> None:
    app = app_for(db, start="seeds")
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await pilot.pause()
        app.screen.query("TurnEditor")[2].query_one("TextArea").text = "   "
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "not saved" in str(app.screen.query_one("#error").render())


async def test_a_new_seed_starts_empty_and_is_not_saved_untouched(db: Path) -> None:
    """`n` then `ctrl+s` with nothing typed stores nothing (the form once held a question and an answer that
    were saved as a few-shot seed, and exported)."""
    app = app_for(db, start="seeds")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = app.store.count("examples", "kind = 'seed'")
        await pilot.press("n")
        await pilot.pause()
        assert [e.text for e in app.screen.query("TurnEditor")] == ["", "", ""]
        await pilot.press("ctrl+s")
        await pilot.pause()
        error = app.screen.query_one("#error")
        assert "not saved: user turn 1: empty user turn" in str(error.render()), "the form's name, not messages.0"
        assert error.region.bottom <= 24 and error.region.height, "scrolled into sight, below the turns at 80x24"
        assert app.store.count("examples", "kind = 'seed'") == before
        keys = lambda: str(app.screen.query_one("KeyLine").render())  # noqa: E731
        assert "Edit as JSON" in keys() and "Add turns" in keys()
        await pilot.press("ctrl+j")
        await pilot.pause()
        assert app.screen.query_one("#json") and not app.screen.query("TurnEditor")
        assert "Edit as JSON" not in keys() and "Add turns" not in keys(), "as JSON: no form to go back to"
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert not app.screen.query("TurnEditor"), "no turn is added where it would not be saved"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "messages.0" in str(app.screen.query_one("#error").render()), "as JSON, the JSON's path"


async def test_typing_in_a_prefilled_dialog_adds_to_what_it_holds(db: Path) -> None:
    """Passages `T` holds the passage's tags: ",new" typed after them adds a tag (the value was selected, so
    the first key replaced every tag)."""
    app = app_for(db, start="passages")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        first = app.screen.current()
        app.store.update_passage(first.id, tags=["education"])
        app.screen.load()
        await settle(pilot)
        await pilot.press("T")
        await pilot.pause()
        await pilot.press(*",new", "enter")
        await settle(pilot)
        assert app.store.passage(first.id).tags == ["education", "new"]


async def test_passages_quality_and_queue_generation(db: Path) -> None:
    app = app_for(db, start="passages")
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        screen = app.screen
        first = screen.current().id
        await pilot.press("3")
        assert app.store.passage(first).quality == "reject"
        await pilot.press("space", "space")
        assert len(screen.marked) == 2
        await pilot.press("g")  # a list of the families, not free text
        await pilot.pause()
        families = sorted(app.families)
        assert isinstance(app.screen, ChooseScreen) and app.screen.items == families
        await pilot.press(*["down"] * families.index("passage_qa"), "enter")
        await pilot.pause()
        jobs = app.store.jobs("family = 'passage_qa'")
        assert len(jobs) == 2 and {j.passage_id for j in jobs} == {first, first + 1}
        assert not screen.marked
        await pilot.press("g")  # the chooser starts on the family queued last; esc queues nothing
        await pilot.pause()
        assert app.screen.query_one("#items").highlighted == families.index("passage_qa")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and len(app.store.jobs("family = 'passage_qa'")) == 2
        await pilot.press("j")  # what the toast says: j, then g offers to send what was queued
        await settle(pilot)
        await pilot.press("g")
        await pilot.pause()
        form = app.screen
        assert (form.query_one("#family").value, form.query_one("#count").value) == ("passage_qa", "2")
        assert str(form.query_one("#queued").render()) == "queued, sent first: passage_qa 2"


async def test_jobs_start_and_pause(db: Path, monkeypatch) -> None:
    """Synchronised on the fake server, not on time: requests 3 and 4 are held there (two workers:
    each sends its next request only after committing the last, so jobs 1 and 2 are done) until the
    test has pressed `space`; then no new request is sent, and `space` again resumes."""
    import asyncio
    import threading

    from fake_messages_api import FakeMessagesAPI

    both_held, release = threading.Event(), threading.Event()
    held = []

    def hold(n: int, body: dict):
        if n in (3, 4):
            held.append(n)
            if len(held) == 2:
                both_held.set()
            assert release.wait(60)
        return None

    with FakeMessagesAPI() as api:
        api.fault_for = hold
        monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
        app = app_for(db, start="jobs")
        app.settings.teacher.concurrency = 2
        async with app.run_test(size=(140, 45)) as pilot:
            await pilot.pause()
            await pilot.press("g")
            await pilot.pause()
            app.screen.query_one("#family").value = "safety"  # the generation form
            app.screen.query_one("#count").value = "12"
            await pilot.press("ctrl+s")
            await settle(pilot)  # the estimate, then the question
            await pilot.pause()
            assert "12 requests" in app.screen.question
            await pilot.press("y")
            assert await asyncio.get_running_loop().run_in_executor(None, both_held.wait, 60)
            await pilot.press("space")
            release.set()
            await settle(pilot)
            await pilot.pause()
            done = app.store.count("jobs", "state = 'done' AND family = 'safety'")
            assert done == 4 and app.store.count("jobs", "state = 'queued' AND family = 'safety'") == 12 - done
            assert "paused" in str(app.screen.query_one("#progress").render())
            await pilot.press("space")  # resume
            await settle(pilot)
            await pilot.pause()
            assert app.store.count("jobs", "state = 'done' AND family = 'safety'") == 12
            assert "safety" in str(app.screen.query_one("#summary").get_row_at(0))


async def test_help_palette_and_bidi_toggle(db: Path) -> None:
    app = app_for(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert app.screen.query("#help-keys")
        await pilot.press("question_mark")
        await pilot.press("b")
        await pilot.pause()
        assert app.bidi_mode == "terminal"
        assert all(w.mode == "terminal" for w in app.screen.query("RtlText, ConversationView"))
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Accept", "Reject", "Undo", "Edit", "Triage", "Seeds"} <= set(commands)


async def test_keys_can_be_remapped(db: Path) -> None:
    app = app_for(db, keys={"triage.accept": "y"})
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        first = app.screen.card.example.id
        await pilot.press("y", "y")  # this card fails a gate: the first a warns, the second accepts
        assert app.store.example(first).state == "accepted"


def test_a_decision_survives_a_kill_right_after_the_keypress(db: Path, tmp_path: Path) -> None:
    script = tmp_path / "kill.py"
    script.write_text(textwrap.dedent(f"""
        import asyncio, os, signal, sys
        sys.path.insert(0, {str(ROOT / 'tests')!r})
        from pathlib import Path
        from curator.config import Settings
        from curator.tui.app import CuratorApp
        from tui_fixtures import settle

        async def main():
            app = CuratorApp(Path({str(db)!r}), Settings(prompts_dir=Path({str(ROOT / 'prompts')!r})), start="triage")
            async with app.run_test(size=(100, 30)) as pilot:
                await pilot.pause()
                await settle(pilot)
                await pilot.pause()
                print(app.screen.card.example.id, flush=True)
                await pilot.press("a", "a")  # this card fails a gate: the second a accepts
                os.kill(os.getpid(), signal.SIGKILL)

        asyncio.run(main())
    """), encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == -9
    accepted = int(out.stdout.split()[0])
    with Store(db) as store:
        assert store.example(accepted).state == "accepted"
        assert [d.action for d in store.decisions(accepted)] == ["accept"]


async def test_jobs_screen_runs_and_pauses_the_gates(db: Path, monkeypatch) -> None:
    """Synchronised on events, not time: the gate run is held inside its second batch until the
    test has pressed `space`, so the pause always lands mid-run (it raced a 0.6 s run before)."""
    import asyncio
    import threading

    from curator.services.gating import runner as runner_module
    from curator.jobs.procedural import run_procedural
    from tui_fixtures import FAMILIES

    with Store(db) as store:
        run_procedural(store, FAMILIES["school_math"], Settings(), limit=30)
    monkeypatch.setattr(runner_module, "BATCH", 3)
    real = runner_module.check_example
    calls = 0
    in_second_batch, paused = threading.Event(), threading.Event()

    def held_check(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 4:  # the first candidate of the second batch
            in_second_batch.set()
            assert paused.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(runner_module, "check_example", held_check)
    app = app_for(db, start="jobs")
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        await pilot.press("G")
        assert await asyncio.get_running_loop().run_in_executor(None, in_second_batch.wait, 30)
        await pilot.press("space")
        paused.set()
        await settle(pilot)
        await pilot.pause()
        assert "paused" in str(app.screen.query_one("#progress").render())
        left = app.store.count("examples", "state = 'new' AND kind = 'candidate'")
        assert 0 < left < 30
        await pilot.press("G")
        await settle(pilot)
        await pilot.pause()
        assert app.store.count("examples", "state = 'new' AND kind = 'candidate'") == 0
        progress = app.screen.query_one("#progress")  # the whole summary, each part on its lines
        said = str(progress.render())
        assert "checked" in said and "lexical set-level gates:" in said and "meaning:" in said
        assert progress.region.height >= len(said.splitlines()) >= 3, "no line of it is cut off (it had two)"
