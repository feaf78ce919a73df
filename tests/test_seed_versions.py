"""Seeds as a service: an edit is a new version, a role change is logged, collisions are listed
(the CLI and the seeds screen use the same functions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from curator.config import Settings
from curator.services.seeds import SeedError, change_role, create_seed, edit_seed, import_seeds, list_seeds
from curator.store import Store
from curator.tui.app import CuratorApp
from curator.tui.screens.prompt import ConfirmScreen
from tui_fixtures import ROOT, settle

QUESTION = "در جملهٔ «باران آرام بارید» قید کدام است؟"
ANSWER = "«آرام» قید است، چون چگونگی باریدن را نشان می‌دهد."
EVAL_TEXT = "کوه دماوند بلندترین قلهٔ ایران است و در رشته‌کوه البرز قرار دارد."


def seed(role: str = "fewshot", question: str = QUESTION, answer: str = ANSWER, **extra) -> dict:
    return {"family": "grammar_tutor", "role": role, "task_type": "role_identification", **extra,
            "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]}


def test_an_edit_is_a_new_version_in_one_lineage(store: Store) -> None:
    first = create_seed(store, seed())
    second = edit_seed(store, first, seed(answer=ANSWER + " مثال دیگر: «تند رفت»."))
    old, new = store.example(first), store.example(second)
    assert (new.version, new.lineage, new.parent_id) == (2, old.lineage, first)
    assert old.superseded_by == second and new.superseded_by is None
    assert old.messages[1].content == ANSWER, "the old version is kept as it was"
    assert [s.id for s in store.seeds()] == [second] == [s.id for s in store.fewshot_seeds()]
    third = edit_seed(store, second, seed(task_type="error_correction"))  # the same text: still a new version
    assert store.example(third).version == 3 and [s.id for s in store.seeds()] == [third]
    assert [s.id for s in list_seeds(store).seeds] == [third]
    assert edit_seed(store, third, seed(task_type="error_correction")) == third, "saved unchanged: no version"


def test_an_edit_that_cannot_be_saved_writes_nothing(store: Store) -> None:
    first = create_seed(store, seed())
    other = create_seed(store, seed(question="فاعل جملهٔ «سارا خندید» کیست؟", answer="«سارا» فاعل است."))
    with pytest.raises(SeedError, match="already has this text"):
        edit_seed(store, other, seed())
    assert store.example(other).superseded_by is None and len(store.seeds()) == 2
    newer = edit_seed(store, first, seed(answer=ANSWER + " بله."))
    with pytest.raises(SeedError, match=f"replaced by #{newer}"):
        edit_seed(store, first, seed(answer="نسخهٔ کهنه"))
    with pytest.raises(SeedError, match="already has this text"):
        create_seed(store, seed(answer=ANSWER + " بله."))
    with pytest.raises(SeedError, match="role"):
        create_seed(store, seed(role="teacher"))


def test_a_seed_of_an_unknown_family_or_one_that_cannot_train_is_refused(store: Store, tmp_path: Path) -> None:
    """The export would drop a few-shot or polish seed that cannot train, and a family the project lacks has
    no cell: both are refused where the seed comes in (import names the line; the form says why)."""
    known = {"grammar_tutor", "dialogue"}
    no_answer = seed(answer="x")
    no_answer["messages"] = no_answer["messages"][:1]
    with pytest.raises(SeedError, match="unknown family 'nosuch'"):
        create_seed(store, seed(family="nosuch"), known)
    with pytest.raises(SeedError, match=r"a fewshot seed must be an example to train on \(no assistant answer\)"):
        create_seed(store, no_answer, known)
    with pytest.raises(SeedError, match="control characters"):
        create_seed(store, seed(role="polish", answer="پاسخ \x1b[2J"), known)
    kept = create_seed(store, seed(), known)
    assert edit_seed(store, kept, seed(answer=ANSWER + " بله."), {"dialogue"}), "its own family stays known"
    rows = tmp_path / "seeds.jsonl"
    rows.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in (
        seed(family="nosuch"), no_answer, {**no_answer, "role": "eval"}, seed(question="قید جملهٔ «تند دوید» چیست؟")))
        + "\n", encoding="utf-8")
    report = import_seeds(store, rows, families=known)
    assert (report.added, report.problems) == (2, [
        f"{rows}:1: family: unknown family 'nosuch' (known: dialogue, grammar_tutor)",
        f"{rows}:2: messages: a fewshot seed must be an example to train on (no assistant answer)"])


def test_a_role_change_is_logged_and_an_edited_eval_seed_stays_guarded(store: Store) -> None:
    first = create_seed(store, seed())
    assert change_role(store, first, "eval") == "fewshot"
    assert change_role(store, first, "eval") is None, "no change, nothing logged"
    assert [(d.action, d.note) for d in store.decisions(first)] == [("role", "fewshot → eval")]
    assert store.fewshot_seeds() == [] and [e.id for e in store.eval_examples()] == [first]
    second = edit_seed(store, first, seed(role="polish", answer=ANSWER + " دوباره."))
    assert [(d.action, d.note) for d in store.decisions(second)] == [("role", "eval → polish")]
    assert [e.id for e in store.eval_examples()] == [first], "the old eval version is still private"


def test_listing_shows_fewshot_seeds_that_hold_an_eval_item(store: Store, tmp_path: Path) -> None:
    items = tmp_path / "eval.jsonl"
    items.write_text(json.dumps({"messages": [{"role": "user", "content": "دماوند کجاست؟"},
                                              {"role": "assistant", "content": EVAL_TEXT}]}, ensure_ascii=False)
                     + "\n", encoding="utf-8")
    assert import_seeds(store, items, eval_items=True, families={"grammar_tutor"}).added == 1, "no family: 'eval'"
    named = tmp_path / "named.jsonl"
    named.write_text(json.dumps({"family": "nosuch", "messages": [{"role": "user", "content": "البرز کجاست؟"},
                                                                  {"role": "assistant", "content": "شمال ایران."}]},
                                ensure_ascii=False) + "\n", encoding="utf-8")
    refused = import_seeds(store, named, eval_items=True, families={"grammar_tutor"})
    assert (refused.added, refused.problems) == (0, [f"{named}:1: family: unknown family 'nosuch' (known: eval, "
                                                     "grammar_tutor)"]), "as a seed's: the scorecard reads it"
    clean = create_seed(store, seed())
    leaky = create_seed(store, seed(question="دربارهٔ دماوند بگو.", answer="بله: " + EVAL_TEXT))
    listing = list_seeds(store)
    assert [c.seed_id for c in listing.collisions] == [leaky]
    assert listing.counts == {"grammar_tutor": {"fewshot": 2}} and clean in {s.id for s in listing.seeds}
    change_role(store, leaky, "eval")
    assert list_seeds(store).collisions == []


def run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CURATOR_DB"}
    return subprocess.run([sys.executable, "-m", "curator", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_cli_seeds_list_and_check(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(json.dumps(seed(), ensure_ascii=False) + "\n" + json.dumps(
        seed(question="دربارهٔ دماوند بگو.", answer="بله: " + EVAL_TEXT), ensure_ascii=False) + "\n", encoding="utf-8")
    items = tmp_path / "eval.jsonl"
    items.write_text(json.dumps({"messages": [{"role": "user", "content": "دماوند کجاست؟"},
                                              {"role": "assistant", "content": EVAL_TEXT}]}, ensure_ascii=False)
                     + "\n", encoding="utf-8")
    assert run("seeds", "import", str(seeds), "--db", str(db)).returncode == 0
    clean = run("seeds", "check", "--db", str(db))
    assert clean.returncode == 0 and "0 few-shot seeds match" in clean.stdout
    assert run("eval", "import", str(items), "--db", str(db)).returncode == 0
    listed = run("seeds", "list", "--db", str(db))
    assert listed.returncode == 0 and "2 seeds listed" in listed.stdout and "v1" in listed.stdout
    assert "collision: few-shot seed #2" in listed.stderr
    check = run("seeds", "check", "--db", str(db))
    assert check.returncode == 3 and "few-shot seed #2 (grammar_tutor) matches private eval item #3" in check.stdout


async def test_the_seeds_screen_changes_roles_through_the_service_and_shows_collisions(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with Store(db) as store:
        first = create_seed(store, seed())
        leaky = create_seed(store, seed(question="دربارهٔ دماوند بگو.", answer="بله: " + EVAL_TEXT,
                                        difficulty="middle_school", topic="قید"))
        items = tmp_path / "eval.jsonl"
        items.write_text(json.dumps({"messages": [{"role": "user", "content": "دماوند کجاست؟"},
                                                  {"role": "assistant", "content": EVAL_TEXT}]}, ensure_ascii=False)
                         + "\n", encoding="utf-8")
        import_seeds(store, items, eval_items=True)
    app = CuratorApp(db, Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="seeds")
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        await settle(pilot)
        await pilot.pause()
        assert f"few-shot seed #{leaky}" in str(app.screen.query_one("#collisions").render())
        assert app.screen.selected().id == first
        await pilot.press("r", "down", "enter")  # the role list starts on fewshot: eval is next
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and "joins the private eval set" in app.screen.question
        await pilot.press("y")
        await settle(pilot)
        await pilot.pause()
        assert app.store.example(first).role == "eval"
        assert [(d.action, d.note) for d in app.store.decisions(first)] == [("role", "fewshot → eval")]
        app.screen.query_one("#seed-table").move_cursor(row=1)
        await pilot.press("e")
        await pilot.pause()
        app.screen.query("TurnEditor")[2].query_one("TextArea").text = "پاسخ تازه بی‌متن ارزیابی."
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.pause()
        newest = app.store.example(app.store.example(leaky).superseded_by)
        assert (newest.version, newest.difficulty, newest.topic) == (2, "middle_school", "قید"), "kept from v1"
        assert str(app.screen.query_one("#collisions").render()).strip() == ""
        await pilot.press("q")
