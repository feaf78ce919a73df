"""Decontamination against every private eval item, on match keys.

Two tests: word n-gram overlap (8-grams by default) between a candidate and any eval item, and, for
short eval questions where n-grams say little, a fuzzy whole-question match (rapidfuzz) against the
candidate's question. Every hit names the eval item, the overlapping span and the score. A
contaminated candidate fails here and can never be exported, whatever the curator decides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from curator.gates.base import Verdict
from curator.gates.sketch import Corpus

NAME, VERSION = "decontam", "1"


@dataclass(frozen=True)
class Text:
    id: int
    key: str  # match key of the whole text
    question: str  # match key of the user turns


@dataclass
class DecontamSettings:
    ngram: int = 8
    fuzzy_threshold: float = 90.0
    short_question_words: int = 12  # eval questions shorter than this also get the fuzzy test
    chunk: int = 20000


def decontaminate(candidates: list[Text], evals: list[Text],
                  settings: DecontamSettings = DecontamSettings()) -> dict[int, Verdict]:
    """A verdict per candidate: fail with every hit listed, or pass."""
    hits: dict[int, list[dict]] = {}
    if evals and candidates:
        _ngram_hits(candidates, evals, settings, hits)
        _fuzzy_hits(candidates, evals, settings, hits)
    verdicts = {}
    for c in candidates:
        found = hits.get(c.id)
        if found:
            found.sort(key=lambda h: -h["score"])
            verdicts[c.id] = Verdict("fail", "contaminated", found[0]["score"],
                                     {"hits": found[:10], "eval_items": sorted({h["eval_id"] for h in found})})
        else:
            verdicts[c.id] = Verdict.ok(0.0)
    return verdicts


def _ngram_hits(candidates: list[Text], evals: list[Text], settings: DecontamSettings,
                hits: dict[int, list[dict]]) -> None:
    n = settings.ngram
    vocab: dict[str, int] = {}
    eval_corpus = Corpus.build([e.key for e in evals], vocab)
    eval_hashes, eval_owner, _ = eval_corpus.ngrams(n)
    if len(eval_hashes) == 0:
        return
    owner_of = dict(zip(eval_hashes.tolist(), eval_owner.tolist()))
    sorted_eval = np.unique(eval_hashes)
    for start in range(0, len(candidates), settings.chunk):
        part = candidates[start:start + settings.chunk]
        corpus = Corpus.build([c.key for c in part], vocab)
        hashes, owner, word_starts = corpus.ngrams(n)
        positions = np.flatnonzero(np.isin(hashes, sorted_eval))
        if len(positions) == 0:
            continue
        word_start = word_starts[positions]
        found: dict[tuple[int, int], list[int]] = {}
        for pos, w in zip(positions.tolist(), word_start.tolist()):
            found.setdefault((int(owner[pos]), owner_of[int(hashes[pos])]), []).append(w)
        for (ci, ei), starts in found.items():
            words = part[ci].key.split()
            first, last = min(starts), max(starts) + n
            total = max(len(evals[ei].key.split()) - n + 1, 1)
            hits.setdefault(part[ci].id, []).append({
                "eval_id": evals[ei].id, "test": f"{n}-gram", "score": round(min(1.0, len(set(starts)) / total), 3),
                "span": " ".join(words[first:last])[:300], "words": [first, last],
            })


def _fuzzy_hits(candidates: list[Text], evals: list[Text], settings: DecontamSettings,
                hits: dict[int, list[dict]]) -> None:
    short = [e for e in evals if e.question and len(e.question.split()) < settings.short_question_words]
    if not short:
        return
    queries = [e.question for e in short]
    for start in range(0, len(candidates), settings.chunk):
        part = candidates[start:start + settings.chunk]
        scores = process.cdist([c.question for c in part], queries, scorer=fuzz.ratio,
                               score_cutoff=settings.fuzzy_threshold, dtype=np.uint8, workers=-1)
        for ci, ei in zip(*np.nonzero(scores)):
            hits.setdefault(part[ci].id, []).append({
                "eval_id": short[ei].id, "test": "fuzzy question", "score": round(float(scores[ci, ei]) / 100, 3),
                "span": part[ci].question[:300],
            })
