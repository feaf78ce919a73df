"""Decontamination against every private eval item, on match keys.

Two tests: word n-gram overlap (8-grams by default) between a candidate and any eval item, and, for
short eval questions where n-grams say little, a fuzzy whole-question match (rapidfuzz) against the
candidate's question. Every hit names the eval item, the overlapping span and the score. A
contaminated candidate fails here and can never be exported, whatever the curator decides.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from curator.gates.base import Verdict
from curator.gates.sketch import Corpus
from curator.text.normalize import match_key

NAME, VERSION = "decontam", "1"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Text:
    id: int
    key: str  # match key of the whole text
    question: str  # match key of the user turns


def conversation_keys(messages: list[dict]) -> tuple[str, str]:
    """Match keys of (instruction + response) and of the instruction, from message dicts: what
    dedup, decontamination and the export's leak check compare."""
    instruction = "\n".join(m.get("content") or "" for m in messages if m.get("role") == "user")
    response = "\n".join(m.get("content") or "" for m in messages if m.get("role") == "assistant" and m.get("content"))
    return match_key(instruction + "\n" + response), match_key(instruction)


@dataclass
class DecontamSettings:
    ngram: int = 8
    fuzzy_threshold: float = 90.0  # character-level fuzz.ratio
    word_threshold: float = 80.0  # word-level similarity: about one word changed in a five-word question
    short_question_words: int = 12  # eval questions shorter than this also get the fuzzy tests
    chunk: int = 20000


def fingerprint(evals: list[Text], settings: DecontamSettings = DecontamSettings()) -> str:
    """What a verdict was checked against: the eval items' match keys and the rules' settings."""
    digest = hashlib.sha256(repr((settings.ngram, settings.fuzzy_threshold, settings.word_threshold,
                                  settings.short_question_words, VERSION)).encode())
    for e in sorted(evals, key=lambda e: e.id):
        digest.update(f"{e.id}\x00{e.key}\x00{e.question}\x01".encode())
    return digest.hexdigest()[:16]


def decontaminate(candidates: list[Text], evals: list[Text],
                  settings: DecontamSettings = DecontamSettings()) -> dict[int, Verdict]:
    """A verdict per candidate: fail with every hit listed, or pass. Each records the eval-set fingerprint."""
    eval_set = fingerprint(evals, settings)
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
                                     {"hits": found[:10], "eval_items": sorted({h["eval_id"] for h in found}),
                                      "eval_set": eval_set})
        else:
            verdicts[c.id] = Verdict("pass", "ok", 0.0, {"eval_set": eval_set})
    return verdicts


def _ngram_hits(candidates: list[Text], evals: list[Text], settings: DecontamSettings,
                hits: dict[int, list[dict]]) -> None:
    n = settings.ngram
    eval_corpus = Corpus.build([e.key for e in evals])
    eval_hashes, eval_owner, _ = eval_corpus.ngrams(n)
    if len(eval_hashes) == 0:
        return
    owner_of = dict(zip(eval_hashes.tolist(), eval_owner.tolist()))
    sorted_eval = np.unique(eval_hashes)
    for start in range(0, len(candidates), settings.chunk):
        part = candidates[start:start + settings.chunk]
        corpus = Corpus.build([c.key for c in part])
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


_OTHER_WORD = "\U0010fffd"  # every word that no eval question has: it can never match one


def _as_words(texts: list[str], vocab: dict[str, str], *, grow: bool) -> list[str]:
    """Each word as one private-use code point, so rapidfuzz measures edits in words. Only the eval
    questions' words (grow=True) get codes of their own; any other word is `_OTHER_WORD`."""
    if grow:
        return ["".join(vocab.setdefault(w, chr(0xF0000 + len(vocab))) for w in _WORD.findall(t)) for t in texts]
    return ["".join(vocab.get(w, _OTHER_WORD) for w in _WORD.findall(t)) for t in texts]


def _length_blocks(lengths: list[int], query_lengths: list[int], min_ratio: float,
                   step: float = 1.15) -> list[tuple[list[int], list[int]]]:
    """Blocks of (candidate indices, query indices) that can reach a similarity needing
    shorter/longer >= min_ratio: candidates grouped by length, each with only the queries whose
    lengths are compatible. All other pairs cannot match, so they are never compared."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    q_order = sorted(range(len(query_lengths)), key=query_lengths.__getitem__)
    q_sorted = [query_lengths[i] for i in q_order]
    blocks = []
    i = 0
    while i < len(order):
        lo = lengths[order[i]]
        j = i
        while j < len(order) and lengths[order[j]] <= max(lo * step, lo + 1):
            j += 1
        hi = lengths[order[j - 1]]
        first = bisect.bisect_left(q_sorted, lo * min_ratio)
        last = bisect.bisect_right(q_sorted, hi / min_ratio)
        if first < last:
            blocks.append((order[i:j], q_order[first:last]))
        i = j
    return blocks


def _fuzzy_hits(candidates: list[Text], evals: list[Text], settings: DecontamSettings,
                hits: dict[int, list[dict]]) -> None:
    short = [e for e in evals if e.question and len(e.question.split()) < settings.short_question_words]
    if not short:
        return
    vocab: dict[str, str] = {}
    tests = (
        ("fuzzy question", [c.question for c in candidates], [e.question for e in short], settings.fuzzy_threshold),
        ("question, one word apart", None, _as_words([e.question for e in short], vocab, grow=True),
         settings.word_threshold),
    )
    for name, texts, queries, cutoff in tests:
        if texts is None:
            texts = _as_words([c.question for c in candidates], vocab, grow=False)
        min_ratio = cutoff / (200 - cutoff)  # fuzz.ratio >= cutoff needs shorter/longer >= this
        blocks = _length_blocks([len(t) for t in texts], [len(q) for q in queries], min_ratio)
        for cand_idx, query_idx in blocks:
            scores = process.cdist([texts[i] for i in cand_idx], [queries[i] for i in query_idx], scorer=fuzz.ratio,
                                   score_cutoff=cutoff, dtype=np.uint8, workers=-1)
            for ci, qi in zip(*np.nonzero(scores)):
                c, e = candidates[cand_idx[ci]], short[query_idx[qi]]
                found = hits.setdefault(c.id, [])
                if any(h["eval_id"] == e.id and h["test"] != f"{settings.ngram}-gram" for h in found):
                    continue
                found.append({"eval_id": e.id, "test": name, "score": round(float(scores[ci, qi]) / 100, 3),
                              "span": c.question[:300]})
