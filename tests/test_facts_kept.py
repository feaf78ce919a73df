"""What a row's conversation says of its training (why it cannot train, its lengths, its turns) is kept by
the store when the row is written, stamped with the rules that made it; `curator gate` makes it for rows
written without it; the export reads it instead of parsing each conversation, and writes the same bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curator.config import MeaningSettings
from curator.export import curation_log
from curator import trainable
from curator.services.gate import run_gates
from curator.services.triage import decide
from curator.store import Store
from test_export_kept import _export, build
from test_export_trainable import FAMILIES, UNTRAINABLE, add, good, turn

FACTS = "SELECT untrainable, prompt_chars, response_chars, turns, facts_rules FROM examples WHERE id = ?"


def test_a_written_row_keeps_the_facts_of_its_conversation(tmp_path: Path) -> None:
    with Store(tmp_path / "f.db") as store:
        sound, broken = good(store), add(store, UNTRAINABLE["U+001B"])
        for example_id in (sound, broken):
            messages = [m.model_dump(mode="json") for m in store.example(example_id).messages]
            kept = store.conn.execute(FACTS, (example_id,)).fetchone()
            assert kept == (*trainable.facts(messages), trainable.RULES)
        assert store.conn.execute(FACTS, (sound,)).fetchone()[0] is None
        assert "U+001B" in store.conn.execute(FACTS, (broken,)).fetchone()[0]


@pytest.mark.parametrize("in_child", [True, False])
def test_an_export_from_kept_facts_writes_the_bytes_of_one_that_works_them_out(tmp_path: Path, in_child: bool) -> None:
    db = tmp_path / "pinned.db"
    build(db)  # (its candidates are written by plain SQL: no facts kept)
    with Store(db) as store:
        assert store.count("examples", "kind = 'candidate' AND facts_rules IS NULL") == 120
        worked_out = _export(store, tmp_path / "a", in_child=in_child)
        assert store.refresh_facts() == 120
        assert store.count("examples", "facts_rules IS NOT ?", (trainable.RULES,)) == 0
        assert _export(store, tmp_path / "b", in_child=in_child) == worked_out


@pytest.mark.parametrize("in_child", [True, False])
def test_the_export_reads_kept_facts_made_under_the_current_rules_only(tmp_path: Path, in_child: bool) -> None:
    db = tmp_path / "f.db"
    with Store(db) as store:
        believed, stale, exported = (add(store, [turn("user", q), turn("assistant", a)]) for q, a in (
            ("فاعل جملهٔ «مریم نامه نوشت» کیست؟", "«مریم» فاعل است."),
            ("مفعول جملهٔ «باران زمین را شست» کدام است؟", "«زمین» مفعول است، با نشانهٔ «را»."),
            ("فعل جملهٔ «پرنده پرید» چیست؟", "«پرید» فعل است.")))
        run_gates(store, FAMILIES, meaning=MeaningSettings(enabled=False))
        decide(store, exported, "accept")
        with store.transaction():  # (a reason no rule gives, to see where the log's reason comes from)
            store.conn.execute("UPDATE examples SET untrainable = 'kept reason' WHERE id IN (?, ?)", (believed, stale))
            store.conn.execute("UPDATE examples SET facts_rules = 'older rules' WHERE id = ?", (stale,))
        log = {r["id"]: r for r in map(json.loads, _export(store, tmp_path / "out", in_child=in_child)[
            curation_log.NAME].splitlines())}
    assert log[believed]["why"] == "excluded: cannot train (kept reason)"
    assert log[stale]["why"] == "not accepted (state gated)"
    assert log[exported]["exported"]


def test_gate_makes_the_facts_of_rows_written_without_them_and_again_under_new_rules(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store(tmp_path / "f.db") as store:
        ids = [good(store), add(store, UNTRAINABLE["no assistant answer"])]
        with store.transaction():
            store.conn.execute("UPDATE examples SET untrainable = NULL, turns = NULL, facts_rules = NULL")
        run_gates(store, FAMILIES, meaning=MeaningSettings(enabled=False))
        made = [store.conn.execute(FACTS, (i,)).fetchone() for i in ids]
        assert made[0][4] == made[1][4] == trainable.RULES
        assert (made[0][0], made[1][0]) == (None, "no assistant answer") and made[1][3] == 3
        assert store.refresh_facts() == 0, "done once: only rows without facts are looked for"
        monkeypatch.setattr(trainable, "RULES", "newer rules")
        assert store.refresh_facts() == 2
        assert store.count("examples", "facts_rules = 'newer rules'") == 2


def test_a_row_whose_conversation_does_not_parse_gets_no_facts_and_stops_nothing(tmp_path: Path) -> None:
    with Store(tmp_path / "f.db") as store:
        sound, damaged, shapeless = good(store), good(store), good(store)
        with store.transaction():
            store.conn.execute("UPDATE examples SET facts_rules = NULL")
            store.conn.execute("UPDATE examples SET messages = '[{\"role\": ' WHERE id = ?", (damaged,))
            store.conn.execute("UPDATE examples SET messages = '[\"not a turn\"]' WHERE id = ?", (shapeless,))
        assert store.refresh_facts() == 1
        assert store.conn.execute(FACTS, (sound,)).fetchone()[4] == trainable.RULES
        assert store.count("examples", "facts_rules IS NULL") == 2
