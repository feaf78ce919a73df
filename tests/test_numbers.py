"""Numbers in every numeral style parse to exact values."""

from fractions import Fraction

import pytest

from curator.text import find_numbers, parse_number
from curator.text.numbers import find_number_words

CASES = [
    # ASCII, Persian and Arabic-Indic digits
    ("120000", 120000),
    ("۱۲۰۰۰۰", 120000),
    ("١٢٠٠٠٠", 120000),
    # thousands separators
    ("120,000", 120000),
    ("۱۲۰٬۰۰۰", 120000),
    ("١٢٠٬٠٠٠", 120000),
    ("۱٬۲۳۴٬۵۶۷", 1234567),
    # decimal separators
    ("12.5", Fraction(25, 2)),
    ("۱۲٫۵", Fraction(25, 2)),
    ("١٢٫٥", Fraction(25, 2)),
    ("۱٬۲۳۴٫۵", Fraction(2469, 2)),
    ("0.1", Fraction(1, 10)),
    # fractions
    ("۳/۴", Fraction(3, 4)),
    ("3/4", Fraction(3, 4)),
    # signs
    ("-۵", -5),
    ("−5", -5),
    ("منفی ۵", -5),
    # scale words after digits
    ("۱۲۰ هزار", 120000),
    ("۲ میلیون", 2000000),
    ("۲٫۵ میلیون", 2500000),
    ("۳ میلیارد", 3000000000),
    ("۲ میلیون و ۵۰۰ هزار", 2500000),
    ("۱۲۰هزار", 120000),
    # number words
    ("بیست و پنج", 25),
    ("سیصد و چهل و پنج", 345),
    ("صد و بیست هزار", 120000),
    ("دو و نیم میلیون", 2500000),
    ("یک میلیون و دویست هزار", 1200000),
    ("هزار", 1000),
    ("دوازده", 12),
    ("پونزده", 15),
    ("۱۲ و نیم", Fraction(25, 2)),
    # percent
    ("۲۰٪", 20),
    ("20%", 20),
    ("۲۵ درصد", 25),
    # Arabic letter variants inside number words
    ("يك", 1),
]


@pytest.mark.parametrize(("text", "value"), CASES)
def test_parses_exactly(text: str, value) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["", "سلام", "12,34", "۱۲/", "و پنج", "بیست و", "1/0", "۱,۲,۳"])
def test_rejects_what_is_not_one_number(text: str) -> None:
    with pytest.raises(ValueError):
        parse_number(text)


def test_finds_numbers_in_free_text_with_spans() -> None:
    text = "علی ۳ دفتر خرید و ۱۲۰ هزار تومان داد؛ یعنی ۱۲۰٬۰۰۰ تومان با ۲۰٪ تخفیف و ۲ میلیون و ۵۰۰ هزار."
    found = find_numbers(text)
    assert [v for v, _, _ in found] == [3, 120000, 120000, 20, 2500000]
    for value, start, end in found:
        assert parse_number(text[start:end]) == value


def test_sentence_final_dot_is_not_a_decimal_point() -> None:
    assert [v for v, _, _ in find_numbers("پاسخ ۱۲۰٬۰۰۰.")] == [120000]


def test_numbers_in_words_joined_by_va_are_told_apart_by_their_places() -> None:
    def values(text: str) -> list:
        return [v for v, _, _ in find_number_words(text)]

    assert values("پانصد و دوازده و هشتاد و نه را جمع کن") == [512, 89]
    assert values("سیصد و پنج و هفتاد و شش") == [305, 76]
    assert values("صد و بیست و پنج هزار و سیصد و دوازده") == [125312]
    assert values("بیست و پنج و سی") == [25, 30]
    assert values("دو و نیم میلیون") == [2500000]
    assert values("سه و چهارده صدم") == [17]  # the decimal reading is number_signature's («۳٫۱۴»)
    text = "هفتاد ضربدر یازده و دوازده و سی"
    for value, start, end in find_number_words(text):
        assert parse_number(text[start:end]) == value
