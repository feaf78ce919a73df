"""The meaning gates: semantic decontamination and semantic near-dedup, on stored embeddings.

`decontam_meaning`: a candidate (its ask + response) that reaches `decontam_ask` cosine with an eval
item's ask, or `decontam_whole` with the eval item's ask + response, and whose numbers agree with
it, is a paraphrase of a private eval item: it fails (never exported), naming the item, the score
and which of the item's texts matched. `dedup_meaning`: within a family, ask + response at `dedup`
or above (numbers agreeing) joins a cluster; one keeper per cluster as in the lexical dedup.
Candidates without an embedding get no verdict here, and the report says how many.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from curator.config import MeaningSettings
from curator.gates.base import Verdict
from curator.gates.dedup import DedupItem, UnionFind, cluster_verdicts
from curator.meaning.embedder import unpack
from curator.meaning.search import hits, pairs

DECONTAM, DEDUP, VERSION = "decontam_meaning", "dedup_meaning", "1"


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


def eval_set(evals: Embedded, settings: MeaningSettings, model: str) -> str:
    """What a verdict was checked against: the eval items, the model and the thresholds."""
    digest = hashlib.sha256(repr((model, settings.decontam_ask, settings.decontam_whole,
                                  settings.numbers_must_agree, VERSION)).encode())
    digest.update(np.asarray(evals.ids, dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]


def decontaminate(cands: Embedded, evals: Embedded, settings: MeaningSettings, fingerprint: str) -> dict[int, Verdict]:
    """A verdict for every candidate: fail with the closest eval item it paraphrases, else pass."""
    best: dict[int, tuple[float, int, str]] = {}  # candidate row -> (margin over threshold, eval row, part)
    # One pass over the candidates against the items' asks and wholes stacked (the same vector is compared).
    n = len(evals.ids)
    keys = evals.whole if evals.ask is None else np.concatenate([evals.ask, evals.whole])
    parts = ("whole",) if evals.ask is None else ("ask", "whole")
    limits = {"ask": settings.decontam_ask, "whole": settings.decontam_whole}
    for i, k, score in hits(cands.whole, keys, min(limits[p] for p in parts)):
        part, j = parts[k // n], k % n
        threshold = limits[part]
        if score < threshold or (settings.numbers_must_agree and cands.numbers[i] != evals.numbers[j]):
            continue
        if i not in best or score - threshold > best[i][0]:
            best[i] = (score - threshold, j, part)
    verdicts = {}
    for i, ex_id in enumerate(cands.ids):
        if i in best:
            margin, j, part = best[i]
            score = margin + (settings.decontam_ask if part == "ask" else settings.decontam_whole)
            verdicts[ex_id] = Verdict("fail", "paraphrase_of_eval", round(score, 4), {
                "eval_item": evals.ids[j], "matched": part, "score": round(score, 4), "eval_set": fingerprint})
        else:
            verdicts[ex_id] = Verdict.ok(None, eval_set=fingerprint)
    return verdicts


def dedup(items: list[DedupItem], families: list[str], embedded: Embedded,
          settings: MeaningSettings) -> dict[int, Verdict]:
    """A verdict for every item (row i of `embedded` is `items[i]`): clusters of paraphrases within a
    family, one keeper each."""
    uf = UnionFind()
    evidence: dict[int, tuple[int, float, str]] = {}
    by_family: dict[str, list[int]] = {}
    for i, family in enumerate(families):
        by_family.setdefault(family, []).append(i)
    for rows in by_family.values():
        for a, b, score in pairs(embedded.whole[rows], settings.dedup):
            i, j = rows[a], rows[b]
            if settings.numbers_must_agree and embedded.numbers[i] != embedded.numbers[j]:
                continue
            uf.union(i, j)
            evidence.setdefault(j, (i, score, "meaning"))
            evidence.setdefault(i, (j, score, "meaning"))
    return cluster_verdicts(items, uf, evidence)


def dedup_settings(settings: MeaningSettings, model: str) -> str:
    """What dedup verdicts were made with; a change means clustering everything again."""
    return hashlib.sha256(repr((model, settings.dedup, settings.numbers_must_agree, VERSION)).encode()).hexdigest()[:12]


def with_settings(v: Verdict, key: str) -> Verdict:
    return Verdict(v.verdict, v.reason, v.score, {**v.detail, "settings": key})


def rows_to_recluster(embedded: Embedded, families: list[str], old: dict[int, dict],
                      settings: MeaningSettings) -> list[int] | None:
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
    for rows in by_family.values():
        fresh = [i for i in rows if i in new_set]
        if not fresh:
            continue
        for a, b, _ in hits(embedded.whole[fresh], embedded.whole[rows], settings.dedup):
            i, j = fresh[a], rows[b]
            if not settings.numbers_must_agree or embedded.numbers[i] == embedded.numbers[j]:
                affected.add(j)
    members: dict[int, list[int]] = {}
    for ex_id, detail in old.items():
        if detail.get("keeper") is not None:
            members.setdefault(detail["keeper"], []).append(ex_id)
    keepers = {old[embedded.ids[i]].get("keeper") for i in affected if embedded.ids[i] in old}
    keepers |= {k for k in members if k not in index}
    for k in keepers:
        affected.update(index[m] for m in members.get(k, ()) if m in index)
    return sorted(affected)
