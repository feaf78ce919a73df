"""The meaning gates: semantic decontamination and semantic near-dedup, on stored embeddings, each pair
judged against its family's own similarity distribution and by its content.

A family written from templates puts every pair of its items close (multilingual-e5-small: unrelated
Persian texts near 0.73, same-template texts above 0.92), so no one cosine can tell template from
content. Each family has its own threshold: the cosine that only 1 in 100 random pairs of its items
reach (`family_threshold`), and never less than the configured floors. A pair above it is the same
only if their content does not differ (`gates.scaffold`: other numbers by value, another quoted
sentence, another slot in one frame); the closest `TOP` pairs of each candidate are looked at.

`decontam_meaning`: a candidate (its ask + response) that reaches its family's threshold with an eval
item's ask or its ask + response is a paraphrase of a private eval item: it fails (never exported),
naming the item, the score, which of the item's texts matched, and the shared content.
`dedup_meaning`: within a family, ask + response above the family's threshold joins a cluster; one
keeper per cluster as in the lexical dedup. Candidates without an embedding get no verdict here, and
the report says how many.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from curator.config import MeaningSettings
from curator.gates.base import Verdict
from curator.gates.dedup import DedupItem, UnionFind, cluster_verdicts
from curator.gates.scaffold import Match
from curator.meaning.embedder import unpack
from curator.meaning.search import hits, pairs

DECONTAM, DEDUP, VERSION = "decontam_meaning", "dedup_meaning", "2"
QUANTILE = 0.99  # a family's threshold: the cosine only 1 in 100 random pairs of its items reach
SAMPLE = 2000  # ... measured on at most this many of its items
MIN_ITEMS = 50  # a family with fewer items has too few pairs to say where its 1 in 100 lies: the floor holds
TOP = 20  # the closest pairs of a candidate whose content is compared

# The content of a pair (candidate id, other id): a `scaffold.Match` (None: unknown, nothing stands against).
Judge = Callable[[int, int], "Match | None"]


def family_threshold(vectors: np.ndarray, floor: float, *, known: np.ndarray | None = None) -> float:
    """The cosine that only 1 in 100 random pairs of a family's items reach (on an even sample of at
    most `SAMPLE` of them), and never less than `floor` (the floor alone below `MIN_ITEMS` items).
    `known`: a boolean matrix of pairs that are not random (a labelled set's own pairs), left out."""
    if len(vectors) < MIN_ITEMS:
        return floor
    step = max(1, len(vectors) // SAMPLE)
    x = np.ascontiguousarray(vectors[::step][:SAMPLE], dtype=np.float32)
    scores = x @ x.T
    upper = np.triu(np.ones(scores.shape, dtype=bool), 1)
    if known is not None:
        upper &= ~known[::step, ::step][:len(x), :len(x)]
    return max(floor, round(float(np.quantile(scores[upper], QUANTILE)), 4))


@dataclass
class Embedded:
    """Examples with their vectors, row i of each array being `ids[i]` (`ask` for eval items only)."""

    ids: list[int]
    numbers: list[str]
    whole: np.ndarray
    ask: np.ndarray | None = None

    @classmethod
    def from_rows(cls, rows: list[tuple[int, str, bytes]]) -> "Embedded":
        """From (id, numbers, whole blob) rows."""
        return cls([r[0] for r in rows], [r[1] for r in rows], unpack([r[2] for r in rows]))

    @classmethod
    def evals_from_rows(cls, rows: list[tuple[int, str, bytes | None, bytes]]) -> "Embedded":
        """From (id, numbers, ask blob, whole blob) rows of eval items."""
        rows = [r for r in rows if r[2] is not None]
        return cls([r[0] for r in rows], [r[1] for r in rows], unpack([r[3] for r in rows]),
                   unpack([r[2] for r in rows]))

    def take(self, rows: list[int]) -> "Embedded":
        return Embedded([self.ids[i] for i in rows], [self.numbers[i] for i in rows], self.whole[rows],
                        None if self.ask is None else self.ask[rows])


def eval_set(evals: Embedded, settings: MeaningSettings, model: str, thresholds: dict[str, float]) -> str:
    """What a verdict was checked against: the eval items, the model, the floors and the families' thresholds."""
    digest = hashlib.sha256(repr((model, settings.decontam_ask, settings.decontam_whole,
                                  settings.numbers_must_agree, sorted(thresholds.items()), VERSION)).encode())
    digest.update(np.asarray(evals.ids, dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]


def numbers_differ(a: str, b: str) -> bool:
    """Whether two number signatures (`meaning.texts.number_signature`) each hold a number the other lacks
    («۲۴ ÷ ۶» and «۲۴ ÷ ۸» do; «نقش دو واژه…» and a question with no number do not)."""
    if a == b:  # most pairs: the same numbers, or none
        return False
    left, right = Counter(a.split()), Counter(b.split())
    return bool(left - right) and bool(right - left)


def _objection(match: "Match | None", numbers: tuple[str, str], settings: MeaningSettings) -> bool:
    """Whether the pair's content differs: by its content comparison, or (without one) by its numbers."""
    if match is None:
        return settings.numbers_must_agree and numbers_differ(*numbers)
    if match.conflict is None:
        return False
    return match.conflict != "numbers" or settings.numbers_must_agree


def paraphrases(cands: Embedded, evals: Embedded, settings: MeaningSettings, *, thresholds: list[float] | None = None,
                judge: Judge | None = None) -> dict[int, tuple[int, str, float, "Match | None"]]:
    """{candidate row: (eval row, part matched, cosine, content match)} for each candidate that paraphrases
    an eval item (the closest one no content comparison objects to); the others are left out.
    `thresholds[i]` is candidate i's family threshold (default: the floors); `judge` compares a pair's content."""
    # One pass over the candidates against the items' asks and wholes stacked (the same vector is compared).
    n = len(evals.ids)
    keys = evals.whole if evals.ask is None else np.concatenate([evals.ask, evals.whole])
    parts = ("whole",) if evals.ask is None else ("ask", "whole")
    limits = {"ask": settings.decontam_ask, "whole": settings.decontam_whole}
    own = thresholds or [0.0] * len(cands.ids)
    found: dict[int, list[tuple[float, int, str, float]]] = {}
    for i, k, score in hits(cands.whole, keys, min(limits[p] for p in parts)):
        part, j = parts[k // n], k % n
        threshold = max(limits[part], own[i])
        if score >= threshold:
            found.setdefault(i, []).append((score - threshold, j, part, score))
    best: dict[int, tuple[int, str, float, Match | None]] = {}
    for i in sorted(found):
        for margin, j, part, score in sorted(found[i], key=lambda h: (-h[0], h[1]))[:TOP]:
            match = judge(cands.ids[i], evals.ids[j]) if judge else None
            if not _objection(match, (cands.numbers[i], evals.numbers[j]), settings):
                best[i] = (j, part, score, match)
                break
    return best


def decontaminate(cands: Embedded, evals: Embedded, settings: MeaningSettings, fingerprint: str, *,
                  thresholds: list[float] | None = None, judge: Judge | None = None) -> dict[int, Verdict]:
    """A verdict for every candidate: fail with the closest eval item it paraphrases (`paraphrases`), else pass."""
    found = paraphrases(cands, evals, settings, thresholds=thresholds, judge=judge)
    verdicts = {}
    for i, ex_id in enumerate(cands.ids):
        if i not in found:
            verdicts[ex_id] = Verdict.ok(None, eval_set=fingerprint)
            continue
        j, part, score, match = found[i]
        detail = {"eval_item": evals.ids[j], "matched": part, "score": round(score, 4), "eval_set": fingerprint}
        if match is not None:
            detail["shared"] = match.evidence()
        verdicts[ex_id] = Verdict("fail", "paraphrase_of_eval", round(score, 4), detail)
    return verdicts


def dedup(items: list[DedupItem], families: list[str], embedded: Embedded, settings: MeaningSettings, *,
          thresholds: dict[str, float] | None = None, judge: Judge | None = None) -> dict[int, Verdict]:
    """A verdict for every item (row i of `embedded` is `items[i]`): clusters of paraphrases within a
    family (above its threshold, `thresholds[family]`, never below `settings.dedup`), one keeper each."""
    uf = UnionFind()
    evidence: dict[int, tuple] = {}
    by_family: dict[str, list[int]] = {}
    for i, family in enumerate(families):
        by_family.setdefault(family, []).append(i)
    for family, rows in by_family.items():
        threshold = max(settings.dedup, (thresholds or {}).get(family, 0.0))
        near: dict[int, int] = {}
        for a, b, score in sorted(pairs(embedded.whole[rows], threshold), key=lambda p: -p[2]):
            i, j = rows[a], rows[b]
            if near.get(i, 0) >= TOP or near.get(j, 0) >= TOP:
                continue
            near[i] = near.get(i, 0) + 1
            near[j] = near.get(j, 0) + 1
            match = judge(embedded.ids[i], embedded.ids[j]) if judge else None
            if _objection(match, (embedded.numbers[i], embedded.numbers[j]), settings):
                continue
            uf.union(i, j)
            shared = match.evidence() if match is not None else {}
            evidence.setdefault(j, (i, score, "meaning", shared))
            evidence.setdefault(i, (j, score, "meaning", shared))
    return cluster_verdicts(items, uf, evidence)


def dedup_settings(settings: MeaningSettings, model: str, thresholds: dict[str, float]) -> str:
    """What dedup verdicts were made with; a change means clustering everything again."""
    return hashlib.sha256(repr((model, settings.dedup, settings.numbers_must_agree, sorted(thresholds.items()),
                                VERSION)).encode()).hexdigest()[:12]


def with_settings(v: Verdict, key: str) -> Verdict:
    return Verdict(v.verdict, v.reason, v.score, {**v.detail, "settings": key})


def rows_to_recluster(embedded: Embedded, families: list[str], old: dict[int, dict], settings: MeaningSettings,
                      thresholds: dict[str, float] | None = None) -> list[int] | None:
    """The rows whose dedup verdict may change: the new ones (no verdict under these settings), their
    neighbours, every member of a cluster they touch, and every cluster whose keeper has left.
    None when most rows are new (cluster everything)."""
    new = [i for i, ex_id in enumerate(embedded.ids) if ex_id not in old]
    if len(new) * 2 > len(embedded.ids):
        return None
    index = {ex_id: i for i, ex_id in enumerate(embedded.ids)}
    affected = set(new)
    by_family: dict[str, list[int]] = {}
    for i, family in enumerate(families):
        by_family.setdefault(family, []).append(i)
    new_set = set(new)
    for family, rows in by_family.items():
        fresh = [i for i in rows if i in new_set]
        if not fresh:
            continue
        threshold = max(settings.dedup, (thresholds or {}).get(family, 0.0))
        for a, b, _ in hits(embedded.whole[fresh], embedded.whole[rows], threshold):
            if not settings.numbers_must_agree or not numbers_differ(embedded.numbers[fresh[a]],
                                                                     embedded.numbers[rows[b]]):
                affected.add(rows[b])
    members: dict[int, list[int]] = {}
    for ex_id, detail in old.items():
        if detail.get("keeper") is not None:
            members.setdefault(detail["keeper"], []).append(ex_id)
    keepers = {old[embedded.ids[i]].get("keeper") for i in affected if embedded.ids[i] in old}
    keepers |= {k for k in members if k not in index}
    for k in keepers:
        affected.update(index[m] for m in members.get(k, ()) if m in index)
    return sorted(affected)
