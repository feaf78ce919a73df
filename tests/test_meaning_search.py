"""Neighbour search for the meaning gates: exact scoring and the inverted-file index find the same
pairs above a threshold, and nothing below it."""

from __future__ import annotations

import numpy as np

from curator.meaning.search import hits, pairs


def vectors(n: int, planted: int, seed: int = 0) -> tuple[np.ndarray, set[tuple[int, int]]]:
    """Unit vectors around a shared direction (as sentence embeddings are), with planted near pairs."""
    rng = np.random.default_rng(seed)
    shared = rng.standard_normal(384)
    x = 1.2 * shared / np.linalg.norm(shared) + rng.standard_normal((n, 384)) / np.sqrt(384)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ends = rng.choice(n, 2 * planted, replace=False)
    for a, b in zip(ends[:planted], ends[planted:]):
        x[b] = x[a] + 0.15 * rng.standard_normal(384) / np.sqrt(384)
        x[b] /= np.linalg.norm(x[b])
    return x.astype(np.float16), {(int(min(a, b)), int(max(a, b))) for a, b in zip(ends[:planted], ends[planted:])}


def brute(x: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    s = x.astype(np.float32) @ x.astype(np.float32).T
    return {(int(a), int(b)) for a, b in zip(*np.nonzero(s >= threshold)) if a < b}


def test_exact_and_indexed_pairs_agree_with_brute_force() -> None:
    x, planted = vectors(3000, 40)
    truth = brute(x, 0.95)
    assert planted <= truth
    exact = {(a, b) for a, b, _ in pairs(x, 0.95)}
    indexed = {(a, b): s for a, b, s in pairs(x, 0.95, exact_up_to=0)}
    assert exact == truth
    assert set(indexed) == truth and min(indexed.values()) >= 0.95 - 1e-3


def test_hits_score_every_query_against_every_key() -> None:
    x, _ = vectors(600, 0, seed=1)
    queries, keys = x[:500], x[500:]
    keys[3] = queries[7]  # an exact copy
    found = {(q, k): s for q, k, s in hits(queries, keys, 0.8)}
    s = queries.astype(np.float32) @ keys.astype(np.float32).T
    assert set(found) == {(int(q), int(k)) for q, k in zip(*np.nonzero(s >= 0.8))}
    assert found[(7, 3)] > 0.999
