"""The features of a batch of passages at once: what `classify.features` gives each text, with numpy.

The batch becomes one array of code points. A table gives each code point a class (the combination of
the properties the rules look at: Arabic-script letter, ZWNJ, Latin letter, letter, a script other than
Arabic and Latin, digit, operator, ... and the weight of a Persian or Arabic evidence letter), filled
lazily by testing each new code point against the same character classes `features` uses, so the two
cannot disagree on a character. One `bincount` of (text, class) then gives every count of every text.

Words are the runs `script.words` finds (an Arabic-script letter, then letters and ZWNJ). Those no
longer than the longest word looked up are hashed (a polynomial hash modulo 2^32, a character at a time
over the words sorted by length), and only the term words and function words are looked up (a table on
16 bits of the hash); a hit is confirmed against the word's code points, so a hash collision can never
change a result. Phrases are searched as substrings only in texts holding all their words, as
`term_hits` does.

The rarer parts use the per-text regular expressions, on the texts that need them only: multi-line
texts (dialogue, list and table lines), texts with an operator (arithmetic expressions), a brace (JSON),
Latin letters (Latin terms, links) or a colon (links).
"""

from __future__ import annotations

import re

import numpy as np

from curator.window import Window
from curator.corpus.classify import (
    _DIALOGUE_LINE, _DIGIT_RUN, _LIST_LINE, _MATH_EXPR, _OPERATOR, _PHRASES, _SINGLE_WORDS, _TABLE_LINE,
    _TERM_LISTS, _TERM_WORDS, Classification, Features, decide, latin_words, many_links,
)
from curator.text.normalize import batch_codes
from curator.text.script import (
    _ARABIC_LETTER, _ARABIC_WORDS, _LATIN_LETTER_RUN, _LETTER_RUN, _OTHER_CHAR, _PERSIAN_WORDS, ARABIC_LETTERS,
    PERSIAN_LETTERS, STRONG_ARABIC, STRONG_PERSIAN, ZWNJ, ScriptStats, latin_runs,
)

# The properties of a character, in the columns of `_Table.props`.
_ARABIC, _ZWNJ, _LATIN, _LETTER, _OTHER, _DIGIT, _OP, _NEWLINE, _MARK, _BRACE, _COLON, _FA, _AR = range(13)
_ARABIC_CHAR = re.compile(f"[{_ARABIC_LETTER}]")
_SENTENCE_MARKS = "؟!?"


def _properties(cp: int) -> tuple[int, ...]:
    """The properties of one code point, tested with the regular expressions the per-text path uses."""
    ch = chr(cp)
    return (
        _ARABIC_CHAR.fullmatch(ch) is not None,
        ch == ZWNJ,
        _LATIN_LETTER_RUN.fullmatch(ch) is not None,
        _LETTER_RUN.fullmatch(ch) is not None,
        _OTHER_CHAR.fullmatch(ch) is not None,
        _DIGIT_RUN.fullmatch(ch) is not None,
        _OPERATOR.fullmatch(ch) is not None,
        ch == "\n",
        ch in _SENTENCE_MARKS,
        ch == "{",
        ch == ":",
        3 if ch in STRONG_PERSIAN else 1 if ch in PERSIAN_LETTERS else 0,
        2 if ch in STRONG_ARABIC else 1 if ch in ARABIC_LETTERS else 0,
    )


class _Table:
    """Code point → class (a distinct combination of properties), filled as code points appear."""

    UNKNOWN = 255

    def __init__(self) -> None:
        self.classes = np.full(0x110000, self.UNKNOWN, dtype=np.uint8)
        self.combos: dict[tuple[int, ...], int] = {}
        self.props = np.zeros((0, 13), dtype=np.int64)
        self.learn(np.arange(0x800, dtype=np.uint32))  # ASCII, Latin, Arabic: the usual ones at once

    def learn(self, codes: np.ndarray) -> None:
        rows = []
        for cp in np.unique(codes).tolist():
            props = _properties(cp)
            if props not in self.combos:
                if len(self.combos) >= self.UNKNOWN:
                    raise RuntimeError("too many character classes")
                self.combos[props] = len(self.combos)
                rows.append(props)
            self.classes[cp] = self.combos[props]
        if rows:
            self.props = np.vstack([self.props, np.array(rows, dtype=np.int64)])
            self.arabic = self.props[:, _ARABIC] > 0
            self.zwnj = self.props[:, _ZWNJ] > 0
            self.digit = self.props[:, _DIGIT] > 0

    def of(self, codes: np.ndarray) -> np.ndarray:
        cls = self.classes[codes]
        if (cls == self.UNKNOWN).any():
            self.learn(codes[cls == self.UNKNOWN])
            cls = self.classes[codes]
        return cls


_TABLE: _Table | None = None

# Words looked up: the term words and the function words of the language evidence.
_VOCABULARY = sorted(w for w in _TERM_WORDS | _PERSIAN_WORDS | _ARABIC_WORDS if _ARABIC_CHAR.match(w))
_TERM_COLUMN = {w: i for i, w in enumerate(sorted(_TERM_WORDS))}  # columns of the `present` matrix
# Words are hashed modulo 2^32, h = h * _BASE + code point over the word (a collision costs a
# confirmation, never a wrong result; 32 bits keep the batch's arrays small).
_BASE = np.uint32(0x9E3779B1)
_CHUNK = 1 << 16  # characters counted at once (the (text, class) keys of a chunk are int64)


def _hash(word: str) -> int:
    h = 0
    for c in word:
        h = (h * int(_BASE) + ord(c)) & 0xFFFFFFFF
    return h


class _Words:
    """Hashes and code points of the vocabulary."""

    def __init__(self) -> None:
        hashes = np.array([_hash(w) for w in _VOCABULARY], dtype=np.uint32)
        # A direct-mapped table on 16 bits of the hash, where no two words of the vocabulary meet.
        for shift in range(16, -1, -4):
            buckets = (hashes >> np.uint32(shift)) & np.uint32(0xFFFF)
            if len(np.unique(buckets)) == len(buckets):
                break
        else:
            raise RuntimeError("no 16 bits of the hash tell the vocabulary apart")
        self.shift = np.uint32(shift)
        self.slots = np.full(1 << 16, len(hashes), dtype=np.int64)  # len(hashes): no word
        self.slots[buckets.astype(np.int64)] = np.arange(len(hashes))
        self.hashes = np.append(hashes, np.uint32(0))
        words = _VOCABULARY
        self.longest = max(map(len, words))
        if self.longest > 255:
            raise RuntimeError("a vocabulary word longer than 255 characters (word lengths are sorted as uint8)")
        self.codes = np.zeros((len(words) + 1, self.longest), dtype=np.uint32)
        for i, w in enumerate(words):
            self.codes[i, :len(w)] = [ord(c) for c in w]
        self.lengths = np.array([len(w) for w in words] + [0], dtype=np.int64)
        self.persian = np.array([w in _PERSIAN_WORDS for w in words] + [False])
        self.arabic = np.array([w in _ARABIC_WORDS for w in words] + [False])
        self.column = np.array([_TERM_COLUMN.get(w, -1) for w in words] + [-1], dtype=np.int64)


_WORDS: _Words | None = None

# Each term of each list, in list order: a single word (its column) or a phrase (its words' columns).
_ENTRIES = [(name, term) for name, terms in _TERM_LISTS.items() for term in terms]
_PHRASE_WORDS_OF = {p: [_TERM_COLUMN[w] for w in sorted(needed)] for needed, p in _PHRASES}
if any(not cols for cols in _PHRASE_WORDS_OF.values()):
    raise RuntimeError("a phrase without a word")
if list(_TERM_LISTS) != ["grammar", "education", "math", "tool", "boilerplate", "facts"]:
    raise RuntimeError("the term lists changed: update the empty hits of `batch_features`")
if any(len(set(terms)) != len(terms) for terms in _TERM_LISTS.values()):
    raise RuntimeError("a term list names a term twice")
_SINGLE_ENTRIES = [e for e, (_, term) in enumerate(_ENTRIES) if term in _SINGLE_WORDS]
_SINGLE_COLUMNS = [_TERM_COLUMN[_ENTRIES[e][1]] for e in _SINGLE_ENTRIES]
_PHRASE_ENTRIES = {p: [e for e, (_, term) in enumerate(_ENTRIES) if term == p] for p in _PHRASE_WORDS_OF}


def _runs(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The starts and lengths of the runs of consecutive positions (sorted, distinct)."""
    if not len(positions):
        return positions, positions
    breaks = np.flatnonzero(np.diff(positions) != 1) + 1
    firsts = np.concatenate([[0], breaks])
    return positions[firsts], np.diff(np.concatenate([firsts, [len(positions)]]))


def batch_features(texts: list[str], codes: np.ndarray | None = None) -> list[Features]:
    """`[classify.features(t) for t in texts]`, computed on the batch at once (`codes`: the texts' code
    points as `normalize.batch_codes` gives them, if the caller has them)."""
    global _TABLE, _WORDS
    if not texts:
        return []
    if _TABLE is None:
        _TABLE, _WORDS = _Table(), _Words()
    table, vocab = _TABLE, _WORDS
    assert vocab is not None
    n_texts = len(texts)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n_texts)
    starts = np.zeros(n_texts, dtype=np.int64)
    np.cumsum(lengths[:-1] + 1, out=starts[1:])
    if codes is None:
        codes = batch_codes(texts)
    n = len(codes)
    cls = table.of(codes)

    # Every count of every text: one bincount of (text, class), then the properties of each class.
    k = len(table.props)
    owner = np.repeat(np.arange(n_texts, dtype=np.int32), lengths + 1)[:n]
    by_class = np.zeros(n_texts * k, dtype=np.int64)
    for lo in range(0, n, _CHUNK):
        key = owner[lo:lo + _CHUNK].astype(np.int64)
        key *= k
        key += cls[lo:lo + _CHUNK]
        by_class += np.bincount(key, minlength=n_texts * k)
    del owner
    counts = by_class.reshape(n_texts, k) @ table.props
    arabic, latin = counts[:, _ARABIC], counts[:, _LATIN]
    letters = np.where(counts[:, _OTHER] > 0, counts[:, _LETTER], arabic + latin)

    def text_of(positions: np.ndarray) -> np.ndarray:
        return np.searchsorted(starts, positions, side="right") - 1

    # Sentences: ". ", the marks, and a final full stop.
    dots = np.flatnonzero(codes == 46)
    dots = dots[dots + 1 < n]
    sentences = counts[:, _MARK] + np.bincount(text_of(dots[codes[dots + 1] == 32]), minlength=n_texts)
    ends_dot = np.zeros(n_texts, dtype=bool)
    nonempty = lengths > 0
    ends_dot[nonempty] = codes[(starts + lengths - 1)[nonempty]] == 46
    sentences += ends_dot

    # Runs of 3 or 4 digits.
    run_start, run_len = _runs(np.flatnonzero(table.digit[cls]))
    years = np.bincount(text_of(run_start[(run_len >= 3) & (run_len <= 4)]), minlength=n_texts)

    # Words: a letter, then letters and ZWNJ (a ZWNJ belongs to a word when the last non-ZWNJ before it
    # is a letter).
    inword = table.arabic[cls]
    zwnj = np.flatnonzero(table.zwnj[cls])
    if len(zwnj):
        before = zwnj - 1
        while True:
            inside = before >= 0
            more = np.zeros(len(before), dtype=bool)
            more[inside] = table.zwnj[cls[before[inside]]]
            if not more.any():
                break
            before[more] -= 1
        joined = np.zeros(len(zwnj), dtype=bool)
        joined[inside] = inword[before[inside]]
        inword[zwnj[joined]] = True
    edges = np.flatnonzero(inword[1:] != inword[:-1]) + 1
    if n and inword[0]:
        edges = np.concatenate([[0], edges])
    if n and inword[-1]:
        edges = np.concatenate([edges, [n]])
    w_start, w_len = edges[::2], edges[1::2] - edges[::2]
    del edges, inword
    short = w_len <= vocab.longest
    w_start, w_len = w_start[short], w_len[short]
    # The words by length: the words longer than k are a tail, hashed a character at a time.
    order = np.argsort(w_len.astype(np.uint8), kind="stable")  # lengths <= longest: a radix sort
    w_start, w_len = w_start[order], w_len[order]
    bounds = np.searchsorted(w_len, np.arange(vocab.longest + 2))
    hashes = np.zeros(len(w_start), dtype=np.uint32)
    for k in range(vocab.longest):
        tail = hashes[bounds[k + 1]:]  # the words longer than k (a view: updated in place)
        tail *= _BASE
        tail += codes[w_start[bounds[k + 1]:] + k]
    slot = vocab.slots[((hashes >> vocab.shift) & np.uint32(0xFFFF)).astype(np.intp)]
    hit = (vocab.hashes[slot] == hashes) & (vocab.lengths[slot] == w_len)
    w_start, w_len, slot = w_start[hit], w_len[hit], slot[hit]  # still by length
    # Each hit confirmed on its code points, the words of each length at once.
    confirmed = np.ones(len(slot), dtype=bool)
    bounds = np.searchsorted(w_len, np.arange(vocab.longest + 2))
    for size in range(1, vocab.longest + 1):
        lo, hi = bounds[size], bounds[size + 1]
        if hi > lo:
            spelled = vocab.codes[slot[lo:hi], :size]
            confirmed[lo:hi] = (codes[w_start[lo:hi, None] + np.arange(size)] == spelled).all(axis=1)
    w_start, slot = w_start[confirmed], slot[confirmed]
    w_text = text_of(w_start)
    persian_words = np.bincount(w_text[vocab.persian[slot]], minlength=n_texts)
    arabic_words = np.bincount(w_text[vocab.arabic[slot]], minlength=n_texts)
    present = np.zeros((n_texts, len(_TERM_COLUMN)), dtype=bool)
    term = vocab.column[slot] >= 0
    present[w_text[term], vocab.column[slot][term]] = True

    # The rarer parts, with the per-text regular expressions.
    multiline = np.flatnonzero(counts[:, _NEWLINE] >= 2).tolist()
    expression = np.zeros(n_texts, dtype=bool)
    json_object = np.zeros(n_texts, dtype=bool)
    links = np.zeros(n_texts, dtype=bool)
    for i in np.flatnonzero(counts[:, _OP] > 0).tolist():
        expression[i] = _MATH_EXPR.search(texts[i]) is not None
    for i in np.flatnonzero(counts[:, _BRACE] > 0).tolist():
        json_object[i] = '":' in texts[i]
    for i in np.flatnonzero((counts[:, _COLON] > 0) | (latin > 0)).tolist():
        links[i] = many_links(texts[i])
    for i in np.flatnonzero(latin > 0).tolist():
        for w in latin_words(latin_runs(texts[i])) & _TERM_WORDS:
            present[i, _TERM_COLUMN[w]] = True

    # The terms found, each list in its order: single words by the words present, phrases by their
    # words present and then as substrings.
    found = np.empty((n_texts, len(_ENTRIES)), dtype=bool)
    found[:, _SINGLE_ENTRIES] = present[:, _SINGLE_COLUMNS]
    for phrase, cols in _PHRASE_WORDS_OF.items():
        maybe = present[:, cols].all(axis=1)
        for i in np.flatnonzero(maybe).tolist():
            maybe[i] = phrase in texts[i]
        found[:, _PHRASE_ENTRIES[phrase]] = maybe[:, None]
    hits = [{"grammar": [], "education": [], "math": [], "tool": [], "boilerplate": [], "facts": []}
            for _ in range(n_texts)]
    rows, cols = np.nonzero(found)
    for i, e in zip(rows.tolist(), cols.tolist()):
        name, term = _ENTRIES[e]
        hits[i][name].append(term)

    fa = counts[:, _FA] + 3 * persian_words
    ar = counts[:, _AR] + 3 * arabic_words
    out = []
    speakers = list_lines = 0
    multi = set(multiline)
    for i, (length, let, ara, lat, pe, ae, yr, sn, ex, js, ln) in enumerate(zip(
            lengths.tolist(), letters.tolist(), arabic.tolist(), latin.tolist(), fa.tolist(), ar.tolist(),
            years.tolist(), sentences.tolist(), expression.tolist(), json_object.tolist(), links.tolist())):
        n_lines = 1
        if i in multi:
            text = texts[i]
            n_lines = sum(1 for line in text.splitlines() if line.strip())
            speakers = len(_DIALOGUE_LINE.findall(text))
            list_lines = len(_LIST_LINE.findall(text)) + len(_TABLE_LINE.findall(text))
        else:
            speakers = list_lines = 0
        out.append(Features(length, n_lines, hits[i], ex, js, speakers, list_lines, yr, ln, sn,
                            ScriptStats(let, ara, lat, pe, ae)))
    return out


def classify_batch(texts: list[str], window: Window = Window(), codes: np.ndarray | None = None
                   ) -> list[Classification]:
    """`[classify(t, window) for t in texts]`, computed on the batch at once."""
    return [decide(f, window) for f in batch_features(texts, codes)]
