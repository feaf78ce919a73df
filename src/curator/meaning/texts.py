"""What is embedded for each example, and the numbers that must agree for two texts to match.

One text per example, `whole`: the ask and the response together, cut at `WHOLE_CHARS` (what
identifies an answer is at its start; the cut bounds the embedding cost). The `ask` is the
instruction (user turns) without the source passage pasted into it, so that two different questions
about the same passage do not look alike; it is embedded alone for private eval items only, so that
a candidate asking an eval question with another answer is still caught.

Cosine similarity alone cannot tell «۲۴ ÷ ۶» from «۲۴ ÷ ۸» (nor "the fifth" from "the third"): a match
also needs the same numbers in both asks, whether written in digits, in words or as ordinals.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fractions import Fraction

from curator.text.numbers import find_number_words, find_numbers, parse_number

_ORDINALS = {"اول": 1, "نخست": 1, "دوم": 2, "سوم": 3, "چهارم": 4, "پنجم": 5, "ششم": 6, "هفتم": 7, "هشتم": 8,
             "نهم": 9, "دهم": 10, "یازدهم": 11, "دوازدهم": 12}
_ORDINAL = re.compile(r"(?<![\w\u200c])(" + "|".join(_ORDINALS) + r")(?:ین)?(?![\w\u200c])")
_FRACTIONS = {"هزارم": 1000, "صدم": 100, "دهم": 10}
_SPACES = re.compile(r"\s+")
WHOLE_CHARS = 256


def ask_text(messages: Iterable[dict], passage_text: str | None = None) -> str:
    """The user turns, with the source passage (if pasted in) taken out."""
    ask = "\n".join(m.get("content") or "" for m in messages if m.get("role") == "user")
    if passage_text and len(passage_text) > 40:
        stripped = ask.replace(passage_text.strip(), " ")
        if stripped.strip():
            ask = stripped
    return _SPACES.sub(" ", ask).strip()


def whole_text(messages: Iterable[dict], passage_text: str | None = None) -> str:
    messages = list(messages)
    response = "\n".join(m.get("content") or "" for m in messages
                         if m.get("role") == "assistant" and m.get("content"))
    return (ask_text(messages, passage_text) + "\n" + _SPACES.sub(" ", response).strip()).strip()[:WHOLE_CHARS]


def number_signature(text: str) -> str:
    """The numbers in `text` (digits, words, ordinals), sorted: «پنج سیب» and «۵ سیب» give the same,
    and so do «۳٫۱۴» and «سه و چهارده صدم», «۳ روز» and «سه‌روزه»."""
    text = text.replace("\u200c", " ")
    digits = find_numbers(text)
    values: list[Fraction] = [v for v, _, _ in digits]
    for value, start, end in find_number_words(text):
        if any(s < end and start < e for _, s, e in digits):
            continue  # «۴۵ هزار»: the scale word belongs to the digits
        tail = text[end:].lstrip()
        denominator = next((d for word, d in _FRACTIONS.items() if tail.startswith(word)), None)
        if denominator and " و " in text[start:end]:
            whole, _, part = text[start:end].rpartition(" و ")
            value = parse_number(whole) + parse_number(part) / denominator
        values.append(value)
    values += [Fraction(_ORDINALS[m.group(1)]) for m in _ORDINAL.finditer(text)]
    return " ".join(sorted(str(v) for v in values))
