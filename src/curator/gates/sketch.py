"""Vectorised text sketches for set-level gates: word n-gram hashes and MinHash signatures.

Texts are match keys split into words; words get integer ids; n-grams are hashed with numpy in one
pass over all texts (`Corpus`), so 200k candidates cost seconds, not minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer: a good 64-bit mixer, vectorised (wrapping uint64 arithmetic)."""
    x = (x + _GOLDEN) & _MASK
    x = ((x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK
    x = ((x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK
    return x ^ (x >> np.uint64(31))


@dataclass
class Corpus:
    """Many texts as one array of word ids with offsets: text i is ids[offsets[i]:offsets[i+1]]."""

    ids: np.ndarray
    offsets: np.ndarray

    @classmethod
    def build(cls, keys: list[str]) -> "Corpus":
        """Word ids are Python string hashes: consistent within one process, which is all a run needs."""
        lengths = [key.count(" ") + 1 if key else 0 for key in keys]
        words = " ".join(k for k in keys if k).split(" ") if any(keys) else []
        ids = np.fromiter(map(hash, words), dtype=np.int64, count=len(words)).view(np.uint64)
        offsets = np.zeros(len(keys) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return cls(ids, offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def ngrams(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Hashes of every word n-gram that lies inside one text, the text each belongs to, and the
        word index where it starts in that text."""
        total = len(self.ids)
        if total < n:
            empty = np.zeros(0, dtype=np.int64)
            return np.zeros(0, dtype=np.uint64), empty, empty
        h = np.zeros(total - n + 1, dtype=np.uint64)
        for k in range(n):
            h = _mix(h ^ self.ids[k: total - n + 1 + k])
        starts = np.arange(total - n + 1)
        owner = np.searchsorted(self.offsets, starts, side="right") - 1
        inside = starts + n <= self.offsets[owner + 1]
        return h[inside], owner[inside], (starts - self.offsets[owner])[inside]


def minhash(hashes: np.ndarray, owner: np.ndarray, count: int, permutations: int, seed: int = 1) -> np.ndarray:
    """MinHash signatures (count x permutations) of each text's set of n-gram hashes.

    Texts with no n-gram get a signature of their own (all max) that matches nothing useful.
    """
    rng = np.random.default_rng(seed)
    salts = rng.integers(1, 2**63 - 1, size=permutations, dtype=np.uint64)
    sig = np.full((count, permutations), np.iinfo(np.uint64).max, dtype=np.uint64)
    if len(hashes) == 0:
        return sig
    order = np.argsort(owner, kind="stable")
    owner, hashes = owner[order], hashes[order]
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    docs = owner[starts]
    for j, salt in enumerate(salts):
        sig[docs, j] = np.minimum.reduceat(_mix(hashes ^ salt), starts)
    return sig


def lsh_pairs(sig: np.ndarray, bands: int, max_bucket: int = 200) -> set[tuple[int, int]]:
    """Candidate pairs: texts whose signatures agree on all rows of at least one band."""
    count, perms = sig.shape
    rows = perms // bands
    pairs: set[tuple[int, int]] = set()
    empty = np.all(sig == np.iinfo(np.uint64).max, axis=1)
    for b in range(bands):
        band = sig[:, b * rows:(b + 1) * rows]
        key = np.zeros(count, dtype=np.uint64)
        for r in range(rows):
            key = _mix(key ^ band[:, r])
        key[empty] = np.arange(int(empty.sum()), dtype=np.uint64)  # empty texts never collide
        order = np.argsort(key, kind="stable")
        sorted_keys = key[order]
        boundaries = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1], True])
        sizes = np.diff(boundaries)
        for start, size in zip(boundaries[:-1][sizes > 1], sizes[sizes > 1]):
            members = sorted(order[start:start + size].tolist())
            if size > max_bucket:  # a huge cluster: chain it instead of all pairs
                pairs.update(zip(members, members[1:]))
                continue
            for i, a in enumerate(members):
                for b_ in members[i + 1:]:
                    pairs.add((a, b_))
    return pairs
