"""Mechanical defects in the text of a candidate, each with a stable reason and its evidence.

The content gate fails answers that stop mid-sentence (`truncated`), refuse or talk about being a
model outside the families whose task that is (`refusal`, `ai_disclaimer`; phrases in
`prompts/phrases.toml`), or repeat themselves (`repetition`). The format gate uses the text
detectors here for template leftovers, mojibake and turns of only invisible characters.
Every pattern is compiled once; a check is a few regex scans of the candidate's text.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from curator.config import BUNDLED_PROMPTS
from curator.families import PLACEHOLDERS
from curator.gates.base import GateContext, Verdict
from curator.models import Example
from curator.text.normalize import match_key

# Zero-width and bidi control characters, the BOM, soft hyphen and no-break spaces: a turn made only
# of these (and whitespace) shows nothing.
_MARKS = ("\u00a0\u00ad\u034f\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202f\u205f-\u2064\u2066-\u206f"
          "\u3000\u3164\ufeff")
MARKS = re.compile(f"[{_MARKS}]+")
INVISIBLE = re.compile(f"[{_MARKS}\\s]+")

# Generic leftover shapes: a `{placeholder}`, role or prompt-section tags, chat-template tokens,
# and phrases a model says about the prompt rather than to the user.
_LEFTOVER = re.compile(
    r"\{\{?\s*[^\W\d]\w*\s*\}\}?"
    r"|</?(?:user|assistant|system|human|bot|ai|tool|passage|instruction|answer|example|response|question|context)"
    r"\b[^>\n]{0,40}>"
    r"|<\|[a-z_]+\|>|\[/?INST\]|```|here is the json|here are the examples|^\s*sure[,!]|lorem ipsum",
    re.I | re.M,
)
# An answer that starts by labelling itself.
_ANSWER_PREFIX = re.compile(r"\A\s*(?:answer|response|assistant|output|پاسخ|جواب|دستیار)\s*[:：]", re.I)

# UTF-8 Persian read as cp1252 or latin-1: a lead byte Ø Ù Ú Û followed by a continuation byte
# shown as its cp1252/latin-1 character. Two such pairs in a row make a run.
_CONTINUATION = "\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014" \
                "\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
_MOJIBAKE = re.compile(rf"(?:[ØÙÚÛÃÂâ][{_CONTINUATION}]\s?){{2,}}")


def leftover(text: str, placeholders: frozenset[str], *, answer: bool) -> str | None:
    """The template leftover in one turn's text (a placeholder, tag or prefix), or None."""
    if hit := _LEFTOVER.search(text):
        return hit.group()
    for name in placeholders:
        if f"{{{name}}}" in text:
            return f"{{{name}}}"
    if answer and (hit := _ANSWER_PREFIX.search(text)):
        return hit.group().strip()
    return None


def family_placeholders(family: Any) -> frozenset[str]:
    """The placeholders the family's own templates use, with every placeholder families may use."""
    if family is None:
        return frozenset(PLACEHOLDERS)
    return _template_fields(family.system, family.user) | PLACEHOLDERS


@lru_cache(maxsize=64)
def _template_fields(*templates: str) -> frozenset[str]:
    names = set()
    for template in templates:
        try:
            names |= {name for _, name, _, _ in string.Formatter().parse(template) if name}
        except ValueError:
            continue
    return frozenset(names)


def mojibake(text: str) -> dict[str, Any] | None:
    """The first mojibake run and what it was meant to say, or None."""
    if not (hit := _MOJIBAKE.search(text)):
        return None
    raw = bytearray()
    for ch in hit.group().replace(" ", ""):
        try:
            raw += ch.encode("cp1252")
        except UnicodeEncodeError:
            raw += ch.encode("latin-1", "replace")
    return {"text": hit.group(), "start": hit.start(), "repaired": raw.decode("utf-8", "replace")}


def only_invisible(text: str) -> list[str] | None:
    """The code points of a turn that has characters but none visible, or None."""
    if not text or INVISIBLE.sub("", text):
        return None
    return sorted({f"U+{ord(c):04X}" for c in text if c not in " \n\t\r"})


# Content gate ----------------------------------------------------------------------------------

_SENTENCE_END = ".!?؟…۔»\"')]}*"
# A last word that cannot end a sentence: a connective or a preposition still waiting for its object.
CONNECTIVES = frozenset(
    "و که اما ولی زیرا چون یا تا اگر سپس بنابراین همچنین درحالیکه هرچند مانند مثل از به با در برای را بر "
    "and or but because so the a an to of with".split()
)
_LAST_WORD = re.compile(r"([^\W\d_]+)[\s،,:؛;…\.]*\Z")
_LIST_ITEM = re.compile(r"^\s*(?:[-•*]|[0-9۰-۹]+[.)-])\s")
_SENTENCES = re.compile(r"(?<=[.!?…])(?![\d.!?…])")  # in a match key, which drops spaces after punctuation
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Phrases:
    """The editable phrase lists (prompts/phrases.toml), compiled to folded keys."""

    exempt_families: frozenset[str]
    refusal_task_types: frozenset[str]
    lists: dict[str, tuple[tuple[str, str], ...]]  # reason -> (folded key, phrase as written)

    def find(self, key: str, task_type: str | None) -> tuple[str, str] | None:
        """The (reason, phrase) found in a text's match key, or None."""
        key = _PUNCT.sub("", key)
        for reason, phrases in self.lists.items():
            if reason == "refusal" and task_type in self.refusal_task_types:
                continue
            for folded, phrase in phrases:
                if folded and folded in key:
                    return reason, phrase
        return None


_PUNCT = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """The match key without spaces or punctuation: «به‌عنوان» and «به عنوان» compare equal."""
    return _PUNCT.sub("", match_key(text))


@lru_cache(maxsize=8)
def load_phrases(path: Path) -> Phrases:
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    lists = {reason: tuple((fold(p), p) for p in data.get(reason, ())) for reason in ("refusal", "ai_disclaimer")}
    return Phrases(frozenset(data.get("exempt_families", ("safety",))),
                   frozenset(data.get("refusal_task_types", ())), lists)


def phrases_for(family: Any) -> Phrases:
    """The phrase file of the prompts folder the family came from (else the bundled one), read once."""
    path = getattr(family, "path", None)
    return _phrases_in(Path(path).parent.parent if path else BUNDLED_PROMPTS)


@lru_cache(maxsize=8)
def _phrases_in(folder: Path) -> Phrases:
    own = folder / "phrases.toml"
    return load_phrases(own if own.exists() else BUNDLED_PROMPTS / "phrases.toml")


def truncation(text: str, min_words: int = 6) -> dict[str, str] | None:
    """Why an answer looks cut off (a trailing connective, or no sentence end in a longer answer)."""
    body = MARKS.sub("", text).strip()
    last_line = body.rsplit("\n", 1)[-1]
    if (m := _LAST_WORD.search(body)) and m.group(1).lower() in CONNECTIVES:
        return {"problem": "ends on a connective", "word": m.group(1), "tail": text.strip()[-60:]}
    if body.endswith(("...", "…")) or (
        not body.endswith(tuple(_SENTENCE_END)) and not _LIST_ITEM.match(last_line)
        and len(_WORD.findall(body)) >= min_words
    ):
        return {"problem": "no sentence end", "tail": text.strip()[-60:]}
    return None


def repetition(key: str, *, n: int = 4, max_share: float = 0.4, min_words: int = 24, sentence_words: int = 3,
               max_sentence_repeats: int = 3, max_run: int = 6) -> dict[str, Any] | None:
    """Degenerate repetition: one sentence (of `sentence_words` or more) said `max_sentence_repeats`
    times, one word `max_run` times in a row, or repeated word `n`-grams covering more than
    `max_share` of a longer answer. Reads the text's match key (folded, whitespace squeezed)."""
    sentences = Counter(k for s in _SENTENCES.split(key)
                        if len(_WORD.findall(k := s.strip(" .!?…"))) >= sentence_words)
    if sentences and (top := sentences.most_common(1)[0])[1] >= max_sentence_repeats:
        return {"kind": "sentence", "text": top[0][:120], "count": top[1]}
    words = _WORD.findall(key)
    run = 1
    for i in range(1, len(words)):
        run = run + 1 if words[i] == words[i - 1] else 1
        if run >= max_run:
            return {"kind": "word", "text": words[i], "count": run}
    if len(words) < min_words:
        return None
    seen: set[tuple[str, ...]] = set()
    covered = [False] * len(words)
    for i in range(len(words) - n + 1):
        gram = tuple(words[i:i + n])
        if gram in seen:
            covered[i:i + n] = [True] * n
        seen.add(gram)
    share = sum(covered) / len(words)
    if share > max_share:
        return {"kind": "ngram", "n": n, "share": round(share, 3)}
    return None


class ContentGate:
    """Each assistant answer is whole (not cut off), does not refuse or speak as a model outside the
    families whose task that is, and does not repeat itself."""

    name, version = "content", "1"

    def check(self, example: Example, ctx: GateContext) -> Verdict:
        phrases = phrases_for(ctx.family)
        exempt = getattr(ctx.family, "name", example.family) in phrases.exempt_families
        for i, m in enumerate(example.messages):
            if m.role != "assistant" or not m.content.strip():
                continue
            key = match_key(m.content)
            if not exempt and (found := phrases.find(key, example.task_type)):
                return Verdict("fail", found[0], 0.0, {"turn": i, "phrase": found[1]})
            if problem := repetition(key):
                return Verdict("fail", "repetition", problem.get("share"), {"turn": i, **problem})
            if not m.tool_calls and (problem := truncation(m.content)):
                return Verdict("fail", "truncated", 0.0, {"turn": i, **problem})
        return Verdict.ok(1.0)

