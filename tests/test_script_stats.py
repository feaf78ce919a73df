"""Script statistics tell Persian from Arabic and from Latin text, on the raw text."""

import pytest

from curator.text import script_stats


@pytest.mark.parametrize(
    "text",
    [
        "فتوسنتز فرایندی است که گیاه با آن غذای خود را می‌سازد.",
        "در جملهٔ «علی کتاب را خواند»، فاعل «علی» است.",
        "پدر و مادرم به بازار رفتند تا گوشت بخرند.",
    ],
)
def test_persian_prose_is_persian(text: str) -> None:
    stats = script_stats(text)
    assert stats.verdict == "fa"
    assert stats.arabic_script_ratio > 0.95


@pytest.mark.parametrize(
    "text",
    [
        "ذهب الولد إلى المدرسة في الصباح الباكر.",
        "هذه هي المكتبة التي تحدثت عنها.",
        "كانت الحديقة جميلة جداً في فصل الربيع.",
    ],
)
def test_arabic_prose_is_arabic(text: str) -> None:
    assert script_stats(text).verdict == "ar"


def test_persian_with_latin_technical_words_is_still_persian() -> None:
    stats = script_stats("برای نصب Python از دستور pip install استفاده کنید و API را فراخوانی کنید.")
    assert stats.verdict == "fa"
    assert 0.5 < stats.arabic_script_ratio < 0.9
    assert stats.latin > 0


def test_persian_typed_with_arabic_yeh_and_kaf_is_still_persian() -> None:
    assert script_stats("اين كتاب را پدرم برايم خريد و گفت كه بخوانم.").verdict == "fa"


def test_english_is_other() -> None:
    stats = script_stats("The quick brown fox jumps over the lazy dog.")
    assert stats.verdict == "other"
    assert stats.arabic_script_ratio == 0.0


def test_no_letters_at_all() -> None:
    stats = script_stats("۱۲۳ + ۴۵۶ = ۵۷۹")
    assert stats.letters == 0 and stats.verdict == "other"


def test_stats_are_computed_on_raw_text_not_folded() -> None:
    # ي and ك are Arabic evidence; folding first would have turned them into Persian letters.
    stats = script_stats("ي ك ي ك")
    assert stats.arabic_evidence > stats.persian_evidence


@pytest.mark.parametrize("text", [
    "فتوسنتز فرایندی است که گیاه با آن غذای خود را می‌سازد.",
    "Python و API در این درس؛ café ‌ نیم‌فاصلهٔ سرگردان \u200c و کلمه‌ها",
    "ذهب الطالب إلى المدرسة في الصباح",
    "Ωμέγα и кириллица با فارسی",
    "",
])
def test_precomputed_words_give_the_same_stats(text: str) -> None:
    from collections import Counter

    from curator.text.script import latin_runs, words

    found = words(text)
    assert script_stats(text, found, word_counts=Counter(found), latin=latin_runs(text)) == script_stats(text)
