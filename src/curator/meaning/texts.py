"""What is embedded for each example, and the numbers that must agree for two texts to match.

One text per example, `whole`: the ask and the response together, cut at `WHOLE_CHARS` (what
identifies an answer is at its start; the cut bounds the embedding cost). The `ask` is the
instruction (user turns) without the source passage pasted into it, so that two different questions
about the same passage do not look alike; it is embedded alone for private eval items only, so that
a candidate asking an eval question with another answer is still caught.

Cosine similarity alone cannot tell «۲۴ ÷ ۶» from «۲۴ ÷ ۸» (nor "the fifth" from "the third"): each
vector is stored with the numbers of its ask, whether written in digits, in words or as ordinals.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from curator.text.numbers import numbers_in

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
    """The numbers in `text` (digits, words, ordinals) by value, sorted: «پنج سیب» and «۵ سیب» give the
    same, and so do «۳٫۱۴» and «سه و چهارده صدم», «۳ روز» and «سه‌روزه»."""
    return " ".join(sorted(str(v) for v in numbers_in(text)))
