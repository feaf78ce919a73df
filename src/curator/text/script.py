"""Script statistics for the language gate: how much of a text is Arabic script, and is it Persian.

Computed on the raw text, because folding (see `match_key`) erases the evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Letters Persian uses and Arabic does not, and the reverse. ی and ک are Persian code points;
# ي and ك are the Arabic ones (Persian text typed on an Arabic layout has them too, so they weigh less).
PERSIAN_LETTERS = frozenset("پچژگیک")
STRONG_PERSIAN = frozenset("پچژگ")
ARABIC_LETTERS = frozenset("ةأإيكى")
STRONG_ARABIC = frozenset("ة")

# Very frequent function words that are specific to one of the two languages.
_PERSIAN_WORDS = frozenset("است را که این آن می‌شود هست نیست برای با از شد بود هم یک".split())
_ARABIC_WORDS = frozenset("في من على التي الذي هذا هذه ذلك إلى عن كان قد لا هو هي".split())
_WORD = re.compile(r"[\u0600-\u06FF\u200c]+")


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


_LETTER = re.compile(r"[^\W\d_]")
_ARABIC_LETTER = re.compile(
    "[\u0621-\u063A\u0641-\u064A\u066E\u066F\u0671-\u06D3\u06D5\u06EE\u06EF\u06FA-\u06FC\u06FF"
    "\u0750-\u077F\uFB50-\uFDFF\uFE80-\uFEFC]"
)
_LATIN_LETTER = re.compile("[A-Za-z\u00C0-\u024F]")


def _count(chars: frozenset[str], text: str) -> int:
    return sum(text.count(c) for c in chars)


def script_stats(text: str) -> ScriptStats:
    """Count letters by script and weigh Persian against Arabic evidence (letters and function words)."""
    strong_fa = _count(STRONG_PERSIAN, text)
    weak_fa = _count(PERSIAN_LETTERS, text) - strong_fa
    strong_ar = _count(STRONG_ARABIC, text)
    weak_ar = _count(ARABIC_LETTERS, text) - strong_ar
    fa = 3 * strong_fa + weak_fa
    ar = 2 * strong_ar + weak_ar
    for word in _WORD.findall(text):
        if word in _PERSIAN_WORDS:
            fa += 3
        elif word in _ARABIC_WORDS:
            ar += 3
    return ScriptStats(
        letters=len(_LETTER.findall(text)),
        arabic_script=len(_ARABIC_LETTER.findall(text)),
        latin=len(_LATIN_LETTER.findall(text)),
        persian_evidence=fa,
        arabic_evidence=ar,
    )
