"""A family's scaffold, and what two examples' content shares (pure).

A family's items are written from task templates: they share a scaffold (the question's frame, the
answer's wording) and differ in their content (the sentence asked about, the numbers with what they
count, names, facts). The scaffold is learned from the family's own items (candidates, seeds, eval
items): a unit (a word or a number) found in many of them is scaffold, one found in few is content.
A unit weighs its inverse document frequency in the family; a family with few items is assumed to have
`PRIOR` more items without the unit, so a young family has no scaffold yet and nothing is discounted.

`compare(a, b, scaffold)` says how much of b's content a holds and what stands against calling the two
the same content:
  - numbers: each asks with a number the other lacks (by value: «۱۱ × ۷۰» is not «۱۳ × ۷۰»); a number
    only one side has («نقش دو واژه…») is no objection;
  - quotes: they quote different sentences;
  - slot: their asks share a frame and its slot holds other content («پایتخت ژاپن…», «پایتخت کره…»).
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from difflib import SequenceMatcher
from fractions import Fraction

from rapidfuzz import fuzz

from curator.gates.content import Content

PRIOR = 20  # items without the unit a family is assumed to have besides its own
FRAME_RATIO = 0.6  # asks whose word sequences agree this much share a frame
VARIANT = 75  # fuzz.ratio at which two differing words are one word's variants («شهر», «شهری»)


@dataclass(frozen=True)
class Scaffold:
    """A family's document frequencies: `items` items, `df[unit]` of them hold the unit (units in one
    item only are left out: their frequency is 1 or 0)."""

    items: int = 0
    df: Mapping[str, int] = field(default_factory=dict)
    _weights: dict[str, float] = field(default_factory=dict, compare=False, repr=False)  # caches
    _content: dict[str, float] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def learn(cls, contents: Iterable[Content]) -> "Scaffold":
        df: Counter[str] = Counter()
        items = 0
        for content in contents:
            df.update(content.units())
            items += 1
        return cls(items, {u: n for u, n in df.items() if n > 1})

    @classmethod
    def kept(cls, items: int, df: Mapping[str, int], fingerprint: str) -> "Scaffold":
        """A scaffold as the store keeps it, with the fingerprint it was stored with (not computed again)."""
        scaffold = cls(items, df)
        scaffold.__dict__["_fingerprint"] = fingerprint
        return scaffold

    def _idf(self, df: int) -> float:
        return math.log((self.items + PRIOR + 1) / (df + 1))

    def weight(self, unit: str) -> float:
        """Inverse document frequency in the family: a unit in every item weighs little, a rare one much."""
        found = self._weights.get(unit)
        if found is None:
            found = self._weights[unit] = self._idf(self.df.get(unit, 1))
        return found

    @cached_property
    def floor(self) -> float:
        """Units weighing less are scaffold: those in more than about √(items) of the family's items."""
        return self._idf(0) / 2

    def content_weight(self, unit: str) -> float:
        """A unit's weight above the scaffold's floor: scaffold units weigh nothing, content units their
        rarity."""
        found = self._content.get(unit)
        if found is None:
            found = self._content[unit] = max(0.0, self.weight(unit) - self.floor)
        return found

    def is_content(self, unit: str) -> bool:
        return self.weight(unit) >= self.floor

    def template(self, limit: int = 30) -> list[tuple[str, int]]:
        """The family's scaffold units, the most frequent first (what `curator gate report` shows)."""
        units = [(u, n) for u, n in self.df.items() if not self.is_content(u)]
        return sorted(units, key=lambda x: (-x[1], x[0]))[:limit]

    def fingerprint(self) -> str:
        """What verdicts made with this scaffold depend on."""
        return self._fingerprint

    @cached_property
    def _fingerprint(self) -> str:
        digest = hashlib.sha256(f"{self.items}|{PRIOR}|{FRAME_RATIO}|{VARIANT}".encode())
        for unit, n in sorted(self.df.items()):
            digest.update(f"{unit}\x00{n}\x01".encode())
        return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Match:
    """How `a` holds `b`'s content: `coverage` of b's content weight found in a (`reverse`: of a's in b),
    the shared content units (heaviest first; numbers as «#value»), a quoted span of one found in the
    other, and the objection to calling them the same content, if any."""

    coverage: float
    reverse: float
    shared: tuple[str, ...]
    quote: tuple[str, ...] | None
    conflict: str | None

    def evidence(self) -> dict:
        """What a verdict records: the shared content and the objection."""
        found = {"shared": [u for u in self.shared if not u.startswith("#")][:12],
                 "numbers": sorted((u[1:] for u in self.shared if u.startswith("#")), key=Fraction)[:12],
                 "coverage": round(self.coverage, 3)}
        if self.quote:
            found["quote"] = " ".join(self.quote)
        if self.conflict:
            found["conflict"] = self.conflict
        return found


def _conflicting_numbers(a: Content, b: Content) -> bool:
    left, right = Counter(a.numbers), Counter(b.numbers)
    return bool(left - right) and bool(right - left)


def _shared_quote(a: Content, b: Content) -> tuple[str, ...] | None:
    for quote in b.quotes:
        if set(quote) <= a.words:
            return quote
    for quote in a.quotes:
        if set(quote) <= b.words:
            return quote
    return None


def _slot_conflict(a: Content, b: Content, scaffold: Scaffold) -> bool:
    """Their asks share a frame, and where they differ each holds content the other lacks (a word that is
    not a variant of one on the other side). Only a family that has learned its scaffold can tell content
    from rewording: a young family never objects this way."""
    if scaffold.items < PRIOR or not a.frame or not b.frame:
        return False
    matcher = SequenceMatcher(None, a.frame, b.frame, autojunk=False)
    if matcher.ratio() < FRAME_RATIO:
        return False
    left: set[str] = set()
    right: set[str] = set()
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            left.update(a.frame[i1:i2])
            right.update(b.frame[j1:j2])
    left = {w for w in left if w in a.words and scaffold.is_content(w)}
    right = {w for w in right if w in b.words and scaffold.is_content(w)}
    variants = {w for w in left for v in right if fuzz.ratio(w, v) >= VARIANT}
    variants |= {v for v in right for w in left if fuzz.ratio(w, v) >= VARIANT}
    return bool(left - variants) and bool(right - variants)


def coverage(a: Content, b: Content, scaffold: Scaffold) -> float:
    """The share of b's content weight that a holds (what `compare` reports, without its objections)."""
    units_b = b.units()
    total = sum(map(scaffold.content_weight, units_b))
    return sum(map(scaffold.content_weight, units_b & a.units())) / total if total else 0.0


def compare(a: Content, b: Content, scaffold: Scaffold) -> Match:
    """How much of b's content a holds (see the module)."""
    units_a, units_b = a.units(), b.units()
    shared = units_a & units_b
    weight = scaffold.content_weight
    total_a = sum(map(weight, units_a))
    total_b = sum(map(weight, units_b))
    common = sum(map(weight, shared))
    quote = _shared_quote(a, b)
    conflict = None
    if _conflicting_numbers(a, b):
        conflict = "numbers"
    elif a.quotes and b.quotes and quote is None:
        conflict = "quotes"
    elif quote is None and _slot_conflict(a, b, scaffold):
        conflict = "slot"
    # The shared content words, heaviest first, and every shared number (numbers always say what is asked).
    weigh, floor = scaffold.weight, scaffold.floor  # is_content: weigh(u) >= floor
    heaviest = sorted((u for u in shared if u.startswith("#") or weigh(u) >= floor), key=lambda u: (-weigh(u), u))
    return Match(common / total_b if total_b else 0.0, common / total_a if total_a else 0.0, tuple(heaviest),
                 quote, conflict)


def content_keys(content: Content, scaffold: Scaffold, family: str, count: int) -> list[int]:
    """Stable 64-bit keys of up to `count` content units of an example, salted with its family (only
    examples of one family pair up by them): its numbers first (what they count is most of an item's
    identity: a reworded copy keeps them), then its heaviest words."""
    units = [u for u in content.units() if scaffold.is_content(u)]
    order = sorted(units, key=lambda u: (not u.startswith("#"), -scaffold.weight(u), u))
    numbers = [u for u in order if u.startswith("#")][:count // 2]
    words = [u for u in order if not u.startswith("#")]
    chosen = numbers + words[:count - len(numbers)]
    return [int.from_bytes(hashlib.blake2b(f"{family}\x00{u}".encode(), digest_size=8).digest(), "little") or 1
            for u in chosen]


def same_content(match: Match, threshold: float, *, both_ways: bool = False) -> bool:
    """Whether a match is the same content: no objection, and a shared quoted span or `threshold` of the
    content weight (of b's; with `both_ways`, of the larger share of either's)."""
    if match.conflict is not None:
        return False
    share = max(match.coverage, match.reverse) if both_ways else match.coverage
    return match.quote is not None or share >= threshold
