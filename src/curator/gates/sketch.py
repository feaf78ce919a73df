"""Vectorised text sketches for set-level gates: word n-gram hashes and MinHash signatures.

Texts are match keys split into words; words get integer ids; n-grams are hashed with numpy in one
pass over all texts (`Corpus`), so 200k candidates cost seconds, not minutes. Word ids are a keyed
hash of the word's bytes (not Python's per-process salted `hash`), so the same texts give the same
sketches in every process and on every machine: stored sketches and verdicts stay reproducible.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer: a good 64-bit mixer, vectorised (wrapping uint64 arithmetic), in place:
    `x` (uint64) is overwritten and returned."""
    x += _GOLDEN
    t = x >> np.uint64(30)
    x ^= t
    x *= np.uint64(0xBF58476D1CE4E5B9)
    np.right_shift(x, np.uint64(27), out=t)
    x ^= t
    x *= np.uint64(0x94D049BB133111EB)
    np.right_shift(x, np.uint64(31), out=t)
    x ^= t
    return x


_ARROW_FROM = 5_000  # keys from which Arrow splits them (fewer: loading it would cost more than it saves)
_BUILD_BATCH = 50_000  # keys Arrow splits into words at a time (memory)


@dataclass
class Corpus:
    """Many texts as one array of word ids with offsets: text i is ids[offsets[i]:offsets[i+1]]."""

    ids: np.ndarray
    offsets: np.ndarray

    @classmethod
    def build(cls, keys: list[str]) -> "Corpus":
        """Word ids are stable 64-bit hashes (`word_id`), each distinct word hashed once. Many keys are
        split and told apart by Arrow's string kernels (C++), a batch at a time: no Python object a
        word; a few by Python's `str.split` (no Arrow to load for them)."""
        if len(keys) < _ARROW_FROM:
            lengths = [key.count(" ") + 1 if key else 0 for key in keys]
            words = " ".join(k for k in keys if k).split(" ") if any(keys) else []
            vocab = {w: word_id(w) for w in set(words)}
            ids = np.fromiter(map(vocab.__getitem__, words), dtype=np.uint64, count=len(words))
        else:
            ids, lengths = _split_with_arrow(keys)
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
        count = total - n + 1
        h = _mix(self.ids[:count].copy())
        for k in range(1, n):
            h ^= self.ids[k:count + k]
            _mix(h)
        lengths = self.lengths()
        owner = np.repeat(np.arange(len(lengths)), lengths)[:count]
        position = np.arange(count) - self.offsets[owner]  # the word where each n-gram starts in its text
        inside = position + n <= lengths[owner]
        return h[inside], owner[inside], position[inside]


def _split_with_arrow(keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(word ids of every key in order, words a key) with Arrow's split and dictionary encoding."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lengths = np.zeros(len(keys), dtype=np.int64)
    parts = [np.zeros(0, dtype=np.uint64)]
    known: dict[str, int] = {}  # word ids made in earlier batches
    for lo in range(0, len(keys), _BUILD_BATCH):
        batch = keys[lo:lo + _BUILD_BATCH]
        present = np.fromiter(map(bool, batch), dtype=bool, count=len(batch))  # "" has no word
        encoded = [k.encode("utf-8") for k in batch if k]
        ends = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=ends[1:])
        texts = pa.LargeStringArray.from_buffers(len(encoded), pa.py_buffer(ends), pa.py_buffer(b"".join(encoded)))
        words = pc.split_pattern(texts, " ")
        lengths[lo:lo + len(batch)][present] = np.diff(words.offsets.to_numpy())
        distinct = pc.dictionary_encode(words.flatten())
        vocab = distinct.dictionary.to_pylist()
        known.update((w, word_id(w)) for w in vocab if w not in known)
        ids = np.fromiter(map(known.__getitem__, vocab), dtype=np.uint64, count=len(vocab))
        parts.append(ids[distinct.indices.to_numpy()])
    return np.concatenate(parts), lengths


def word_id(word: str) -> int:
    """A word's id: the same in every process and on every machine."""
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


MINHASH = "m32"  # the permutation family below (part of the stored sketches' version)
_BLOCK = 1 << 13  # n-gram hashes a block: the (block x permutations) values stay in the CPU's cache


def minhash(hashes: np.ndarray, owner: np.ndarray, count: int, permutations: int, seed: int = 1) -> np.ndarray:
    """MinHash signatures (count x permutations, uint32) of each text's set of n-gram hashes.

    Each permutation is an affine map of the hash's top 32 bits, (a·x + b) mod 2^32 with odd a (a
    bijection; the n-gram hashes are already well mixed), applied to every permutation at once in blocks
    of whole texts: two numpy operations per value instead of a 64-bit mixer per permutation. Texts with
    no n-gram get a signature of their own (all max) that matches nothing useful.
    """
    rng = np.random.default_rng(seed)
    mult = (rng.integers(1, 2**32 - 1, size=permutations, dtype=np.uint64) | np.uint64(1)).astype(np.uint32)
    add = rng.integers(0, 2**32 - 1, size=permutations, dtype=np.uint64).astype(np.uint32)
    sig = np.full((count, permutations), np.iinfo(np.uint32).max, dtype=np.uint32)
    if len(hashes) == 0:
        return sig
    if np.any(owner[1:] < owner[:-1]):  # `Corpus.ngrams` gives them in text order already
        order = np.argsort(owner, kind="stable")
        owner, hashes = owner[order], hashes[order]
    top = (hashes >> np.uint64(32)).astype(np.uint32)
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    docs = owner[starts]
    cuts = np.unique(np.r_[starts[np.searchsorted(starts, np.arange(0, len(top), _BLOCK))], len(top)])
    mult, add = mult[:, None], add[:, None]
    values = np.empty((permutations, int(np.diff(cuts).max())), dtype=np.uint32)
    for lo, hi in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
        first, last = np.searchsorted(starts, lo), np.searchsorted(starts, hi)
        block = values[:, :hi - lo]  # permutations x values: the inner loops run along contiguous memory
        np.multiply(mult, top[None, lo:hi], out=block)
        np.add(block, add, out=block)
        sig[docs[first:last]] = np.minimum.reduceat(block, starts[first:last] - lo, axis=1).T
    return sig


def band_keys(sig: np.ndarray, bands: int) -> np.ndarray:
    """One key per band of each signature (count x bands): two texts are LSH candidates when they
    share a key in some band. Texts with no n-gram get keys that never collide (their row index,
    with the top bit set)."""
    count, perms = sig.shape
    rows = perms // bands
    keys = np.zeros((count, bands), dtype=np.uint64)
    for r in range(rows):  # every band at once: row r of band b is column b * rows + r
        keys ^= sig[:, r:bands * rows:rows]
        _mix(keys)
    keys &= np.uint64(0x7FFFFFFFFFFFFFFF)
    empty = np.all(sig == np.iinfo(sig.dtype).max, axis=1)
    keys[empty] = (np.flatnonzero(empty).astype(np.uint64) | np.uint64(1 << 63))[:, None]
    return keys


_FILTER = 1 << 20  # bits of the bitmap that finds the rows sharing a band key with the focused rows


def band_pairs(keys: np.ndarray, focus: np.ndarray | None = None, max_bucket: int = 200) -> set[tuple[int, int]]:
    """Candidate pairs (row indices, smaller first) of texts that share a band key. With `focus` (a
    boolean mask), only pairs with at least one focused row: the new texts against everything.
    A bucket larger than `max_bucket` is chained (each member paired with the next) instead of
    paired all with all."""
    columns = np.ascontiguousarray(keys.T)
    low = np.uint64(_FILTER - 1)
    spread = np.uint64((1 << int(np.clip(np.ceil(np.log2(max(len(keys), 1))) + 3, 10, 24))) - 1)  # ~8 slots a row
    found: list[np.ndarray] = []  # pairs as a * len(keys) + b
    for b in range(keys.shape[1]):
        column = columns[b]
        if focus is not None:  # the rows sharing a key with a focused row: a bitmap of the keys' low bits
            wanted = column[focus]  # first, then an exact test of the few rows it lets through
            bitmap = np.zeros(_FILTER, dtype=bool)
            bitmap[(wanted & low).astype(np.int64)] = True
            rows = np.flatnonzero(bitmap[(column & low).astype(np.int64)])
            rows = rows[np.isin(column[rows], wanted)]
            order = rows[np.argsort(column[rows])]
        else:  # only rows whose key's low bits another row has too can share its key: few to sort
            bits = (column & spread).astype(np.intp)
            rows = np.flatnonzero(np.bincount(bits, minlength=int(spread) + 1)[bits] > 1)
            order = rows[np.argsort(column[rows])]
        sorted_keys = column[order]
        bounds = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1], True])
        sizes = np.diff(bounds)
        firsts = bounds[:-1]
        for size in np.unique(sizes[sizes > 1]).tolist():
            # every bucket of this size as a row of its members (ascending), then every pair at once
            members = np.sort(order[firsts[sizes == size][:, None] + np.arange(size)], axis=1)
            if size > max_bucket:
                i, j = np.arange(size - 1), np.arange(1, size)
            else:
                i, j = np.triu_indices(size, 1)
            left, right = members[:, i].reshape(-1), members[:, j].reshape(-1)
            if focus is not None and size <= max_bucket:
                keep = focus[left] | focus[right]
                left, right = left[keep], right[keep]
            found.append(left.astype(np.int64) * len(keys) + right)
    if not found:
        return set()
    pairs = np.unique(np.concatenate(found))
    return set(zip((pairs // len(keys)).tolist(), (pairs % len(keys)).tolist()))


def lsh_pairs(sig: np.ndarray, bands: int, max_bucket: int = 200) -> set[tuple[int, int]]:
    """Candidate pairs: texts whose signatures agree on all rows of at least one band."""
    return band_pairs(band_keys(sig, bands), max_bucket=max_bucket)


def key_pairs(keys: np.ndarray, focus: np.ndarray | None = None, max_bucket: int = 200,
              min_shared: int = 1) -> set[tuple[int, int]]:
    """Pairs of rows (smaller first) that share `min_shared` keys (or all the keys the one with fewer
    has) in any columns of `keys` (0 is no key). With `focus`, only pairs with a focused row. A key held
    by more than `max_bucket` rows pairs nobody: it is no longer content but scaffold."""
    if not keys.size:
        return set()
    columns = keys.shape[1]
    flat = keys.reshape(-1)
    if focus is None:
        entries = np.flatnonzero(flat)
    else:  # the entries sharing a key with a focused row: a bitmap of the keys' low bits, then an exact test
        wanted = keys[focus].reshape(-1)
        wanted = wanted[wanted != 0]
        low = np.uint64(_FILTER - 1)
        bitmap = np.zeros(_FILTER, dtype=bool)
        bitmap[(wanted & low).astype(np.int64)] = True
        entries = np.flatnonzero(bitmap[(flat & low).astype(np.int64)])
        entries = entries[(flat[entries] != 0) & np.isin(flat[entries], wanted)]
    values = flat[entries]
    order = np.argsort(values, kind="stable")
    values, rows = values[order], entries[order] // columns
    bounds = np.flatnonzero(np.r_[True, values[1:] != values[:-1], True])
    sizes = np.diff(bounds)
    firsts, lefts, rights = bounds[:-1], [], []
    for size in np.unique(sizes[(sizes > 1) & (sizes <= max_bucket)]).tolist():
        # every bucket of this size as a row of its members, then every pair of columns at once
        members = np.sort(rows[firsts[sizes == size][:, None] + np.arange(size)], axis=1)
        i, j = np.triu_indices(size, 1)
        lefts.append(members[:, i].reshape(-1))
        rights.append(members[:, j].reshape(-1))
    if not lefts:
        return set()
    a, b = np.concatenate(lefts), np.concatenate(rights)
    keep = a != b  # a row holding one key twice
    if focus is not None:
        keep &= focus[a] | focus[b]
    pairs, counts = np.unique(a[keep].astype(np.int64) * len(keys) + b[keep], return_counts=True)
    a, b = pairs // len(keys), pairs % len(keys)
    held = np.count_nonzero(keys, axis=1) if focus is None else None
    if held is None:
        involved = np.unique(np.concatenate([a, b]))
        held = np.zeros(len(keys), dtype=np.int64)
        held[involved] = np.count_nonzero(keys[involved], axis=1)
    needed = np.minimum(min_shared, np.minimum(held[a], held[b]))
    ok = counts >= needed
    return set(zip(a[ok].tolist(), b[ok].tolist()))
