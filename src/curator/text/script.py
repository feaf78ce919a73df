"""Script statistics for the language gate: how much of a text is Arabic script, and is it Persian.

Computed on the raw text, because folding (see `match_key`) erases the evidence.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import repeat

# Letters Persian uses and Arabic does not, and the reverse. ی and ک are Persian code points;
# ي and ك are the Arabic ones (Persian text typed on an Arabic layout has them too, so they weigh less).
PERSIAN_LETTERS = frozenset("پچژگیک")
STRONG_PERSIAN = frozenset("پچژگ")
ARABIC_LETTERS = frozenset("ةأإيكى")
STRONG_ARABIC = frozenset("ة")
# The same as strings of distinct letters, each counted once by `str.count`.
_STRONG_FA, _WEAK_FA = "".join(sorted(STRONG_PERSIAN)), "".join(sorted(PERSIAN_LETTERS - STRONG_PERSIAN))
_STRONG_AR, _WEAK_AR = "".join(sorted(STRONG_ARABIC)), "".join(sorted(ARABIC_LETTERS - STRONG_ARABIC))

# Very frequent function words that are specific to one of the two languages.
_PERSIAN_WORDS = frozenset("است را که این آن می‌شود هست نیست برای با از شد بود هم یک".split())
_ARABIC_WORDS = frozenset("في من على التي الذي هذا هذه ذلك إلى عن كان قد لا هو هي".split())
ZWNJ = "\u200c"
_ARABIC_LETTER = (
    "\u0621-\u063A\u0641-\u064A\u066E\u066F\u0671-\u06D3\u06D5\u06EE\u06EF\u06FA-\u06FC\u06FF"
    "\u0750-\u077F\uFB50-\uFDFF\uFE80-\uFEFC"
)
# Words: runs of Arabic-script letters, with ZWNJ inside a word.
_WORD = re.compile(f"[{_ARABIC_LETTER}][{_ARABIC_LETTER}{ZWNJ}]*")
_LATIN_LETTER_RUN = re.compile("[A-Za-z\u00C0-\u024F]+")
_LETTER_RUN = re.compile(r"[^\W\d_]+")
# A character outside ASCII, Latin-1 punctuation, Latin letters, the Arabic block and format marks:
# when there is none, every letter is either Arabic-script or Latin.
_OTHER_CHAR = re.compile(
    "[^\x00-\x7f\u00a0-\u024f\u0600-\u06ff\u200b-\u2027\u202a-\u202f\u2066-\u2069\ufeff]"
)


@dataclass(frozen=True)
class ScriptStats:
    """Letter counts and the language verdict of a text."""

    letters: int
    arabic_script: int
    latin: int
    persian_evidence: int
    arabic_evidence: int

    @property
    def arabic_script_ratio(self) -> float:
        """Share of Arabic-script letters among all letters (0.0 for a text with no letters)."""
        return self.arabic_script / self.letters if self.letters else 0.0

    @property
    def verdict(self) -> str:
        """`fa`, `ar`, `other` (mostly non-Arabic script) or `unknown` (no evidence either way)."""
        if self.letters == 0 or self.arabic_script * 5 < self.letters:
            return "other"
        if self.persian_evidence > self.arabic_evidence:
            return "fa"
        if self.arabic_evidence > self.persian_evidence:
            return "ar"
        return "unknown"


def _count(chars: str, text: str) -> int:
    return sum(map(text.count, chars))


def _run_length(pattern: re.Pattern[str], text: str) -> int:
    return sum(map(len, pattern.findall(text)))


def words(text: str) -> list[str]:
    """The Arabic-script words of a text (runs of letters, ZWNJ included), in order."""
    return _WORD.findall(text)


def latin_runs(text: str) -> list[str]:
    """The runs of Latin letters (ASCII and Latin-1/Extended-A/B) of a text, in order."""
    return _LATIN_LETTER_RUN.findall(text)


def script_stats(text: str, arabic_words: list[str] | None = None, *, word_counts: Mapping[str, int] | None = None,
                 latin: list[str] | None = None) -> ScriptStats:
    """Count letters by script and weigh Persian against Arabic evidence (letters and function words).

    A caller that has them already passes `arabic_words` (`words(text)`), `word_counts`
    (`Counter(arabic_words)`) and `latin` (`latin_runs(text)`).
    """
    strong_fa, weak_fa = _count(_STRONG_FA, text), _count(_WEAK_FA, text)
    strong_ar, weak_ar = _count(_STRONG_AR, text), _count(_WEAK_AR, text)
    if arabic_words is None:
        arabic_words = _WORD.findall(text)
    counts = Counter(arabic_words) if word_counts is None else word_counts
    joined = "".join(arabic_words)
    arabic = len(joined) - joined.count(ZWNJ)
    latin_letters = sum(map(len, _LATIN_LETTER_RUN.findall(text) if latin is None else latin))
    letters = arabic + latin_letters if _OTHER_CHAR.search(text) is None else _run_length(_LETTER_RUN, text)
    return ScriptStats(
        letters=letters,
        arabic_script=arabic,
        latin=latin_letters,
        persian_evidence=3 * strong_fa + weak_fa + 3 * _occurrences(_PERSIAN_WORDS, counts),
        arabic_evidence=2 * strong_ar + weak_ar + 3 * _occurrences(_ARABIC_WORDS, counts),
    )


def _occurrences(vocabulary: frozenset[str], counts: Mapping[str, int]) -> int:
    return sum(map(counts.get, vocabulary, repeat(0)))
