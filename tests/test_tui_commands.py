"""The use cases with no key of their own are in the command palette, through the same services as
the CLI: typed in the real palette, answered in the prompt, run in a worker, the summary shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curator.config import Settings
from curator.services.audit import report, report_lines
from curator.store import Store
from curator.tui.app import CuratorApp
from tui_fixtures import command, settle_until, ROOT, build_db, settle


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build_db(tmp_path / "tui.db")


async def palette(pilot, title: str, answer: str | None) -> None:
    await command(pilot, title)
    if answer is not None:
        input_ = pilot.app.screen.query_one("#answer")
        input_.value = answer
        await pilot.press("enter")
    await settle(pilot)


async def test_import_a_corpus_and_estimate_from_the_palette(db: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "new.txt"
    corpus.write_text("گیاهان با نور خورشید غذا می‌سازند و اکسیژن آزاد می‌کنند. " * 20, encoding="utf-8")
    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="dashboard")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        with Store(db, readonly=True) as store:
            before = store.count_passages()
        await palette(pilot, "Import a corpus", str(corpus))
        assert app.last_result and "1 file," in app.last_result
        with Store(db, readonly=True) as store:
            assert store.count_passages() > before
            before = store.count_passages()
        rows = tmp_path / "rows.jsonl"  # a text field of another name, as `curator import rows.jsonl --field body`
        rows.write_text(json.dumps({"body": "ستاره‌ها از گاز داغ ساخته شده‌اند و نور خود را می‌تابانند. " * 20},
                                   ensure_ascii=False) + "\n", encoding="utf-8")
        await palette(pilot, "Import a corpus", f"{rows} --field body")
        assert app.last_result.startswith("1 file, 1 passage added"), app.last_result
        await palette(pilot, "Estimate generation cost", "passage_qa 3")
        assert "dry run" in app.last_result and "nothing was sent" in app.last_result
        await palette(pilot, "Gate report", None)
        assert "format" in app.last_result and app.screen.__class__.__name__ == "RawScreen"
        with Store(db, readonly=True) as store:
            table = report_lines(report(store))
        assert app.last_result.splitlines()[:len(table)] == table  # the same lines as `curator gate report`
        await palette(pilot, "List the private eval set", None)
        with Store(db, readonly=True) as store:
            items = store.current_eval_items()
        assert app.last_result.startswith(f"{len(items)} private eval item")
        assert all(f"#{i.id} {i.uid} " in app.last_result for i in items)  # the uid a harness's scores name


async def asked_again(pilot) -> tuple[str, str]:
    """(what the prompt holds, why) once a palette command's answer was refused and the prompt is back."""
    await settle_until(pilot, lambda: pilot.app.screen.__class__.__name__ == "PromptScreen")
    return pilot.app.screen.query_one("#answer").value, str(pilot.app.screen.query_one("#error").render())


async def test_a_bad_answer_is_asked_again_with_why_and_the_app_goes_on(db: Path) -> None:
    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="dashboard")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await palette(pilot, "Estimate generation cost", "no_such_family 3")
        typed, why = await asked_again(pilot)
        assert typed == "no_such_family 3", "what was typed is kept, to be corrected"
        assert why.startswith("a family is needed (known: ") and "Error" not in why
        pilot.app.screen.query_one("#answer").value = "passage_qa 3"
        await pilot.press("enter")
        await settle_until(pilot, lambda: app.last_result is not None)
        assert "dry run" in app.last_result and not app.errors
        await palette(pilot, "Override a gate verdict", "abc content maybe")
        assert (await asked_again(pilot)) == ("abc content maybe", "type: candidate-id gate pass|fail [note]")
        await pilot.press("escape")
        await palette(pilot, "Import seeds", "/no/such/file.jsonl")  # (the service's word on it: shown)
        await settle_until(pilot, lambda: "seeds added" in (app.last_result or ""))
        assert app.is_running and "/no/such/file.jsonl: cannot read" in app.last_result


async def test_embed_from_the_palette_and_the_report_shows_the_calibration(db: Path) -> None:
    from curator.models import Example, Message
    from curator.services.embed import pending
    from curator.text.normalize import key_hash

    with Store(db) as store:
        e = Example(kind="candidate", family="grammar_tutor", task_type="explanation",
                    messages=[Message(role="user", content="نهاد در جملهٔ «باران بارید» کدام است؟"),
                              Message(role="assistant", content="«باران» نهاد است.")])
        e.key_hash = key_hash("new for embedding")
        store.add_example(e)
        assert pending(store) == 1
    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="dashboard")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await palette(pilot, "Embed for the meaning gates", "")
        assert app.last_result.startswith("embedded 1 example in")
        with Store(db, readonly=True) as store:
            assert pending(store) == 0
        await palette(pilot, "Gate report", None)
        # The figures are the model's (tests/test_meaning.py checks them); the app shows them.
        assert "on the labelled Persian set" in app.last_result
        assert "decontam_meaning" in app.last_result and "recall" in app.last_result


async def test_an_import_from_the_palette_fills_the_empty_dashboard(tmp_path: Path) -> None:
    corpus = tmp_path / "new.txt"
    corpus.write_text("گیاهان با نور خورشید غذا می‌سازند و اکسیژن آزاد می‌کنند. " * 20, encoding="utf-8")
    app = CuratorApp(tmp_path / "empty.db", Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="dashboard")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.has_class("empty")
        await palette(pilot, "Import a corpus", str(corpus))
        table = app.screen.query_one("#counts")
        await settle_until(pilot, lambda: not app.screen.has_class("empty") and any(
            "passages" in str(table.get_row_at(i)) for i in range(table.row_count)))
        await pilot.press("E")  # a corpus and nothing to train on yet: said, and no empty version is written
        await settle_until(pilot, lambda: any("nothing to export yet" in n.message for n in app._notifications))
        assert app.is_running and not (tmp_path / "exports").exists()
