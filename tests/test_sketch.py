"""The set-level gates' sketches: word ids, n-grams, MinHash and LSH pairs against plain reference code,
and the same sketches in another process (no salted `hash()`)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from curator.gates import sketch
from curator.gates.sketch import Corpus, band_keys, band_pairs, minhash, word_id

ROOT = Path(__file__).resolve().parents[1]
WORDS = "آب باران کتاب‌ها مدرسه را که از ۱۲ ۳/۴ x y".split()


def keys(count: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    out = ["", "تنها", "دو  فاصله", " آغاز", "پایان ", "آب باران"]
    while len(out) < count:
        out.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12))))
    return out


@pytest.mark.parametrize("arrow_from, batch", [(0, 2), (0, 50_000), (10**9, 2)])
def test_word_ids_are_each_word_s_stable_hash_in_order(monkeypatch, arrow_from: int, batch: int) -> None:
    monkeypatch.setattr(sketch, "_ARROW_FROM", arrow_from)  # split by Arrow or by Python
    monkeypatch.setattr(sketch, "_BUILD_BATCH", batch)  # the batches' seams change nothing
    texts = keys(40)
    corpus = Corpus.build(texts)
    assert len(corpus) == len(texts)
    for i, text in enumerate(texts):
        expected = [word_id(w) for w in text.split(" ")] if text else []
        assert corpus.ids[corpus.offsets[i]:corpus.offsets[i + 1]].tolist() == expected, text


def test_ngrams_stay_inside_their_text() -> None:
    texts = keys(60)
    corpus = Corpus.build(texts)
    for n in (1, 2, 3):
        hashes, owner, starts = corpus.ngrams(n)
        seen = {(int(o), int(s)): int(h) for h, o, s in zip(hashes, owner, starts)}
        expected = {(i, s) for i, t in enumerate(texts) for s in range(len(t.split(" ")) - n + 1 if t else 0)}
        assert set(seen) == expected
        by_words: dict[tuple[str, ...], set[int]] = {}
        for (i, start), h in seen.items():
            by_words.setdefault(tuple(texts[i].split(" ")[start:start + n]), set()).add(h)
        assert all(len(found) == 1 for found in by_words.values())  # one n-gram, one hash, wherever it is
        assert len({next(iter(found)) for found in by_words.values()}) == len(by_words)  # and another for another


def test_minhash_is_each_text_s_least_affine_image_whatever_the_order() -> None:
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 2**63, size=3000, dtype=np.uint64)
    owner = np.sort(rng.integers(0, 40, size=3000))
    owner[owner == 7] = 8  # a text with no n-gram
    sig = minhash(hashes, owner, 41, 9)
    shuffled = rng.permutation(len(hashes))
    assert np.array_equal(minhash(hashes[shuffled], owner[shuffled], 41, 9), sig)
    gen = np.random.default_rng(1)  # minhash's own draw of the permutations
    mult = (gen.integers(1, 2**32 - 1, size=9, dtype=np.uint64) | np.uint64(1)).astype(np.uint32)
    add = gen.integers(0, 2**32 - 1, size=9, dtype=np.uint64).astype(np.uint32)
    for text in range(41):
        tops = [int(h) >> 32 for h in hashes[owner == text]]
        expected = [min(((int(a) * x + int(b)) % 2**32 for x in tops), default=2**32 - 1) for a, b in zip(mult, add)]
        assert sig[text].tolist() == expected, text


def reference_pairs(keys: np.ndarray, focus: np.ndarray | None, max_bucket: int) -> set[tuple[int, int]]:
    pairs = set()
    for column in keys.T:
        buckets: dict[int, list[int]] = {}
        for row, key in enumerate(column.tolist()):
            buckets.setdefault(key, []).append(row)
        for members in buckets.values():
            if focus is not None and not focus[members].any():
                continue  # with a focus, only the buckets of focused rows
            if len(members) > max_bucket:
                pairs.update(zip(members, members[1:]))
            else:
                pairs.update((a, b) for a, b in combinations(members, 2)
                             if focus is None or focus[a] or focus[b])
    return pairs


@pytest.mark.parametrize("max_bucket", [200, 3])
def test_band_pairs_are_every_pair_sharing_a_band_key(max_bucket: int) -> None:
    rng = np.random.default_rng(4)
    keys = rng.integers(0, 12, size=(120, 5)).astype(np.uint64)  # small buckets and large ones
    keys[:, 4] = np.arange(120, dtype=np.uint64) + 100  # a band where nobody meets
    assert band_pairs(keys, max_bucket=max_bucket) == reference_pairs(keys, None, max_bucket)
    focus = np.zeros(120, dtype=bool)
    focus[[3, 50, 119]] = True
    assert band_pairs(keys, focus, max_bucket) == reference_pairs(keys, focus, max_bucket)


def test_another_process_makes_the_same_sketches() -> None:
    """Word ids are no salted `hash()`: a process with another PYTHONHASHSEED gets the same band keys
    (there through Arrow's split, here through Python's)."""
    texts = keys(300)
    code = ("import sys, json\nfrom curator.gates import sketch\nsketch._ARROW_FROM = 0\n"
            "from curator.gates.sketch import Corpus, minhash, band_keys\n"
            "texts = json.load(sys.stdin)\nc = Corpus.build(texts)\nh, o, _ = c.ngrams(2)\n"
            "sys.stdout.write(band_keys(minhash(h, o, len(texts), 63), 21).tobytes().hex())")
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(texts), capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    corpus = Corpus.build(texts)
    hashes, owner, _ = corpus.ngrams(2)
    here = band_keys(minhash(hashes, owner, len(texts), 63), 21)
    assert out.stdout == here.tobytes().hex()
