"""Decontamination against every private eval item: shared content, in any wording; a shared template
is no evidence.

An eval item's very text or very question is always a leak; three more tests, each judged by the
candidate's family scaffold (`gates.scaffold`):
  - content: the candidate holds `content_threshold` of an eval item's content weight (its sentence, its
    numbers with what they count, names), or quotes the same sentence, and nothing stands against it;
  - span: a word n-gram (8 by default) of an eval item's match key that holds content (at least
    `span_content_units` content words or numbers) or is rare (one eval item's only, and few candidates'):
    a template's n-grams hold no content and are held by many;
  - question: for short eval questions, where n-grams say little, a fuzzy whole-question match
    (rapidfuzz), unless the two differ in content (other numbers, another quoted sentence, another slot).
Every hit names the eval item, the test, the score and the shared content (the words, numbers and
quoted span). A contaminated candidate fails here and can never be exported, whatever the curator decides.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from curator.gates.base import Verdict
from curator.gates.content import FUNCTION_WORDS, Content, content_of
from curator.gates.scaffold import Scaffold, compare, same_content
from curator.gates.sketch import Corpus
from curator.meaning.texts import ask_text
from curator.text.normalize import match_key
from curator.text.numbers import parse_number

NAME, VERSION = "decontam", "2"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Text:
    id: int
    key: str  # match key of the whole text
    question: str  # match key of the user turns
    family: str = ""
    content: Content | None = None  # without it, every hit counts (no scaffold to tell template from content)


def conversation_keys(messages: list[dict], passage_text: str | None = None) -> tuple[str, str]:
    """Match keys of (instruction + response) and of the instruction, from message dicts, with a pasted
    source passage taken out of the instruction (source material, not the example's content): what
    dedup, decontamination and the export's leak check compare."""
    instruction = ask_text(messages, passage_text)
    response = "\n".join(m.get("content") or "" for m in messages if m.get("role") == "assistant" and m.get("content"))
    return match_key(instruction + "\n" + response), match_key(instruction)


def text_of(example_id: int, messages: list[dict], family: str = "", passage_text: str | None = None) -> Text:
    """What decontamination compares of an example: its match keys and its content."""
    messages = [m for m in messages if isinstance(m, dict)]
    return Text(example_id, *conversation_keys(messages, passage_text), family, content_of(messages, passage_text))


@dataclass
class DecontamSettings:
    ngram: int = 8
    fuzzy_threshold: float = 90.0  # character-level fuzz.ratio
    word_threshold: float = 80.0  # word-level similarity: about one word changed in a five-word question
    short_question_words: int = 12  # eval questions shorter than this also get the fuzzy tests
    chunk: int = 20000
    content_threshold: float = 0.5  # share of an eval item's content weight a candidate must hold
    span_content_units: int = 1  # content words or numbers an n-gram span must hold to count


def fingerprint(evals: list[Text], settings: DecontamSettings = DecontamSettings()) -> str:
    """What a verdict was checked against: the eval items' match keys and the rules' settings."""
    digest = hashlib.sha256(repr((settings.ngram, settings.fuzzy_threshold, settings.word_threshold,
                                  settings.short_question_words, settings.content_threshold,
                                  settings.span_content_units, VERSION)).encode())
    for e in sorted(evals, key=lambda e: e.id):
        digest.update(f"{e.id}\x00{e.key}\x00{e.question}\x01".encode())
    return digest.hexdigest()[:16]


def decontaminate(candidates: list[Text], evals: list[Text], settings: DecontamSettings = DecontamSettings(),
                  scaffolds: Mapping[str, Scaffold] | None = None, *, eval_set: str | None = None
                  ) -> dict[int, Verdict]:
    """A verdict per candidate: fail with every hit listed, or pass. Each records what it was checked
    against (`eval_set`, by default the eval items' fingerprint). A candidate is judged with its
    family's scaffold (`scaffolds[family]`; none: a young family, nothing is template yet)."""
    eval_set = eval_set or fingerprint(evals, settings)
    hits: dict[int, list[dict]] = {}
    if evals and candidates:
        _exact_hits(candidates, evals, hits)
        raw: dict[int, list[dict]] = {}
        _ngram_hits(candidates, evals, settings, raw)
        _fuzzy_hits(candidates, evals, settings, raw)
        judge = _Judge(candidates, evals, settings, scaffolds or {})
        for c_id, found in raw.items():
            exact = {h["eval_id"] for h in hits.get(c_id, ())}
            kept = [h for h in (judge.confirm(c_id, hit) for hit in found if hit["eval_id"] not in exact)
                    if h is not None]
            if kept:
                hits.setdefault(c_id, []).extend(kept)
        judge.content_hits(hits)
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


def _exact_hits(candidates: list[Text], evals: list[Text], hits: dict[int, list[dict]]) -> None:
    """An eval item's very text, or its very question, is a leak whatever the family's scaffold says."""
    by_key: dict[str, list[int]] = {}
    by_question: dict[str, list[int]] = {}
    for e in evals:
        by_key.setdefault(e.key, []).append(e.id)
        if e.question:
            by_question.setdefault(e.question, []).append(e.id)
    for c in candidates:
        found = [(i, "exact", c.key) for i in by_key.get(c.key, ())]
        found += [(i, "exact question", c.question) for i in by_question.get(c.question, ()) if c.question
                  and i not in by_key.get(c.key, ())]
        for eval_id, test, span in found:
            hits.setdefault(c.id, []).append({"eval_id": eval_id, "test": test, "score": 1.0, "span": span[:300]})


_SPAN_TOKEN = re.compile(r"[^\W\d_]+|\d+(?:[.,/]\d+)*")


def _span_content(span: str, scaffold: Scaffold, shared: frozenset[str]) -> int:
    """How many content words and numbers of `shared` (both examples' content: a pasted source passage is
    not content) a span of a match key holds; a template's span holds none."""
    count = 0
    for token in set(_SPAN_TOKEN.findall(span)):
        if token[0].isdigit():
            try:
                unit = f"#{parse_number(token)}"
            except ValueError:
                continue
        elif len(token) < 2 or token in FUNCTION_WORDS:
            continue
        else:
            unit = token
        count += unit in shared and scaffold.is_content(unit)
    return count


class _Judge:
    """Tells content from template for the hits of one batch, with each candidate's family scaffold."""

    def __init__(self, candidates: list[Text], evals: list[Text], settings: DecontamSettings,
                 scaffolds: Mapping[str, Scaffold]) -> None:
        self.candidates = {c.id: c for c in candidates}
        self.evals = {e.id: e for e in evals}
        self.settings = settings
        self.scaffolds = scaffolds
        self.young = Scaffold()

    def scaffold(self, c: Text) -> Scaffold:
        return self.scaffolds.get(c.family, self.young)

    def confirm(self, c_id: int, hit: dict) -> dict | None:
        """A span or question hit with the shared content, or None when the two differ in content or the
        span is the template's."""
        c, e = self.candidates[c_id], self.evals[hit["eval_id"]]
        if c.content is None or e.content is None:
            return hit
        scaffold = self.scaffold(c)
        match = compare(c.content, e.content, scaffold)
        if match.conflict is not None:
            return None
        shared = c.content.units() & e.content.units()
        if "words" in hit and not hit.get("rare") and \
                _span_content(hit["span"], scaffold, shared) < self.settings.span_content_units:
            return None
        return {**{k: v for k, v in hit.items() if k != "rare"}, "shared": match.evidence()}

    def content_hits(self, hits: dict[int, list[dict]]) -> None:
        """Candidates holding an eval item's content. The content weight each candidate shares with each
        eval item is summed over their shared content units in one pass (numpy, through the eval items'
        postings); only pairs that can reach the threshold, or where the eval item quotes, are compared."""
        evals = [e for e in self.evals.values() if e.content is not None]
        if not evals:
            return
        vocab: dict[str, int] = {}
        units = [e.content.units() for e in evals]
        unit_ids = np.fromiter((vocab.setdefault(u, len(vocab)) for us in units for u in us), dtype=np.int64,
                               count=sum(map(len, units)))
        owners = np.repeat(np.arange(len(evals), dtype=np.int64), [len(us) for us in units])
        order = np.argsort(unit_ids, kind="stable")
        post_units, post_evals = unit_ids[order], owners[order]
        starts = np.searchsorted(post_units, np.arange(len(vocab) + 1))
        quoting = np.array([bool(e.content.quotes) for e in evals])
        known = frozenset(vocab)
        by_scaffold: dict[int, list[Text]] = {}
        for c in self.candidates.values():
            if c.content is not None:
                by_scaffold.setdefault(id(self.scaffold(c)), []).append(c)
        for group in by_scaffold.values():
            for start in range(0, len(group), 2000):  # the pairs' arrays stay small
                self._content_group(group[start:start + 2000], evals, vocab, known, post_evals, starts, quoting, hits)

    def _content_group(self, group: list[Text], evals: list[Text], vocab: dict[str, int], known: frozenset[str],
                       post_evals: np.ndarray, starts: np.ndarray, quoting: np.ndarray,
                       hits: dict[int, list[dict]]) -> None:
        scaffold = self.scaffold(group[0])
        threshold = self.settings.content_threshold
        weight = scaffold.content_weight  # scaffold units weigh nothing: the sum over content units is exact
        unit_weight = np.fromiter((weight(u) for u in vocab), dtype=np.float64, count=len(vocab))
        post_units = np.repeat(np.arange(len(vocab)), np.diff(starts))
        total = np.bincount(post_evals, weights=unit_weight[post_units], minlength=len(evals))
        rows, units, weights = [], [], []
        for i, c in enumerate(group):
            for unit in c.content.units() & known:
                w = weight(unit)
                if w > 0:
                    rows.append(i)
                    units.append(vocab[unit])
                    weights.append(w)
        if not rows:
            return
        units_a = np.array(units, dtype=np.int64)
        lengths = starts[units_a + 1] - starts[units_a]
        pair_rows = np.repeat(np.array(rows, dtype=np.int64), lengths)
        pair_weights = np.repeat(np.array(weights), lengths)
        offsets = np.repeat(starts[units_a] - np.cumsum(np.r_[0, lengths[:-1]]), lengths)
        pair_evals = post_evals[np.arange(len(pair_rows)) + offsets]
        keys, inverse = np.unique(pair_rows * len(evals) + pair_evals, return_inverse=True)
        shared = np.bincount(inverse, weights=pair_weights)
        cand, ev = keys // len(evals), keys % len(evals)
        hopeful = quoting[ev] | (shared >= threshold * total[ev] - 1e-9)
        for i, j in zip(cand[hopeful].tolist(), ev[hopeful].tolist()):
            c, e = group[i], evals[j]
            if any(h["eval_id"] == e.id for h in hits.get(c.id, ())):
                continue
            match = compare(c.content, e.content, scaffold)
            if same_content(match, threshold):
                hits.setdefault(c.id, []).append({
                    "eval_id": e.id, "test": "content", "score": round(min(1.0, match.coverage), 3),
                    "shared": match.evidence()})


def _holders(hashes: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(each distinct hash, how many distinct owners hold it), by one sort of the (hash, owner) pairs."""
    order = np.lexsort((owners, hashes))
    h, o = hashes[order], owners[order]
    first = np.ones(len(h), dtype=bool)
    first[1:] = (h[1:] != h[:-1]) | (o[1:] != o[:-1])  # each (hash, owner) pair once
    return np.unique(h[first], return_counts=True)


def _ngram_hits(candidates: list[Text], evals: list[Text], settings: DecontamSettings,
                hits: dict[int, list[dict]]) -> None:
    """Word n-grams of eval items found in candidates. A hit is `rare` when one of its n-grams is held by
    one eval item only and by few candidates of the batch: copying, whatever its words; a template's
    n-grams are held by many."""
    n = settings.ngram
    eval_corpus = Corpus.build([e.key for e in evals])
    eval_hashes, eval_owner, _ = eval_corpus.ngrams(n)
    if len(eval_hashes) == 0:
        return
    owner_of = dict(zip(eval_hashes.tolist(), eval_owner.tolist()))
    held, counts = _holders(eval_hashes, eval_owner)
    single = set(held[counts == 1].tolist())  # n-grams of one eval item only
    sorted_eval = np.unique(eval_hashes)
    for start in range(0, len(candidates), settings.chunk):
        part = candidates[start:start + settings.chunk]
        corpus = Corpus.build([c.key for c in part])
        hashes, owner, word_starts = corpus.ngrams(n)
        positions = np.flatnonzero(np.isin(hashes, sorted_eval))
        if len(positions) == 0:
            continue
        found_hashes, found_counts = _holders(hashes[positions], owner[positions])
        few = max(3, len(part) // 1000)
        rare = single & set(found_hashes[found_counts <= few].tolist())
        word_start = word_starts[positions]
        found: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for pos, w in zip(positions.tolist(), word_start.tolist()):
            h = int(hashes[pos])
            found.setdefault((int(owner[pos]), owner_of[h]), []).append((w, h))
        for (ci, ei), starts in found.items():
            words = part[ci].key.split()
            first, last = min(w for w, _ in starts), max(w for w, _ in starts) + n
            total = max(len(evals[ei].key.split()) - n + 1, 1)
            hits.setdefault(part[ci].id, []).append({
                "eval_id": evals[ei].id, "test": f"{n}-gram",
                "score": round(min(1.0, len({w for w, _ in starts}) / total), 3),
                "span": " ".join(words[first:last])[:300], "words": [first, last],
                "rare": any(h in rare for _, h in starts)})


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
