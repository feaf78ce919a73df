"""The queue that learns, replayed on a decision log: held-out AUC, Cohen's κ and WSS@95 of the triage
predictor beside the oracle's (the hidden rule the simulated curator follows, scored on the same labels),
and the time to retrain on 10,000 decisions.

The simulated curator sees 5,000 candidates with gate verdicts (format, language, dedup, decontamination,
math), a judge score and a length, accepts by a hidden rule (no gate fails, judge ≥ 0.6, 150–1,500
characters) and flips 5% of its decisions. The predictor learns from the first D decisions (D = 100, 250,
500, 1,000), through the real store and `services.predict.refresh`, and is scored on the candidates the
curator has not decided yet.

The demo's log: the bundled demo project has candidates but no decisions, so the bundled templated set
(src/curator/meaning/labelled/templated.jsonl, made the way the method prescribes) stands in: gated as the
app gates it, its labels are the curator's decisions (each leak and duplicate rejected, each clean item
accepted).

Usage: python benchmarks/triage_assist_bench.py [--n 5000] [--flip 0.05] [--retrain 10000] [--runs 3]
Targets: after 500 decisions the predictor reaches ≥ 0.9 of the oracle's AUC and ≥ 0.8 of its WSS@95;
retraining on 10,000 decisions ≤ 2 s.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
WORDS = "فاعل مفعول متمم فعل قید صفت جمله دانش‌آموز معلم درس کتاب مدرسه آب خورشید گیاه برگ نور است را که".split()
GATES = {"format": 0.03, "language": 0.05, "dedup_near": 0.06, "decontam_meaning": 0.02, "math": 0.04}


def simulate(n: int, flip: float, seed: int = 7) -> list[dict]:
    """Candidates with gate results, a judge score and a length; the hidden rule's decision and the
    curator's (the rule's, `flip` of them flipped)."""
    rng = random.Random(seed)
    out = []
    for i in range(1, n + 1):
        length = int(min(4000, max(40, rng.lognormvariate(6.4, 0.7))))
        gates = {}
        for gate, p_fail in GATES.items():
            r = rng.random()
            verdict = "fail" if r < p_fail else "flag" if r < 2 * p_fail else "pass"
            gates[gate] = (verdict, round(rng.random(), 3) if verdict != "pass" else None)
        judge = round(rng.betavariate(4, 2), 3)
        gates["judge"] = ("pass" if judge >= 0.6 else "flag", judge)
        rule_accepts = (all(v != "fail" for v, _ in gates.values()) and judge >= 0.6 and 150 <= length <= 1500)
        rejects = (not rule_accepts) != (rng.random() < flip)
        family = rng.choice(["grammar_tutor", "school_math", "reading_comprehension"])
        out.append({"id": i, "family": family, "length": length, "gates": gates, "rule_rejects": int(not rule_accepts),
                    "rejects": int(rejects)})
    return out


def build(path: Path, items: list[dict], vectors: bool = False, dim: int = 384) -> None:
    """A real store holding the simulated candidates and their verdicts (none decided yet)."""
    from curator.models import now_iso
    from curator.store import Store

    stamp = now_iso()
    rng = np.random.default_rng(0)
    with Store(path) as store:
        rows, verdicts, embedded = [], [], []
        for item in items:
            text = " ".join(WORDS[(item["id"] + k) % len(WORDS)] for k in range(item["length"] // 6))
            messages = json.dumps([{"role": "user", "content": "پرسش"}, {"role": "assistant", "content": text}],
                                  ensure_ascii=False)
            worst = max((v for v, _ in item["gates"].values()), key=["pass", "flag", "fail"].index)
            rows.append((item["id"], "candidate", item["family"], "generated", messages, "gated", worst, stamp,
                         f"u{item['id']:032x}", f"u{item['id']:032x}", f"k{item['id']}"))
            verdicts.append((item["id"], "format_", "1", "pass", None, "ok", "{}", stamp))
            for gate, (verdict, score) in item["gates"].items():
                verdicts.append((item["id"], gate, "1", verdict, score, "ok" if verdict == "pass" else gate, "{}", stamp))
            if vectors:
                embedded.append((item["id"], "bench", rng.standard_normal(dim).astype(np.float16).tobytes(), "", stamp))
        with store.transaction():
            store.conn.executemany(
                "INSERT INTO examples (id, kind, family, source_type, messages, state, gate_status, created_at, uid, "
                "lineage, key_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
            store.conn.executemany(
                "INSERT INTO gate_verdicts (example_id, gate, gate_version, verdict, score, reason, detail, created_at)"
                " VALUES (?,?,?,?,?,?,?,?)", verdicts)
            store.conn.executemany("INSERT INTO embeddings (example_id, model, whole, numbers, created_at) "
                                   "VALUES (?,?,?,?,?)", embedded)


def decide(path: Path, items: list[dict]) -> None:
    """The curator's decisions on these items, as the app records them."""
    from curator.services import triage
    from curator.store import Store

    with Store(path) as store:
        for item in items:
            triage.decide(store, item["id"], "reject" if item["rejects"] else "accept")


def scores(labels, p, decisions) -> tuple[float, float, float]:
    from curator import predictor

    return predictor.auc(labels, p), predictor.kappa(labels, decisions), predictor.work_saved(labels, p)


def replay(items: list[dict], steps: list[int], order_seed: int = 11) -> None:
    from curator.services import predict
    from curator.store import Store

    order = items[:]
    random.Random(order_seed).shuffle(order)  # the curator decides in an order of their own
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sim.db"
        build(path, items)
        done = 0
        print(f"{'decisions':>9}  {'AUC':>6} {'oracle':>6} {'ratio':>5}   {'kappa':>6} {'oracle':>6}   "
              f"{'WSS@95':>6} {'oracle':>6} {'ratio':>5}   fit s")
        for step in steps:
            decide(path, order[done:step])
            done = step
            with Store(path) as store:
                refresh = predict.refresh(store)
                p_of = store.predictions()
            held = [it for it in order[step:] if it["id"] in p_of]
            labels = [it["rejects"] for it in held]
            p = [p_of[it["id"]] for it in held]
            auc, kappa, wss = scores(labels, p, [int(x >= 0.5) for x in p])
            rule = [it["rule_rejects"] for it in held]
            o_auc, o_kappa, o_wss = scores(labels, rule, rule)
            print(f"{step:>9,}  {auc:6.3f} {o_auc:6.3f} {auc / o_auc:5.2f}   {kappa:6.3f} {o_kappa:6.3f}   "
                  f"{wss:6.3f} {o_wss:6.3f} {wss / o_wss:5.2f}   {refresh.seconds['fit']:.2f}")


def retrain(n_decided: int, runs: int) -> None:
    """Seconds to retrain on `n_decided` decisions (with 384-d vectors) and estimate 2,000 pending."""
    from curator.services import predict
    from curator.store import Store

    items = simulate(n_decided + 2000, 0.05, seed=5)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "retrain.db"
        build(path, items, vectors=True)
        with Store(path) as store, store.transaction():
            store.conn.executemany("UPDATE examples SET state = ? WHERE id = ?",
                                   [("rejected" if it["rejects"] else "accepted", it["id"]) for it in items[:n_decided]])
        best: dict[str, float] = {}
        for _ in range(runs):
            with Store(path) as store:
                refresh = predict.refresh(store)
            total = sum(refresh.seconds.values())
            if not best or total < sum(best.values()):
                best = refresh.seconds
        print(f"retrain on {refresh.trained_on:,} decisions (+{refresh.predicted:,} estimated, 384-d vectors), "
              f"best of {runs}: {sum(best.values()):.2f} s  ("
              + ", ".join(f"{k} {v:.2f}" for k, v in best.items()) + ")")


def demo() -> None:
    """The bundled templated set (three families written from task templates, eval items among them) gated
    as the app gates it, its labels as the curator's decisions: each leak and duplicate rejected, each clean
    item accepted; the predictor learns from half (in a shuffled order) and is scored on the other half."""
    from curator.config import MeaningSettings
    from curator.models import Example, Message
    from curator.services import predict, triage
    from curator.services.calibration import TEMPLATED_VECTORS, KeptVectors, load_templated
    from curator.services.embed import embed_missing
    from curator.services.gating.meaning import run_meaning
    from curator.services.gating.runner import GateReport, run_set_level
    from curator.store import Store
    from curator.text.normalize import key_hash

    rows = load_templated()
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "demo.db") as store:
        labelled = []
        with store.transaction():
            for r in rows:
                evaluated = r["set"] == "eval"
                e = Example(kind="eval_item" if evaluated else "candidate", role="eval" if evaluated else None,
                            family=r["family"], source_type="eval_import" if evaluated else "generated",
                            messages=[Message(**m) for m in r["messages"]])
                e.key_hash = key_hash(json.dumps(r["messages"], ensure_ascii=False))
                example_id = store.add_example(e)
                if not evaluated:
                    labelled.append((example_id, int(r["label"] != "clean")))
        run_set_level(store, GateReport())
        embedded = embed_missing(store, MeaningSettings(), embedder=KeptVectors(TEMPLATED_VECTORS, None))
        run_meaning(store, GateReport(), embedded.model, MeaningSettings())
        random.Random(3).shuffle(labelled)
        half = len(labelled) // 2
        for example_id, rejects in labelled[:half]:
            triage.decide(store, example_id, "reject" if rejects else "accept")
        refresh = predict.refresh(store)
        p_of = store.predictions()
    held = [(i, y) for i, y in labelled[half:] if i in p_of]
    labels = [y for _, y in held]
    if refresh.name is None or len(set(labels)) < 2:
        print(f"templated set: {refresh.summary()}")
        return
    p = [p_of[i] for i, _ in held]
    auc, kappa, wss = scores(labels, p, [int(x >= 0.5) for x in p])
    print(f"templated set ({half} decisions learnt, {len(held)} held out, {sum(labels)} of them rejects): "
          f"AUC {auc:.3f}  kappa {kappa:.3f}  WSS@95 {wss:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--flip", type=float, default=0.05)
    parser.add_argument("--retrain", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-demo", action="store_true", help="Skip the templated set.")
    args = parser.parse_args()
    items = simulate(args.n, args.flip)
    print(f"simulated curator: {args.n:,} candidates, {sum(i['rejects'] for i in items):,} rejects, "
          f"{args.flip:.0%} of decisions flipped")
    started = time.perf_counter()
    replay(items, [100, 250, 500, 1000])
    print(f"(replay {time.perf_counter() - started:.1f} s)")
    retrain(args.retrain, args.runs)
    if not args.no_demo:
        demo()


if __name__ == "__main__":
    main()
