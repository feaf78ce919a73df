"""Finding pairs of unit vectors whose cosine reaches a threshold.

Against a small set (the eval items; new candidates against the rest) every pair is scored (faiss's
flat index); within up to `EXACT_UP_TO` vectors, every pair too, by matrix products in blocks. Within a large set, all pairs do not scale: an inverted-file index (faiss IVF,
the nearest `nprobe` of about 4·√n clusters) proposes neighbours and only those are scored; its recall
against brute force is measured by `benchmarks/gates_bench.py`.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

BLOCK = 4096
EXACT_UP_TO = 30_000  # below this, all pairs are scored exactly
NPROBE = 8


def _f32(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


def hits(queries: np.ndarray, keys: np.ndarray, threshold: float) -> Iterator[tuple[int, int, float]]:
    """(query row, key row, cosine) for every pair at or above `threshold`: every pair is scored (faiss's
    flat index: blocked matrix products on all cores, only the pairs above the threshold kept)."""
    if not len(queries) or not len(keys):
        return
    import faiss

    index = faiss.IndexFlatIP(keys.shape[1])
    index.add(_f32(keys))
    for start in range(0, len(queries), BLOCK * 4):
        lims, scores, ids = index.range_search(_f32(queries[start:start + BLOCK * 4]), threshold - 1e-6)
        for r in np.flatnonzero(np.diff(lims)).tolist():  # (only the queries with a hit: most have none)
            for c, s in zip(ids[lims[r]:lims[r + 1]].tolist(), scores[lims[r]:lims[r + 1]].tolist()):
                yield start + r, c, float(s)


def pairs(vectors: np.ndarray, threshold: float, *, exact_up_to: int = EXACT_UP_TO) -> Iterator[tuple[int, int, float]]:
    """(i, j, cosine) with i < j for pairs within `vectors` at or above `threshold`."""
    n = len(vectors)
    if n < 2:
        return
    if n <= exact_up_to:
        x = _f32(vectors)
        for start in range(0, n, BLOCK):
            scores = x[start:start + BLOCK] @ x[start:].T
            rows, cols = np.nonzero(scores >= threshold)
            for r, c in zip(rows.tolist(), cols.tolist()):
                if c > r:
                    yield start + r, start + c, float(scores[r, c])
        return
    yield from _ivf_pairs(vectors, threshold)


def _ivf_pairs(vectors: np.ndarray, threshold: float) -> Iterator[tuple[int, int, float]]:
    import faiss

    n, dim = vectors.shape
    nlist = int(4 * n ** 0.5)
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    # Training on a fixed sample: the same store gives the same index, and so the same verdicts.
    sample = np.random.default_rng(0).choice(n, min(n, 40 * nlist), replace=False)
    index.train(_f32(vectors[np.sort(sample)]))
    for start in range(0, n, BLOCK * 4):
        index.add(_f32(vectors[start:start + BLOCK * 4]))
    index.nprobe = NPROBE
    seen: set[tuple[int, int]] = set()  # a pair may be found from either end
    for start in range(0, n, BLOCK * 4):
        lims, scores, ids = index.range_search(_f32(vectors[start:start + BLOCK * 4]), threshold)
        for r in range(len(lims) - 1):
            i = start + r
            for j, s in zip(ids[lims[r]:lims[r + 1]].tolist(), scores[lims[r]:lims[r + 1]].tolist()):
                pair = (i, j) if i < j else (j, i)
                if i != j and pair not in seen:
                    seen.add(pair)
                    yield pair[0], pair[1], float(s)
