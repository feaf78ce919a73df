"""Duplicates over every candidate and seed: the same content, in any wording; a shared template is not
a duplicate.

Exact: the same match key. Near: MinHash-LSH on word bigrams picks candidate pairs (all pairs do not
scale), and rapidfuzz's `fuzz.ratio` confirms them unless their content differs (other numbers, another
quoted sentence, another slot in one frame: «۱۱ × ۷۰» is not «۱۳ × ۷۰»). Same content: two examples of
one family that share their heaviest content units (content keys pick the pairs) and `content_threshold`
of either's content weight, reworded or not. Duplicates form clusters with one keeper — hand-written
first, then the one the curator chose (the latest choice first: `services.keeper`), then accepted, then
not failed by other gates, then the higher judge score, then the older — and the others fail naming
their keeper and what they share. A seed is never failed by a generated copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz

from curator.config import GateSettings
from curator.gates.base import Verdict
from curator.gates.content import Content
from curator.gates.scaffold import Scaffold, compare, content_keys, same_content
from curator.gates.sketch import Corpus, key_pairs, lsh_pairs, minhash

NAME, VERSION = "dedup", "2"
CONTENT_KEYS = 8  # content units that pair examples up (numbers first, then the heaviest words)
CONTENT_SHARED = 2  # ... when they share this many of them
CONTENT_BUCKET = 50  # a content unit held by more examples than this pairs nobody


@dataclass(frozen=True)
class DedupItem:
    id: int
    key: str  # match key of instruction + response
    seed: bool = False
    accepted: bool = False
    failed_elsewhere: bool = False
    judge_score: float = 0.0
    threshold: float | None = None  # the family's own near-dup threshold, if it sets one
    family: str = ""
    content: Content | None = None
    chosen: int = 0  # the curator made it the keeper of its duplicates: the decision's id (a later choice outranks)

    def priority(self) -> tuple:
        return (not self.seed, -self.chosen, not self.accepted, self.failed_elsewhere, -self.judge_score, self.id)


@dataclass
class DedupSettings:
    threshold: float = GateSettings().near_duplicate  # fuzz.ratio on match keys, 0-100 (curator.toml [gates])
    permutations: int = 63
    bands: int = 21
    ngram: int = 2
    content_threshold: float = GateSettings().same_content  # share of either's content weight two examples of one family share


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


def near(a: str, b: str, cutoff: float, contents: tuple[Content | None, Content | None], scaffold: Scaffold
         ) -> tuple[float, dict] | None:
    """(fuzz.ratio 0-1, what they share) when two match keys are near duplicates and their content does
    not differ; None otherwise."""
    score = fuzz.ratio(a, b, score_cutoff=cutoff)
    if not score:
        return None
    if contents[0] is None or contents[1] is None:
        return score / 100, {}
    match = compare(contents[0], contents[1], scaffold)
    return None if match.conflict else (score / 100, match.evidence())


def same(a: Content, b: Content, scaffold: Scaffold, threshold: float) -> tuple[float, dict] | None:
    """(the larger share of either's content weight, what they share) when two examples of one family
    say the same; None otherwise."""
    match = compare(a, b, scaffold)
    if not same_content(match, threshold, both_ways=True):
        return None
    return round(min(1.0, max(match.coverage, match.reverse)), 3), match.evidence()


def near_pairs(keys: list[str], settings: DedupSettings = DedupSettings(),
               thresholds: list[float | None] | None = None, contents: list[Content | None] | None = None,
               scaffold: Scaffold = Scaffold()) -> dict[tuple[int, int], tuple[float, dict]]:
    """Index pairs whose keys are near duplicates, with their fuzz.ratio (0-1) and what they share.

    A pair must reach the stricter of its two items' thresholds (default `settings.threshold`), and
    their content (when given) must not differ.
    """
    corpus = Corpus.build(keys)
    hashes, owner, _ = corpus.ngrams(settings.ngram)
    sig = minhash(hashes, owner, len(keys), settings.permutations)
    found = {}
    for a, b in lsh_pairs(sig, settings.bands):
        cutoff = settings.threshold
        if thresholds is not None:
            cutoff = max(cutoff, thresholds[a] or cutoff, thresholds[b] or cutoff)
        pair = (contents[a], contents[b]) if contents is not None else (None, None)
        hit = near(keys[a], keys[b], cutoff, pair, scaffold)
        if hit:
            found[(a, b)] = hit
    return found


def dedup(items: list[DedupItem], settings: DedupSettings = DedupSettings(),
          scaffolds: dict[str, Scaffold] | None = None) -> dict[int, Verdict]:
    """A verdict for every item: pass for keepers and unique items, fail for the others."""
    scaffolds = scaffolds or {}
    uf = UnionFind()
    evidence: dict[int, tuple[int, float, str, dict]] = {}
    by_key: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.key in by_key:
            uf.union(by_key[item.key], i)
            evidence[i] = (by_key[item.key], 1.0, "exact", {})
        else:
            by_key[item.key] = i
    contents = [it.content for it in items]
    families = {it.family for it in items}
    for family in sorted(families):  # near pairs are judged with each family's scaffold
        rows = [i for i, it in enumerate(items) if it.family == family]
        scaffold = scaffolds.get(family, Scaffold())
        found = near_pairs([items[i].key for i in rows], settings, [items[i].threshold for i in rows],
                           [contents[i] for i in rows], scaffold)
        keys = np.zeros((len(rows), CONTENT_KEYS), dtype=np.uint64)
        for r, i in enumerate(rows):
            if contents[i] is not None:
                made = content_keys(contents[i], scaffold, family, CONTENT_KEYS)
                keys[r, :len(made)] = made
        for a, b in key_pairs(keys, max_bucket=CONTENT_BUCKET, min_shared=CONTENT_SHARED):
            if (a, b) not in found and contents[rows[a]] is not None and contents[rows[b]] is not None:
                hit = same(contents[rows[a]], contents[rows[b]], scaffold, settings.content_threshold)
                if hit:
                    found[(a, b)] = (hit[0], {**hit[1], "how": "content"})
        for (a, b), (score, shared) in found.items():
            i, j = rows[a], rows[b]
            how = shared.pop("how", "near") if shared else "near"
            uf.union(i, j)
            evidence.setdefault(j, (i, score, how, shared))
            evidence.setdefault(i, (j, score, how, shared))
    return cluster_verdicts(items, uf, evidence)


REASONS = {"exact": "duplicate_of", "near": "near_duplicate_of", "content": "same_content_as",
           "meaning": "paraphrase_of"}


def cluster_verdicts(items: list[DedupItem], uf: "UnionFind", evidence: dict[int, tuple]) -> dict[int, Verdict]:
    """One keeper per cluster of `uf` (by priority), the others failed naming it; `evidence[i]` is
    (matched item index, score 0-1, how: exact, near, content or meaning[, what they share])."""
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
                chosen = {"chosen": True} if item.chosen else {}  # the curator's choice, not the gate's
                verdicts[item.id] = Verdict.ok(None, cluster_size=len(members), keeper=keeper_id, **chosen)
            elif item.seed:
                verdicts[item.id] = Verdict.ok(None, cluster_size=len(members), keeper=keeper_id,
                                               note="a seed is never removed as a duplicate")
            else:
                if item.key == items[keeper].key:
                    other, score, kind, shared = keeper, 1.0, "exact", {}
                else:
                    other, score, kind, *rest = evidence.get(i, (keeper, 0.0, "near"))
                    shared = rest[0] if rest else {}
                detail = {"keeper": keeper_id, "cluster_size": len(members), "matched": items[other].id, "how": kind}
                if shared:
                    detail["shared"] = shared
                verdicts[item.id] = Verdict("fail", REASONS[kind], score, detail)
    return verdicts
