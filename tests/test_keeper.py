"""The curator makes a duplicate the keeper of its cluster (issue #23, "Duplicates explained"): it passes
its dedup gate, the former keeper and the cluster's other members fail naming it, in one transaction
with a `keeper` decision the gates read, so no later `curator gate` (incremental or whole) undoes it. An
accepted former keeper keeps its state and is reported; a leak of the eval set and a copy of a seed have
no keeper to swap."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.cli import main
from curator.config import MeaningSettings
from curator.models import Example, Message
from curator.services import keeper, triage
from curator.services.gate import run_gates
from curator.store import Store
from curator.text.normalize import key_hash
from stub_embedder import STUB
from tui_fixtures import FAMILIES

OFF = MeaningSettings(enabled=False)
ASK = "در جملهٔ «علی کتاب را به دوستش داد» مفعول کدام است؟"
ASK_AGAIN = "در جملهٔ «علی کتاب را به دوستش داد» مفعول را مشخص کن."
ANSWER = "در این جمله «کتاب» مفعول است، چون نشانهٔ «را» بعد از آن آمده و فعل «داد» بر آن واقع شده است."
# The same words in another order: a paraphrase by meaning (the stub embeds a bag of words).
PHOTO = ("فتوسنتز را با یک مثال ساده توضیح می‌دهی؟",
         "فتوسنتز یعنی گیاه با نور خورشید غذا می‌سازد. برگ درخت سیب در روز آفتابی قند می‌سازد و اکسیژن می‌دهد.")
PHOTO_AGAIN = ("با یک مثال ساده فتوسنتز را توضیح می‌دهی؟",
               "برگ درخت سیب در روز آفتابی قند می‌سازد و اکسیژن می‌دهد. فتوسنتز یعنی گیاه با نور خورشید غذا می‌سازد.")


def add(store: Store, ask: str, answer: str, family: str = "grammar_tutor", *, kind: str = "candidate",
        role: str | None = None) -> int:
    e = Example(kind=kind, role=role, family=family, task_type="explanation", difficulty="middle_school",
                source_type={"candidate": "generated", "seed": "manual_seed", "eval_item": "eval_import"}[kind],
                messages=[Message(role="user", content=ask), Message(role="assistant", content=answer)])
    e.key_hash = key_hash(ask + "\n" + answer)
    return store.add_example(e)


def dedup_of(store: Store, *ids: int, gate: str = "dedup") -> dict[int, tuple[str, int | None]]:
    """{id: (verdict, keeper)} of a dedup gate's current verdicts."""
    current = store.current_verdicts(list(ids), gates=(gate,))
    return {i: (current[i][gate]["verdict"], current[i][gate]["detail"].get("keeper")) for i in ids}


def status_of(store: Store, *ids: int) -> dict[int, tuple[str, str]]:
    return {i: (state, status) for i, _, state, status in store.status_rows(list(ids))}


@pytest.fixture
def cluster(store: Store) -> tuple[int, int, int]:
    """A cluster of three: the keeper (the oldest), its exact copy, and a near duplicate."""
    ids = add(store, ASK, ANSWER), add(store, ASK, ANSWER), add(store, ASK_AGAIN, ANSWER)
    run_gates(store, FAMILIES, meaning=OFF)
    assert dedup_of(store, *ids) == {ids[0]: ("pass", ids[0]), ids[1]: ("fail", ids[0]), ids[2]: ("fail", ids[0])}
    return ids


def test_a_duplicate_made_the_keeper_passes_and_the_rest_of_its_cluster_fails_naming_it(
        store: Store, cluster: tuple[int, int, int]) -> None:
    old, copy, chosen = cluster
    swap = keeper.make_keeper(store, chosen)
    assert swap.former == {"dedup": old} and swap.failed == {"dedup": [old, copy]} and swap.warnings == []
    assert swap.summary() == f"#{chosen} is now the keeper; dedup: #{old} and 1 more now fail naming it"
    assert dedup_of(store, *cluster) == {old: ("fail", chosen), copy: ("fail", chosen), chosen: ("pass", chosen)}
    verdicts = store.current_verdicts([old, chosen], gates=("dedup",))
    assert verdicts[chosen]["dedup"]["detail"]["chosen"] is True
    former = verdicts[old]["dedup"]
    assert (former["reason"], former["detail"]["matched"], former["detail"]["how"]) == ("near_duplicate_of", chosen,
                                                                                        "near")
    assert former["detail"]["shared"]["quote"], "the former keeper carries the evidence of its match"
    assert status_of(store, *cluster) == {old: ("gated", "fail"), copy: ("gated", "fail"), chosen: ("gated", "pass")}
    assert [(d.action, d.example_id) for d in store.decisions()] == [("keeper", chosen)]
    assert triage.load_card(store, chosen).history()[-1].endswith(f"keeper: kept instead of #{old} (dedup)")
    assert len(store.verdicts(old)) > len([v for v in store.verdicts(old) if v.gate != "dedup"]) + 1, \
        "the log is appended to, never rewritten"


def test_a_later_gate_run_keeps_the_curators_keeper(store: Store, cluster: tuple[int, int, int]) -> None:
    old, copy, chosen = cluster
    keeper.make_keeper(store, chosen)
    expected = {old: ("fail", chosen), copy: ("fail", chosen), chosen: ("pass", chosen)}
    again = run_gates(store, FAMILIES, meaning=OFF)
    assert "touched clusters" in again.lexical, "the choice is a decision: the run looks at its cluster again"
    assert dedup_of(store, *cluster) == expected
    store.set_gate_marks({"lexical.rules": "changed"})  # the rules changed: every cluster is built again
    assert "everything" in run_gates(store, FAMILIES, meaning=OFF).lexical
    assert dedup_of(store, *cluster) == expected
    assert status_of(store, *cluster)[chosen] == ("gated", "pass")


def test_a_later_choice_outranks_an_earlier_one(store: Store, cluster: tuple[int, int, int]) -> None:
    old, copy, chosen = cluster
    keeper.make_keeper(store, chosen)
    keeper.make_keeper(store, old)  # back again
    assert dedup_of(store, *cluster) == {old: ("pass", old), copy: ("fail", old), chosen: ("fail", old)}
    store.set_gate_marks({"lexical.rules": "changed"})
    run_gates(store, FAMILIES, meaning=OFF)
    assert dedup_of(store, *cluster) == {old: ("pass", old), copy: ("fail", old), chosen: ("fail", old)}


def test_an_accepted_former_keeper_is_reported_and_keeps_its_state(store: Store, cluster: tuple[int, int, int]) -> None:
    old, _, chosen = cluster
    triage.decide(store, old, "accept")
    swap = keeper.make_keeper(store, chosen)
    assert len(swap.warnings) == 1 and swap.warnings[0].startswith(f"#{old} is accepted and now a duplicate of #{chosen}")
    assert "export drops it" in swap.warnings[0]
    assert status_of(store, old, chosen) == {old: ("accepted", "fail"), chosen: ("gated", "pass")}
    run_gates(store, FAMILIES, meaning=OFF)  # the curator's choice outranks an accepted keeper
    assert dedup_of(store, old, chosen) == {old: ("fail", chosen), chosen: ("pass", chosen)}


def test_a_paraphrase_made_the_keeper_holds_through_the_meaning_gate(store: Store) -> None:
    first, second = add(store, *PHOTO, "student_support"), add(store, *PHOTO_AGAIN, "student_support")
    run_gates(store, FAMILIES, embedder=STUB)
    assert dedup_of(store, first, second, gate="dedup_meaning") == {first: ("pass", first), second: ("fail", first)}
    swap = keeper.make_keeper(store, second)
    assert swap.former == {"dedup": first, "dedup_meaning": first}, "every dedup gate that fails it"
    expected = {first: ("fail", second), second: ("pass", second)}
    assert dedup_of(store, first, second, gate="dedup_meaning") == expected
    assert dedup_of(store, first, second) == expected
    run_gates(store, FAMILIES, embedder=STUB)
    assert dedup_of(store, first, second, gate="dedup_meaning") == expected
    run_gates(store, FAMILIES, embedder=STUB, meaning=MeaningSettings(dedup=0.9))  # other settings: all clustered again
    assert dedup_of(store, first, second, gate="dedup_meaning") == expected
    assert status_of(store, first, second) == {first: ("gated", "fail"), second: ("gated", "pass")}


def test_a_leak_of_the_eval_set_has_no_keeper(store: Store) -> None:
    add(store, ASK, ANSWER, kind="eval_item", role="eval")
    leak = add(store, ASK, ANSWER)
    run_gates(store, FAMILIES, meaning=OFF)
    assert store.current_verdicts([leak], gates=("decontam",))[leak]["decontam"]["verdict"] == "fail"
    why = keeper.refusal(store, leak)
    assert why and "private eval item (decontam)" in why and "no keeper to swap" in why
    with pytest.raises(keeper.KeeperError, match="no keeper to swap"):
        keeper.make_keeper(store, leak)
    assert store.decisions() == [], "nothing written"


def test_a_copy_of_a_seed_and_what_is_no_duplicate_are_refused(store: Store) -> None:
    seed = add(store, ASK, ANSWER, kind="seed", role="fewshot")
    copy = add(store, ASK, ANSWER)
    alone = add(store, *PHOTO, "student_support")
    run_gates(store, FAMILIES, meaning=OFF)
    assert dedup_of(store, copy) == {copy: ("fail", seed)}
    assert f"hand-written seed #{seed}" in keeper.refusal(store, copy)
    assert keeper.refusal(store, alone) == f"#{alone} is not a duplicate: no dedup gate fails it"
    assert keeper.refusal(store, 999) == "no candidate #999"
    triage.decide(store, copy, "reject")
    assert "not in the pool" in keeper.refusal(store, copy)
    assert store.decisions()[-1].action == "reject" and len(store.decisions()) == 1


def test_the_command_line_makes_the_keeper_and_warns(db_file: Path, capsys) -> None:
    with Store(db_file) as store:
        old, _, chosen = add(store, ASK, ANSWER), add(store, ASK, ANSWER), add(store, ASK_AGAIN, ANSWER)
        run_gates(store, FAMILIES, meaning=OFF)
        triage.decide(store, old, "accept")
    main(["candidates", "keeper", str(chosen), "--db", str(db_file)])
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"#{chosen} is now the keeper; dedup: #{old} and 1 more now fail naming it"]
    assert err.startswith(f"warning: #{old} is accepted and now a duplicate of #{chosen}")
    with pytest.raises(SystemExit) as ended:
        main(["--db", str(db_file), "candidates", "keeper", str(chosen)])
    err = capsys.readouterr().err
    assert ended.value.code == 1 and err == f"error: #{chosen} is already the keeper of its duplicates\n"
    with Store(db_file) as store:
        assert dedup_of(store, old, chosen) == {old: ("fail", chosen), chosen: ("pass", chosen)}


def test_the_gate_ranks_the_curators_keeper_after_seeds_and_before_everything_else() -> None:
    from curator.gates.dedup import DedupItem, dedup

    verdicts = dedup([DedupItem(1, "k", accepted=True, judge_score=1.0), DedupItem(2, "k", chosen=5),
                      DedupItem(3, "k", chosen=9)])
    assert {i: v.detail["keeper"] for i, v in verdicts.items()} == {1: 3, 2: 3, 3: 3}, "the latest choice"
    assert verdicts[3].detail["chosen"] is True and "chosen" not in verdicts[1].detail
    verdicts = dedup([DedupItem(1, "k", seed=True), DedupItem(2, "k", chosen=5)])
    assert verdicts[2].verdict == "fail" and verdicts[2].detail["keeper"] == 1, "a seed keeps"


def test_a_match_that_is_not_the_keeper_says_which_is_kept(store: Store, cluster: tuple[int, int, int]) -> None:
    old, copy, chosen = cluster
    keeper.make_keeper(store, chosen)
    found = triage.evidence(store, triage.load_card(store, copy))  # an exact copy of the former keeper
    assert found[0].other_label == f"duplicate #{old}"
    assert found[0].summary.startswith(f"dedup: duplicate #{old} (exact, 1.00), kept: #{chosen}")
    former = triage.evidence(store, triage.load_card(store, old))
    assert former[0].other_label == f"keeper #{chosen}" and "kept:" not in former[0].summary
