"""What an example says, in units the content gates compare (pure; stored once per example).

An example's content is read from its ask (the user turns, without a pasted source passage) and its
answer (the assistant turns and their tool-call arguments):
  - words: the match key's words, parts joined by ZWNJ apart («علت‌هایی» gives «علت» and «هایی»),
    without Persian function words and single letters. Which of them are the family's scaffold and
    which are content is the family's to say (`gates.scaffold`);
  - numbers: the ask's numbers by value (digits, words, ordinals), as a multiset, and the answer's;
  - quotes: what the ask quotes («…», "…") when it holds two words or more: the sentence asked about;
  - frame: the ask's words in order, every number as «#»: two asks in one frame differ in their slot.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

from curator.meaning.texts import ask_text
from curator.text.normalize import match_key
from curator.text.numbers import SCALES, numbers_in, number_words

VERSION = "1"  # stored content units depend on it: a change sketches every example again

# Persian function words: never content, in any family (a family's own scaffold is learned from its items).
FUNCTION_WORDS = frozenset("""
و در به از که را این آن با برای است هست نیست بود بودند شد شدند شود شوند می نمی هم یا تا اگر چه چی کدام چند
چرا چطور چگونه آیا یک هر همه ها های هایی ای ی او من تو ما شما آنها آن‌ها ایشان خود باید نیز اما ولی پس چون
زیرا بر روی بین درباره دربارهٔ کن کنید کنم بده بدهید بگو بگویید بنویس بنویسید چیست کیست شده کند کنند کرد
کردن کرده دارد دارند داشت ترین تر اند ام ات اش مان تان شان نه بله رو اون را؟ آیا هستند باشد بوده باشند
""".split())
_WORD = re.compile(r"[^\W\d_]+")
_TOKEN = re.compile(r"[^\W\d_]+|\d+(?:[.,/]\d+)*")
_QUOTED = re.compile(r'"([^"]{2,400})"')
_NUMBER_WORDS = frozenset(number_words()) | frozenset(SCALES)


def stored_messages(text: str) -> list[dict]:
    """A stored row's messages as dicts (a row that no longer parses has none: the format gate fails it)."""
    try:
        messages = json.loads(text)
    except ValueError:
        return []
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


def _key(text: str) -> str:
    """The match key with ZWNJ parts apart (the match key itself joins them)."""
    return match_key(text.replace("\u200c", " "))


def _value(v: Fraction) -> str:
    return str(v)


@dataclass(frozen=True)
class Content:
    """An example's content units (see the module). `units()` is what the family's weights apply to."""

    words: frozenset[str]
    numbers: tuple[str, ...]  # the ask's numbers, by value, sorted (a multiset)
    answer_numbers: tuple[str, ...]
    quotes: tuple[tuple[str, ...], ...]  # each quoted span's words (function words out)
    frame: tuple[str, ...]  # the ask's words in order, numbers as "#"

    def units(self) -> frozenset[str]:
        return self._units

    @cached_property
    def _units(self) -> frozenset[str]:
        return self.words | {f"#{n}" for n in self.numbers} | {f"#{n}" for n in self.answer_numbers}

    def to_json(self) -> str:
        return json.dumps([sorted(self.words), self.numbers, self.answer_numbers, self.quotes, self.frame],
                          ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "Content":
        words, numbers, answer_numbers, quotes, frame = json.loads(text)
        return cls(frozenset(words), tuple(numbers), tuple(answer_numbers), tuple(tuple(q) for q in quotes),
                   tuple(frame))


def _words(key: str) -> list[str]:
    """Content-bearing words: not function words, not single letters, not numbers written in words."""
    return [w for w in _WORD.findall(key) if len(w) > 1 and w not in FUNCTION_WORDS and w not in _NUMBER_WORDS]


def content_of(messages: Iterable[dict], passage_text: str | None = None) -> Content:
    """The content of an example from its message dicts (and its source passage, taken out of the ask)."""
    messages = [m for m in messages if isinstance(m, dict)]
    ask = ask_text(messages, passage_text)
    answer = []
    for m in messages:
        if m.get("role") != "assistant":
            continue
        answer.append(m.get("content") or "")
        for call in m.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                answer.append(str(function.get("arguments") or ""))
    answer_text = "\n".join(answer)
    ask_key, answer_key = _key(ask), _key(answer_text)
    quotes = []
    for span in _QUOTED.findall(ask_key):
        words = tuple(_words(span))
        if len(words) >= 2:
            quotes.append(words)
    frame = tuple("#" if t[0].isdigit() or t in _NUMBER_WORDS else t for t in _TOKEN.findall(ask_key))
    return Content(
        words=frozenset(_words(ask_key) + _words(answer_key)),
        numbers=tuple(sorted(_value(v) for v in numbers_in(ask))),
        answer_numbers=tuple(sorted(_value(v) for v in numbers_in(answer_text))),
        quotes=tuple(quotes), frame=frame)
