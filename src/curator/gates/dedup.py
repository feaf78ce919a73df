"""Exact and near-duplicate detection over every candidate and seed, on match keys.

Exact: the same match key. Near: MinHash-LSH on word bigrams picks candidate pairs (all pairs do not
scale), and rapidfuzz's `fuzz.ratio` confirms them. Duplicates form clusters with one keeper —
hand-written first, then accepted, then not failed by other gates, then the higher judge score,
then the older — and the others fail naming their keeper. A seed is never failed by a generated copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

from curator.gates.base import Verdict
from curator.gates.sketch import Corpus, lsh_pairs, minhash

NAME, VERSION = "dedup", "1"


@dataclass(frozen=True)
class DedupItem:
    id: int
    key: str  # match key of instruction + response
    seed: bool = False
    accepted: bool = False
    failed_elsewhere: bool = False
    judge_score: float = 0.0
    threshold: float | None = None  # the family's own near-dup threshold, if it sets one

    def priority(self) -> tuple:
        return (not self.seed, not self.accepted, self.failed_elsewhere, -self.judge_score, self.id)


@dataclass
class DedupSettings:
    threshold: float = 90.0  # fuzz.ratio on match keys, 0-100
    permutations: int = 63
    bands: int = 21
    ngram: int = 2


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def near_pairs(keys: list[str], settings: DedupSettings = DedupSettings(),
               thresholds: list[float | None] | None = None) -> dict[tuple[int, int], float]:
    """Index pairs whose keys are near duplicates, with their fuzz.ratio score.

    A pair must reach the stricter of its two items' thresholds (default `settings.threshold`).
    """
    corpus = Corpus.build(keys)
    hashes, owner, _ = corpus.ngrams(settings.ngram)
    sig = minhash(hashes, owner, len(keys), settings.permutations)
    found = {}
    for a, b in lsh_pairs(sig, settings.bands):
        cutoff = settings.threshold
        if thresholds is not None:
            cutoff = max(cutoff, thresholds[a] or cutoff, thresholds[b] or cutoff)
        score = fuzz.ratio(keys[a], keys[b], score_cutoff=cutoff)
        if score:
            found[(a, b)] = score
    return found


def dedup(items: list[DedupItem], settings: DedupSettings = DedupSettings()) -> dict[int, Verdict]:
    """A verdict for every item: pass for keepers and unique items, fail for the others."""
    uf = UnionFind()
    evidence: dict[int, tuple[int, float, str]] = {}
    by_key: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.key in by_key:
            uf.union(by_key[item.key], i)
            evidence[i] = (by_key[item.key], 1.0, "exact")
        else:
            by_key[item.key] = i
    for (a, b), score in near_pairs([it.key for it in items], settings, [it.threshold for it in items]).items():
        uf.union(a, b)
        evidence.setdefault(b, (a, score / 100, "near"))
        evidence.setdefault(a, (b, score / 100, "near"))
    return cluster_verdicts(items, uf, evidence)


REASONS = {"exact": "duplicate_of", "near": "near_duplicate_of", "meaning": "paraphrase_of"}


def cluster_verdicts(items: list[DedupItem], uf: "UnionFind", evidence: dict[int, tuple[int, float, str]]
                     ) -> dict[int, Verdict]:
    """One keeper per cluster of `uf` (by priority), the others failed naming it; `evidence[i]` is
    (matched item index, score 0-1, how: exact, near or meaning)."""
    clusters: dict[int, list[int]] = {}
    for i in range(len(items)):
        clusters.setdefault(uf.find(i), []).append(i)
    verdicts: dict[int, Verdict] = {}
    for members in clusters.values():
        if len(members) == 1:
            verdicts[items[members[0]].id] = Verdict.ok(None, cluster_size=1)
            continue
        keeper = min(members, key=lambda i: items[i].priority())
        keeper_id = items[keeper].id
        for i in members:
            item = items[i]
            if i == keeper:
                verdicts[item.id] = Verdict.ok(None, cluster_size=len(members), keeper=keeper_id)
            elif item.seed:
                verdicts[item.id] = Verdict.ok(None, cluster_size=len(members), keeper=keeper_id,
                                               note="a seed is never removed as a duplicate")
            else:
                if item.key == items[keeper].key:
                    other, score, kind = keeper, 1.0, "exact"
                else:
                    other, score, kind = evidence.get(i, (keeper, 0.0, "near"))
                verdicts[item.id] = Verdict(
                    "fail", REASONS[kind], score,
                    {"keeper": keeper_id, "cluster_size": len(members), "matched": items[other].id, "how": kind})
    return verdicts
