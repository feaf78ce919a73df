"""The batch classification (`curator.corpus.batch`, numpy over a whole batch) gives every text exactly
the features, tags, quality, rules and families the per-text `classify` gives it.

Random texts are built from what the rules look at: the term words and phrases of every list, the
Persian and Arabic function words and evidence letters, digits of three kinds and runs of every
length, arithmetic, links, JSON, Latin terms in any case, speaker, list and table lines, ZWNJ in and
around words, Arabic letter variants, presentation forms, diacritics, emoji, control characters and
the batch's own separator; and the bundled sample corpus.
"""

from __future__ import annotations

import random
from dataclasses import asdict
from pathlib import Path

import pytest

import curator
from curator.config import Window
from curator.corpus.batch import batch_features, classify_batch
from curator.corpus.classify import _TERM_LISTS, classify, features
from curator.corpus.split import split_text
from curator.text.script import _ARABIC_WORDS, _PERSIAN_WORDS

TERMS = sorted({t for terms in _TERM_LISTS.values() for t in terms})
WORDS = TERMS + sorted(_PERSIAN_WORDS) + sorted(_ARABIC_WORDS) + (
    "کتاب مدرسه‌ها می‌خوانم دانش‌آموزان جملهٔ نمونه‌ای كتاب هاي مي‌خوانم على الكتاب ذهبت مدينة "
    "فاعلها مفعولی درسی فصلی عددی API Json ENDPOINT Parameters functions COPYRIGHT Cookie apis "
    "café Ünïcode ßtraße İstanbul ΣΟΦΙΑ мир 世界 naïve"
).split()
PIECES = [
    " ", " ", " ", "  ", "\n", "\n\n", "\u200c", " \u200c", "\u200c ", "\u200c\u200c", ". ", ".", "؟", "!", "?",
    "، ", "؛ ", ": ", ":", "\t", "\r\n", "\x00", "\ud800", "۱۴۰۲", "1399", "۱۲", "12345", "٢٠٢٣", "۳۰۰", "7",
    "۲ + ۳ = ۵", "12*4", "٣ × ٤", "3 -", "- ", "—", "=", "/", "https://example.ir/a", "http://x.com",
    "www.site.ir", "WWW.SITE.COM", "ww.", '{"name": 1}', "{ }", '":', "- سلام", "علی: سلام", "۱. مورد",
    "2) item", "* ", "• نکته", "a. ", "| الف | ب |", "|", "😀", "👍🏽", "\U00010400", "\ufedb\ufe98\ufe8e\ufe8f",
    "\ufe70", "\ufb8e", "\ufdf2", "\ufd3e", "\u064b", "\u0651", "\u0654", "\u0670", "\u0640", "ة", "ي", "ك", "ى",
    "أ", "إ", "پ", "چ", "ژ", "گ", "ی", "ک", "\u00d7", "\u00f7", "²", "½", "_", "\u200d", "\u200f", "\ufeff",
    "\x1c", "\x85", "\u00a0", "\u2028", "منبع: ویکی", "کلیه حقوق محفوظ است", "در سال ۱۳۵۷",
]


LINE_STARTS = ["- ", "— ", "علی: ", "مریم : ", "۱. ", "12) ", "a. ", "* ", "• ", "| ", "  ", "", "x:y "]


def _random_text(rng: random.Random) -> str:
    if rng.random() < 0.2:  # lines: dialogue, lists, tables, blank lines
        return "\n".join(rng.choice(LINE_STARTS) + _random_words(rng, rng.choice((0, 2, 6)))
                         + rng.choice(("", " |", "|  ", " ")) for _ in range(rng.randint(1, 8)))
    return _random_words(rng, rng.choice((0, 1, 3, 8, 20, 60, 150)))


def _random_words(rng: random.Random, count: int) -> str:
    parts = []
    for _ in range(count):
        r = rng.random()
        parts.append(rng.choice(WORDS) if r < 0.55 else rng.choice(PIECES) if r < 0.97 else chr(rng.randrange(1, 0x3000)))
        if rng.random() < 0.6:
            parts.append(" ")
    return "".join(parts)


def _same(texts: list[str], window: Window) -> None:
    got = batch_features(texts)
    assert len(got) == len(texts)
    for text, f in zip(texts, got):
        assert f == features(text), text
    for text, c in zip(texts, classify_batch(texts, window)):
        assert asdict(c) == asdict(classify(text, window)), text


@pytest.mark.parametrize("seed", range(12))
def test_batch_classification_is_the_per_text_one_on_random_texts(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(3):
        texts = [_random_text(rng) for _ in range(rng.randint(1, 200))]
        window = rng.choice((Window(), Window(min_chars=20, max_chars=300)))
        _same(texts, window)


def test_the_random_texts_reach_every_rule() -> None:
    """The generator above makes texts that set off each tag and quality (else the test proves little)."""
    rng = random.Random(0)
    texts = [_random_text(rng) for _ in range(3000)]
    results = classify_batch(texts, Window(min_chars=20, max_chars=300))
    tags = {t for c in results for t in c.tags}
    assert tags == {"grammar", "education", "math", "tool-doc", "dialogue", "factual", "list/table", "boilerplate",
                    "too-short", "too-long"}
    assert {c.quality for c in results} == {"reject", "medium", "high"}
    verdicts = {f.stats.verdict for f in batch_features(texts)}
    assert verdicts == {"fa", "ar", "other", "unknown"}


def test_batch_classification_on_the_sample_corpus() -> None:
    texts = []
    for path in sorted((Path(curator.__file__).parent / "sample" / "corpus").iterdir()):
        text = path.read_text(encoding="utf-8")
        texts += [text, *text.split("\n"), *(span.text for span in split_text(text, Window()))]
    assert len(texts) > 50
    _same(texts, Window())


def test_edge_batches() -> None:
    assert batch_features([]) == [] and classify_batch([]) == []
    _same([""], Window())
    _same(["", "\x00", "کتاب\x00درس", "درس\u200c", "\u200cدرس مثال", "۱۲۳۴"], Window())


def test_the_import_analysis_is_the_per_text_one() -> None:
    import orjson

    from curator.corpus.analysis import analyse
    from curator.text.normalize import key_hash

    rng = random.Random(5)
    texts = [_random_text(rng).replace("\ud800", "") for _ in range(300)]  # no lone surrogate reaches an import
    expected = []
    for text in texts:
        c = classify(text, Window())
        expected.append((key_hash(text), orjson.dumps(c.tags).decode(), c.quality, orjson.dumps(c.rules).decode(),
                         orjson.dumps(c.families).decode()))
    assert analyse(texts, Window()) == expected
