"""The language gate: every user and assistant turn is Persian, judged turn by turn.

Each turn is identified with lingua (one detector per process, built on first use) together with the
script statistics of `curator.text.script`:

- Arabic-script turns: lingua picks Persian, Arabic or Urdu (Urdu only with Urdu's own letters).
  Arabic written with the Persian letter forms ی and ک fools the n-gram models, so a turn lingua
  calls Persian is asked again with those two folded to ي and ك: Arabic at `ARABIC_WHEN_FOLDED` or
  more there makes it Arabic (`arabic_not_persian`). Short Persian turns full of Arabic loanwords
  («فاعل «علی» است») fool that second pass, so a turn with more strong Persian evidence (the letters
  پ چ ژ گ, words like است را که) than Arabic evidence (ة, في الذي...) is Persian whatever lingua says.
- Latin-script turns: romanized Persian (Finglish) when many of its words are on the editable list
  in `prompts/language.toml` (`romanized_persian`; lingua's English confidence does not separate the
  two); otherwise not Persian (`not_persian`, language `en`). Other scripts: `not_persian`, `other`.
- Code (fenced or inline), URLs and e-mail addresses are masked first; turns too short to tell are
  left alone; tool turns and tool-call arguments are not prose and are skipped.

Then, as before, the Persian-script share of the turns that must be Persian stays above the family's
`min_persian_ratio` (`low_persian_ratio`), and Persian in Arabic letter forms fails
(`arabic_letter_forms`). An English sentence inside a Persian answer is flagged (`english_span`) with
its offsets in that turn's content; a term, a name or a short command is not. A family lists the
roles whose turns are legitimately in another language (a translation's source) in
`other_language_roles`.
"""

from __future__ import annotations

import re
import threading
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from curator.config import BUNDLED_PROMPTS
from curator.gates.base import GateContext, Verdict
from curator.models import Example
from curator.text.script import script_stats, words as arabic_words

# Measured (benchmarks/language_bench.py): the Arabic-script models cost ~110 MB once loaded; each
# further Latin-script language ~28 MB more (French, German, Spanish, Turkish, Azerbaijani: +142 MB)
# and changed no verdict on the labelled set (any Latin turn fails, Finglish is told by its word list).
# Low-accuracy mode saves memory but calls clean Persian Arabic, so high accuracy it is.
LANGUAGES = (Language.PERSIAN, Language.ARABIC, Language.URDU, Language.ENGLISH)
ARABIC_WHEN_FOLDED = 0.6  # Arabic confidence, on the text with ی/ک folded, that makes a "Persian" turn Arabic
FINGLISH_SHARE = 0.3  # share of a Latin text's words on the Finglish list that makes it romanized Persian
MIN_WORDS = 3  # a turn with fewer words (of its dominant script) is too short to judge
OTHER_MIN_LETTERS = 12  # letters of another script (Cyrillic, Han...) that make a turn not Persian
SPAN_MIN_WORDS = 4  # an English run in a Persian answer must be this long to be a sentence, not a term

_lock = threading.Lock()
_detector: LanguageDetector | None = None


def detector() -> LanguageDetector:
    """The process's detector, built on first use (high-accuracy mode; models load lazily)."""
    global _detector
    with _lock:
        if _detector is None:
            _detector = LanguageDetectorBuilder.from_languages(*LANGUAGES).build()
        return _detector


_warm: dict[str, dict[Language, float]] = {}  # confidences computed ahead for a batch (see `warm`)


def confidences(text: str) -> dict[Language, float]:
    found = _warm.get(text)
    if found is not None:
        return found
    return {c.language: c.value for c in detector().compute_language_confidence_values(text)}


def warm(texts: list[str]) -> None:
    """Compute at once, on every core, the confidences `identify` will ask for these texts (a batch of
    turns about to be checked): lingua's parallel call is about five times faster on two cores than
    one text at a time. Replaces the previous batch's."""
    todo = list(dict.fromkeys(_LATIN_WORD.sub(" ", masked) for masked in map(mask, texts)
                              if len(arabic_words(masked)) >= MIN_WORDS))
    results = detector().compute_language_confidence_values_in_parallel(todo) if todo else []
    found = {text: {c.language: c.value for c in result} for text, result in zip(todo, results)}
    _warm.clear()
    _warm.update(found)


_MASK = re.compile(r"```.*?```|`[^`\n]*`|https?://\S+|www\.\S+|[\w.+-]+@[\w-]+\.[\w.]+", re.S)
_FOLD = str.maketrans({"ی": "ي", "ک": "ك"})
_URDU_LETTERS = re.compile("[ٹڈڑںھہۃےۓ]")
# A Latin word: letters, with inner apostrophes or hyphens (don't, fifth-grade).
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+(?:['’-][A-Za-z\u00c0-\u024f]+)*")
CODES = {Language.PERSIAN: "fa", Language.ARABIC: "ar", Language.URDU: "ur", Language.ENGLISH: "en"}


def mask(text: str) -> str:
    """The text with code, URLs and e-mail addresses blanked to spaces (offsets are kept)."""
    return _MASK.sub(lambda m: " " * len(m.group()), text)


@dataclass(frozen=True)
class Identity:
    """What language a text is in: `fa`, `ar`, `ur`, `en` (any Latin-script language but Finglish),
    `finglish`, `other` (another script) or `unknown` (too short); `confidence` in that answer."""

    language: str
    confidence: float
    evidence: dict[str, Any]


def identify(text: str, finglish: frozenset[str] | None = None) -> Identity:
    """The language of one text (a turn's content); `finglish` is the word list (the bundled one by default).

    A text with `MIN_WORDS` Arabic-script words is judged on those (its Latin words are terms,
    quotes or spans, see `english_spans`); else one with `MIN_WORDS` Latin words on those."""
    masked = mask(text)
    if len(arabic_words(masked)) >= MIN_WORDS:
        return _arabic_script(_LATIN_WORD.sub(" ", masked))
    if len(latin := _LATIN_WORD.findall(masked)) >= MIN_WORDS:
        return _latin_script(" ".join(latin), latin, bundled_finglish() if finglish is None else finglish)
    stats = script_stats(masked)
    if stats.letters >= OTHER_MIN_LETTERS and stats.arabic_script + stats.latin < stats.letters / 2:
        return Identity("other", round(1 - (stats.arabic_script + stats.latin) / stats.letters, 3), {})
    return Identity("unknown", 0.0, {})


def _arabic_script(text: str) -> Identity:
    scores = confidences(text)
    top = max(scores, key=scores.__getitem__)
    evidence = {"fa": round(scores[Language.PERSIAN], 3), "ar": round(scores[Language.ARABIC], 3),
                "ur": round(scores[Language.URDU], 3)}
    if top == Language.URDU and _URDU_LETTERS.search(text):
        return Identity("ur", scores[top], evidence)
    stats = script_stats(text)
    strong_persian = stats.persian_evidence - text.count("ی") - text.count("ک")  # letters پچژگ, words است را که...
    if strong_persian > stats.arabic_evidence:
        return Identity("fa", scores[Language.PERSIAN] if top == Language.PERSIAN else 1.0 - scores[top],
                        {**evidence, "persian_evidence": strong_persian})
    if top == Language.ARABIC:
        return Identity("ar", scores[top], evidence)
    folded = text.translate(_FOLD)
    arabic = confidences(folded)[Language.ARABIC] if folded != text else scores[Language.ARABIC]
    evidence["ar_folded"] = round(arabic, 3)
    if arabic >= ARABIC_WHEN_FOLDED:
        return Identity("ar", arabic, evidence)
    return Identity("fa", 1.0 - arabic if top == Language.URDU else scores[Language.PERSIAN], evidence)


def _latin_script(text: str, words: list[str], finglish: frozenset[str]) -> Identity:
    hits = [w for w in words if w.lower() in finglish]
    share = len(hits) / len(words)
    if share >= FINGLISH_SHARE:
        return Identity("finglish", share, {"finglish_words": hits[:8], "share": round(share, 3)})
    scores = confidences(text)
    top = max(scores, key=scores.__getitem__)
    return Identity(CODES[top], scores[top], {CODES[top]: round(scores[top], 3), "finglish_share": round(share, 3)})


def english_spans(text: str, finglish: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """English sentences inside a (Persian) text: runs of Latin words with no Arabic-script letter
    between them, long enough to be a sentence and identified as English. Offsets index `text`."""
    masked = mask(text)
    spans = []
    for start, end, words in _latin_word_runs(masked):
        if len(words) < SPAN_MIN_WORDS:
            continue
        found = _latin_script(" ".join(words), words, bundled_finglish() if finglish is None else finglish)
        if found.language == "en":
            spans.append({"span": [start, end], "text": text[start:end], "confidence": round(found.confidence, 3)})
    return spans


def _latin_word_runs(text: str) -> list[tuple[int, int, list[str]]]:
    runs: list[tuple[int, int, list[str]]] = []
    for m in _LATIN_WORD.finditer(text):
        if runs and not arabic_words(text[runs[-1][1]:m.start()]):
            start, _, words = runs[-1]
            runs[-1] = (start, m.end(), words + [m.group()])
        else:
            runs.append((m.start(), m.end(), [m.group()]))
    return runs


@lru_cache(maxsize=8)
def load_finglish(path: Path) -> frozenset[str]:
    """The Finglish word list of a `language.toml`, lowercased."""
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return frozenset(w.lower() for w in data.get("finglish", ()))


def bundled_finglish() -> frozenset[str]:
    return load_finglish(BUNDLED_PROMPTS / "language.toml")


def finglish_for(family: Any) -> frozenset[str]:
    """The word list of the prompts folder the family came from, else the bundled one."""
    path = getattr(family, "path", None)
    own = Path(path).parent.parent / "language.toml" if path else None
    return load_finglish(own) if own is not None and own.exists() else bundled_finglish()


_REASONS = {"ar": "arabic_not_persian", "finglish": "romanized_persian"}


class LanguageGate:
    """Every user and assistant turn is Persian (Latin technical words are fine), the Persian-script
    share is above the family's threshold, and no English sentence leaks into the answers."""

    name, version = "language", "2"

    def check(self, example: Example, ctx: GateContext) -> Verdict:
        other_roles = set(getattr(ctx.family, "other_language_roles", ()) or ())
        finglish = finglish_for(ctx.family)
        checked = [(i, m) for i, m in enumerate(example.messages)
                   if m.role in ("user", "assistant") and m.content and m.role not in other_roles]
        for i, m in checked:
            found = identify(m.content, finglish)
            if found.language not in ("fa", "unknown"):
                return Verdict("fail", _REASONS.get(found.language, "not_persian"), round(found.confidence, 3),
                               {"turn": i, "role": m.role, "language": found.language,
                                "confidence": round(found.confidence, 3), **found.evidence})
        stats = script_stats(mask("\n".join(m.content for _, m in checked)))
        threshold = getattr(ctx.family, "min_persian_ratio", 0.6)
        ratio = round(stats.arabic_script_ratio, 3)
        detail = {"ratio": ratio, "threshold": threshold, "verdict": stats.verdict}
        if stats.verdict == "ar":
            return Verdict("fail", "arabic_letter_forms", ratio,
                           {**detail, "persian_evidence": stats.persian_evidence, "arabic_evidence": stats.arabic_evidence})
        if stats.arabic_script_ratio < threshold or stats.verdict == "other":
            return Verdict("fail", "low_persian_ratio", ratio, detail)
        for i, m in checked:
            if m.role == "assistant" and (spans := english_spans(m.content, finglish)):
                more = {"more_spans": spans[1:]} if len(spans) > 1 else {}
                return Verdict("flag", "english_span", ratio, {"turn": i, "role": m.role, **spans[0], **more})
        return Verdict.ok(ratio, **detail)
