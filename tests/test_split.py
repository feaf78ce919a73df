"""Passages split at paragraph and sentence boundaries, Persian punctuation included, with exact offsets."""

import random

import pytest

from curator.config import Window
from curator.corpus import passages, split_text

SENTENCES = [
    "فاعل کسی است که کار را انجام می‌دهد.",
    "آیا «علی» در این جمله فاعل است؟",
    "بله!",
    "مفعول با «را» می‌آید؛",
    "متمم با حرف اضافه می‌آید.",
    "Python 3.11 و API را ببینید.",
    "عدد ۱۲٫۵ و ۱۲۰٬۰۰۰ را بخوانید.",
]


def _random_doc(rng: random.Random) -> str:
    paragraphs = []
    for _ in range(rng.randint(1, 25)):
        n = rng.choice([1, 2, 5, 40, 120])
        paragraphs.append(" ".join(rng.choice(SENTENCES) for _ in range(n)))
    seps = ["\n\n", "\n\n\n", "\r\n\r\n", "\n  \n", "\n\t\n\n"]
    return rng.choice(["", "  ", "\n"]) + "".join(p + rng.choice(seps) for p in paragraphs)


@pytest.mark.parametrize("seed", range(40))
def test_offsets_round_trip_for_any_chunking(seed: int) -> None:
    rng = random.Random(seed)
    doc = _random_doc(rng)
    window = rng.choice([Window(), Window(50, 300), Window(20, 120)])
    whole = split_text(doc, window)
    size = rng.choice([1, 3, 17, 1000])
    chunked = list(passages((doc[i:i + size] for i in range(0, len(doc), size)), window))
    assert chunked == whole
    for span in whole:
        assert doc[span.start:span.end] == span.text
        assert span.text == span.text.strip()
        assert len(span.text) <= window.max_chars
    # Nothing but white space is lost between passages.
    assert "".join(doc.split()) == "".join("".join(s.text.split()) for s in whole)


def test_long_paragraph_is_split_after_persian_sentence_ends() -> None:
    sentence = "این جمله‌ای دربارهٔ دستور زبان است؟ "
    doc = (sentence * 30).strip()
    spans = split_text(doc, Window(50, 200))
    assert len(spans) > 1
    for span in spans[:-1]:
        assert span.text.endswith("؟")


@pytest.mark.parametrize("mark", [".", "؟", "!", "؛", "…"])
def test_each_persian_sentence_mark_is_a_boundary(mark: str) -> None:
    doc = " ".join(f"جملهٔ شمارهٔ {i} اینجاست{mark}" for i in range(40))
    spans = split_text(doc, Window(30, 100))
    assert all(s.text.endswith(mark) for s in spans[:-1])


def test_tiny_paragraphs_merge_with_their_neighbours() -> None:
    doc = "# عنوان\n\n" + "متن اصلی درس. " * 20
    spans = split_text(doc, Window(50, 1000))
    assert len(spans) == 1
    assert spans[0].text.startswith("# عنوان\n\n")


def test_a_decimal_point_is_not_a_sentence_end() -> None:
    doc = "قیمت 12.5 دلار است. " * 20
    for span in split_text(doc, Window(20, 60)):
        assert not span.text.endswith("12.")


def test_a_sentence_longer_than_the_window_is_cut_at_white_space() -> None:
    doc = "کلمه " * 500
    spans = split_text(doc, Window(50, 300))
    assert all(len(s) <= 300 for s in spans)
    assert all(not s.text.endswith("کل") for s in spans)


def test_a_huge_paragraph_without_breaks_streams() -> None:
    doc = "این یک جملهٔ بلند است. " * 20000  # ~460k characters, no paragraph break
    chunks = (doc[i:i + 4096] for i in range(0, len(doc), 4096))
    spans = list(passages(chunks))
    assert all(doc[s.start:s.end] == s.text for s in spans)
    assert max(len(s) for s in spans) <= 1500
