"""The lexical set-level gates do only new work (issue #13): after new candidates, decisions, a
revision and a new eval item, the verdicts are those of a full recomputation; with nothing new a run
returns without reading the pool; and the same store gives the same sketches and verdicts in two
processes (stable hashes, not Python's salted ones)."""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from curator.config import MeaningSettings
from curator.families import load_families
from curator.gates.decontam import conversation_keys
from curator.gates.dedup import DedupItem, DedupSettings, dedup
from curator.models import Example, Message
from curator.services import triage
from curator.services.gate import run_gates
from curator.services.seeds import import_seeds
from curator.store import Store
from curator.text.normalize import key_hash
from synthetic import WORDS

ROOT = Path(__file__).resolve().parents[1]
FAMS = load_families(ROOT / "prompts").families
OFF = MeaningSettings(enabled=False)  # the lexical gates alone


def text(rng: random.Random, n: int) -> list[str]:
    return rng.choices(WORDS, k=n)


def variant(words: list[str], rng: random.Random, changes: int = 1) -> list[str]:
    out = list(words)
    for _ in range(changes):
        out[rng.randrange(len(out))] = rng.choice(WORDS)
    return out


def add(store: Store, ask: list[str], answer: list[str], family: str = "grammar_tutor") -> int:
    user, reply = " ".join(ask) + "؟", " ".join(answer) + "."
    e = Example(kind="candidate", family=family, task_type="explanation",
                messages=[Message(role="user", content=user), Message(role="assistant", content=reply)])
    e.key_hash = key_hash(user + "\n" + reply)
    return store.add_example(e)


def build(store: Store, seed: int = 5) -> dict[str, list]:
    """Clusters of near-duplicates (one word changed in 40), exact copies, and unique candidates."""
    rng = random.Random(seed)
    bases = []
    for _ in range(25):
        ask, answer = text(rng, 12), text(rng, 40)
        members = [add(store, ask, answer)]
        for _ in range(rng.randint(0, 3)):
            members.append(add(store, variant(ask, rng), variant(answer, rng)))
        if rng.random() < 0.3:
            members.append(add(store, ask, answer))  # an exact copy
        bases.append((ask, answer, members))
    uniques = [add(store, text(rng, 12), text(rng, 40)) for _ in range(30)]
    ask, answer = text(rng, 12), text(rng, 40)  # a chain: each near the next, the ends far apart
    chain = []
    for _ in range(6):
        ask, answer = variant(ask, rng), variant(answer, rng, 2)
        chain.append((ask, answer, add(store, ask, answer)))
    return {"bases": bases, "uniques": uniques, "chain": chain}


def reference(store: Store, settings: DedupSettings = DedupSettings()) -> dict[int, tuple[str, str, int | None]]:
    """What a full recomputation with the pure `dedup` gives: (verdict, reason, keeper) per example."""
    pool = store.dedup_pool()
    facts = store.dedup_facts([r[0] for r in pool])
    items = []
    for ex_id, kind, state, family, messages in pool:
        _, _, failed, judge, _ = facts[ex_id]
        items.append(DedupItem(id=ex_id, key=conversation_keys(json.loads(messages))[0], seed=kind == "seed",
                               accepted=state == "accepted", failed_elsewhere=failed, judge_score=judge,
                               threshold=getattr(FAMS.get(family), "dedup_threshold", None)))
    return {i: (v.verdict, v.reason, v.detail.get("keeper")) for i, v in dedup(items, settings).items()}


def stored(store: Store, ids) -> dict[int, tuple[str, str, int | None]]:
    current = store.current_verdicts(list(ids), gates=("dedup",))
    return {i: (g["dedup"]["verdict"], g["dedup"]["reason"], g["dedup"]["detail"].get("keeper"))
            for i, g in current.items()}


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "gates.db") as s:
        yield s


def test_after_new_work_the_verdicts_are_those_of_a_full_run(store: Store, tmp_path: Path) -> None:
    made = build(store)
    first = run_gates(store, FAMS, meaning=OFF)
    assert "everything" in first.lexical
    expected = reference(store)
    assert stored(store, expected) == expected
    assert sum(v[0] == "fail" for v in expected.values()) >= 15, "the fixture has duplicates to find"
    chain = [c[2] for c in made["chain"]]
    assert len({expected[i][2] for i in chain}) == 1, "the chain is one cluster"

    rng = random.Random(9)
    ask, answer, members = next(b for b in made["bases"] if len(b[2]) >= 3)
    end_ask, end_answer, _ = made["chain"][-1]
    new = [add(store, variant(ask, rng), variant(answer, rng)),  # joins a cluster
           add(store, ask, answer),  # an exact copy of its first member
           add(store, text(rng, 12), text(rng, 40)),  # alone
           add(store, variant(end_ask, rng), variant(end_answer, rng))]  # near the chain's end only
    keeper = stored(store, members)[members[1]][2]
    other = next(m for m in members if m != keeper)
    triage.decide(store, other, "accept")  # an accepted member becomes the keeper
    ask2, answer2, members2 = next(b for b in made["bases"] if len(b[2]) >= 2 and b[2] != members)
    keeper2 = stored(store, members2)[members2[0]][2]
    triage.decide(store, keeper2, "reject")  # the keeper leaves: another member keeps the cluster
    ask3, answer3, members3 = next(b for b in made["bases"] if len(b[2]) >= 2 and b[2] not in (members, members2))
    revised = triage.save_revision(store, members3[0], [Message(role="user", content=" ".join(ask3) + "؟"),
                                                        Message(role="assistant", content=" ".join(answer3) + ". خوب")],
                                   FAMS)
    evals = tmp_path / "eval.jsonl"
    unique = store.example(made["uniques"][0])
    evals.write_text(json.dumps({"messages": [m.model_dump(exclude_none=True) for m in unique.messages]},
                                ensure_ascii=False) + "\n", encoding="utf-8")
    assert import_seeds(store, evals, eval_items=True).added == 1

    second = run_gates(store, FAMS, meaning=OFF)
    assert "everything" not in second.lexical and "sketched" in second.lexical
    pool_size = len(store.dedup_pool())
    rebuilt = int(second.lexical.split("dedup looked at ")[1].split(" ")[0])
    assert 0 < rebuilt < pool_size / 2, second.lexical
    expected = reference(store)
    assert stored(store, expected) == expected
    assert expected[other][2] == other and expected[other][0] == "pass", "the accepted member is the keeper now"
    assert keeper2 not in expected and expected[members2[1]][0] == "pass"
    assert revised in expected and members3[0] not in expected
    assert {expected[i][0] for i in new} >= {"fail"}
    assert expected[new[-1]][2] == expected[chain[0]][2], "the new one joins the whole chain"
    contaminated = store.current_verdicts([made["uniques"][0]], gates=("decontam",))[made["uniques"][0]]
    assert contaminated["decontam"]["verdict"] == "fail", "a new eval item re-checks every candidate"


def test_with_nothing_new_a_run_returns_without_reading_the_pool(store: Store, monkeypatch) -> None:
    build(store)
    run_gates(store, FAMS, meaning=OFF)
    logged = store.conn.execute("SELECT count(*) FROM gate_verdicts").fetchone()[0]

    def unexpected(*_args, **_kwargs):
        raise AssertionError("the pool was read with nothing new")

    monkeypatch.setattr(store, "pool_sketches", unexpected)
    monkeypatch.setattr(store, "dedup_pool", unexpected)
    again = run_gates(store, FAMS, meaning=OFF)
    assert again.lexical == "nothing new" and again.checked == 0
    assert store.conn.execute("SELECT count(*) FROM gate_verdicts").fetchone()[0] == logged


def test_a_change_of_rules_looks_at_everything_again(store: Store) -> None:
    build(store)
    run_gates(store, FAMS, meaning=OFF)
    before = sum(v[0] == "fail" for v in reference(store).values())
    strict = DedupSettings(threshold=99.5)
    stricter = run_gates(store, FAMS, meaning=OFF, dedup_settings=strict)
    assert "everything" in stricter.lexical
    expected = reference(store, strict)
    assert stored(store, expected) == expected
    assert sum(v[0] == "fail" for v in expected.values()) < before, "one word in 40 is under 99.5"


def dump(db: Path) -> tuple[list, list]:
    con = sqlite3.connect(db)
    try:
        verdicts = con.execute("SELECT example_id, gate, verdict, reason, score, detail FROM gate_verdicts "
                               "ORDER BY example_id, gate, id").fetchall()
        sketches = con.execute("SELECT example_id, key_hash, bands, cluster FROM sketches ORDER BY example_id").fetchall()
    finally:
        con.close()
    return verdicts, sketches


def test_two_processes_give_the_same_sketches_and_verdicts(tmp_path: Path) -> None:
    original = tmp_path / "original.db"
    with Store(original) as store:
        build(store, seed=11)
    copies = []
    for name in ("one", "two"):
        copy = tmp_path / f"{name}.db"
        shutil.copy(original, copy)  # no connection is open on it: the store closed
        env = {**os.environ, "PYTHONHASHSEED": "1" if name == "one" else "2"}  # different salted str hashes
        out = subprocess.run([sys.executable, "-m", "curator", "--db", str(copy), "gate", "--no-embed"],
                             capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
        assert out.returncode == 0, out.stderr
        copies.append(copy)
    one, two = dump(copies[0]), dump(copies[1])
    assert one[1] and one[1] == two[1], "the sketches are byte-identical"
    assert one[0] and one[0] == two[0], "so are the verdicts"


def test_the_pool_eval_items_and_what_is_left_to_check_are_read_through_their_indexes(store: Store) -> None:
    """A run after new work reads the pool's ids, the eval items and the candidates still to check
    without scanning every row (`predicates.SET_POOL` and the index `examples_pool` must agree)."""
    from curator.store.predicates import EVAL, SET_POOL

    def plan(sql: str, *args) -> str:
        return " | ".join(r[-1] for r in store.conn.execute("EXPLAIN QUERY PLAN " + sql, args))

    assert "USING INDEX examples_pool" in plan(f"SELECT group_concat(id) FROM examples WHERE {SET_POOL}")
    assert "USING INDEX examples_eval" in plan(
        "SELECT s.example_id FROM examples e CROSS JOIN sketches s ON s.example_id = e.id "
        f"WHERE s.version = ? AND {EVAL.replace('kind', 'e.kind').replace('role', 'e.role')}", "v")
    assert "sketches_eval_set" in plan("SELECT min(eval_set) FROM sketches WHERE eval_set > ?", "")
    assert "sketches_eval_set" in plan(
        "SELECT s.example_id FROM sketches s WHERE (s.eval_set IS NULL) AND s.example_id > ?", 0)


def test_the_pool_arrays_leave_out_eval_items_and_rejected_candidates(store: Store, tmp_path: Path) -> None:
    made = build(store)
    run_gates(store, FAMS, meaning=OFF)
    rejected = made["uniques"][1]
    triage.decide(store, rejected, "reject")
    evals = tmp_path / "eval.jsonl"
    evals.write_text(json.dumps({"messages": [{"role": "user", "content": "یک پرسش تازه برای ارزیابی؟"},
                                              {"role": "assistant", "content": "پاسخ آن."}]},
                                ensure_ascii=False) + "\n", encoding="utf-8")
    import_seeds(store, evals, eval_items=True)
    run_gates(store, FAMS, meaning=OFF)
    from curator.services.gating.lexical import sketch_version

    ids, hashes, clusters, bands, content = store.pool_sketches(sketch_version(DedupSettings()))
    pool = sorted(r[0] for r in store.dedup_pool())
    assert ids.tolist() == pool and rejected not in pool
    rows = {r[0]: r[1:] for r in store.conn.execute(
        "SELECT example_id, key_hash, coalesce(cluster, 0), bands, content_keys FROM sketches")}
    assert hashes.tolist() == [rows[i][0] for i in pool] and clusters.tolist() == [rows[i][1] for i in pool]
    assert [bands[k].tobytes() for k in range(len(pool))] == [rows[i][2] for i in pool]
    assert [content[k].tobytes() for k in range(len(pool))] == [rows[i][3] or bytes(content.shape[1] * 8)
                                                                  for i in pool]
