"""Lexical near-dedup beside rensa, a MinHash-LSH library written in Rust (issue 25: within 1.3x of it).

Both sides get the same candidates and find their near-duplicate pairs with the same shape: MinHash
signatures of each match key's word bigrams (the same shingles: rensa gets them as strings, built before
its clock starts), the same number of permutations and LSH bands, and the same confirmation of every
candidate pair (`dedup.near`: rapidfuzz's ratio and the content comparison). Ours runs from the match keys
(splitting and word ids included); rensa from its token lists. Recall is measured against brute force
(all-pairs rapidfuzz) on the same sample for both. rensa is a benchmark anchor only, never a dependency
of curator: without it installed, only our side runs.
"""

from __future__ import annotations

import os
import time
from importlib.metadata import version


from curator.gates.content import Content
from curator.gates.dedup import DedupSettings, near, near_pairs
from curator.gates.scaffold import Scaffold
from curator.gates.sketch import Corpus, band_keys, band_pairs, minhash

try:
    import rensa
except ImportError:  # the anchor is optional
    rensa = None

SEED = 1


def load() -> str:
    return "load " + "/".join(f"{x:.1f}" for x in os.getloadavg())


def timed(run, repeat: int):
    """(least wall seconds, least CPU seconds, the last result) over `repeat` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        result = run()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus), result


def shingles(keys: list[str], n: int) -> list[list[str]]:
    """Each key's word n-grams as strings: the shingles our sketch hashes (`Corpus.ngrams`)."""
    out = []
    for key in keys:
        words = key.split(" ") if key else []
        out.append([" ".join(words[i:i + n]) for i in range(len(words) - n + 1)])
    return out


def confirm(keys: list[str], pairs, settings: DedupSettings, contents: list[Content | None] | None,
            scaffold: Scaffold) -> dict[tuple[int, int], tuple[float, dict]]:
    """The candidate pairs that `near_pairs` would keep (no per-item thresholds here)."""
    found = {}
    for a, b in pairs:
        hit = near(keys[a], keys[b], settings.threshold,
                   (contents[a], contents[b]) if contents is not None else (None, None), scaffold)
        if hit:
            found[(a, b)] = hit
    return found


def rensa_candidates(tokens: list[list[str]], settings: DedupSettings) -> set[tuple[int, int]]:
    """rensa's LSH candidate pairs: its MinHash of each token set, its index with our band count."""
    hashes = rensa.RMinHash.from_token_sets(tokens, settings.permutations, SEED)
    index = rensa.RMinHashLSH(0.5, settings.permutations, settings.bands)  # the bands decide, not the threshold
    index.insert_many(hashes)
    return {(i, j) for i, found in enumerate(index.query_all(hashes)) for j in found if j > i}


def rensa_pairs(keys, tokens, settings, contents=None, scaffold=Scaffold()):
    return confirm(keys, rensa_candidates(tokens, settings), settings, contents, scaffold)


def profile(keys: list[str], settings: DedupSettings, contents, scaffold: Scaffold, repeat: int
            ) -> tuple[float, float]:
    """Our near-dedup phase by phase (least of `repeat` runs each); (wall, CPU) seconds before the
    confirmation of pairs."""
    phases = []
    w, c, corpus = timed(lambda: Corpus.build(keys), repeat)
    phases.append(("split + word ids", w, c))
    w, c, (hashes, owner, _) = timed(lambda: corpus.ngrams(settings.ngram), repeat)
    phases.append(("n-gram hashes", w, c))
    w, c, sig = timed(lambda: minhash(hashes, owner, len(keys), settings.permutations), repeat)
    phases.append(("MinHash (all permutations)", w, c))
    w, c, bands = timed(lambda: band_keys(sig, settings.bands), repeat)
    phases.append(("band keys", w, c))
    w, c, pairs = timed(lambda: band_pairs(bands), repeat)
    phases.append(("LSH buckets -> pairs", w, c))
    w, c, found = timed(lambda: confirm(keys, pairs, settings, contents, scaffold), 1)
    phases.append(("confirm pairs (rapidfuzz + content)", w, c))
    total = sum(p[2] for p in phases)
    print(f"  our phases ({len(hashes):,} bigrams, {len(pairs):,} candidate pairs, {len(found):,} near pairs; {load()}):")
    for name, w, c in phases:
        print(f"    {name:38s} {w:6.2f} s wall  {c:6.2f} s CPU  {c / total:4.0%}")
    return sum(p[1] for p in phases[:-1]), sum(p[2] for p in phases[:-1])


def compare(keys: list[str], contents: list[Content | None], scaffold: Scaffold, settings: DedupSettings,
            sample: list[str], brute: set[tuple[int, int]], repeat: int = 3) -> None:
    """Ours beside rensa on all `keys` (least of `repeat` runs), and both recalls on `sample`."""
    print(f"near-dedup of {len(keys):,} candidates, {settings.permutations} permutations in {settings.bands} bands "
          f"(least of {repeat} runs):")
    w_sketch, c_sketch = profile(keys, settings, contents, scaffold, repeat)
    print(f"  ours, {load()}")
    w_ours, c_ours, ours = timed(lambda: near_pairs(keys, settings, None, contents, scaffold), repeat)
    print(f"  ours:  {w_ours:6.2f} s wall  {c_ours:6.2f} s CPU  {len(ours):,} near pairs; {load()}")
    recall = len(brute & set(near_pairs(sample, settings))) / len(brute) if brute else 1.0
    print(f"  ours:  recall {recall:.4f} on the {len(sample):,} sample ({len(brute):,} brute-force pairs)")
    if rensa is None:
        print("  rensa is not installed: no anchor (pip install rensa to measure it beside ours)")
        return
    t0 = time.perf_counter()
    tokens = shingles(keys, settings.ngram)
    print(f"  rensa {version('rensa')}: its token lists built in {time.perf_counter() - t0:.1f} s "
          f"(not counted)")
    w_rensa, c_rensa, theirs = timed(lambda: rensa_pairs(keys, tokens, settings, contents, scaffold), repeat)
    print(f"  rensa: {w_rensa:6.2f} s wall  {c_rensa:6.2f} s CPU  {len(theirs):,} near pairs; {load()}")
    w_core, c_core, candidates = timed(lambda: rensa_candidates(tokens, settings), repeat)
    print(f"  rensa without the confirmation: {w_core:.2f} s wall  {c_core:.2f} s CPU  "
          f"({len(candidates):,} candidate pairs); ours to its candidate pairs (the phases above but the "
          f"last): {w_sketch / w_core:.2f}x wall, {c_sketch / c_core:.2f}x CPU")
    found = set(rensa_pairs(sample, shingles(sample, settings.ngram), settings))
    recall = len(brute & found) / len(brute) if brute else 1.0
    print(f"  rensa: recall {recall:.4f} on the same sample")
    print(f"  ours / rensa: {w_ours / w_rensa:.2f}x wall, {c_ours / c_rensa:.2f}x CPU (target <= 1.3); "
          f"near pairs only ours {len(set(ours) - set(theirs)):,}, only rensa's {len(set(theirs) - set(ours)):,}")
