"""Numbers written the Persian way, parsed to exact values (`fractions.Fraction`).

Accepted: Persian (۰-۹), Arabic-Indic (٠-٩) and ASCII digits; thousands separators `,` `٬`;
decimal separators `.` `٫`; fractions `a/b`; a sign (`-`, `−`, «منفی»); scale words
(«۱۲۰ هزار», «۲ میلیون و ۵۰۰ هزار»); number words («بیست و پنج», «دو و نیم میلیون»);
a trailing percent sign or «درصد» (the value is the number before it: «۲۰٪» is 20).
"""

from __future__ import annotations

import re
from fractions import Fraction

_DIGITS = {0x06F0 + i: str(i) for i in range(10)} | {0x0660 + i: str(i) for i in range(10)}
_LETTERS = {ord("ي"): "ی", ord("ى"): "ی", ord("ك"): "ک", 0x200C: "", ord("−"): "-", ord("٬"): ",", ord("٫"): "."}
_FOLD = _DIGITS | _LETTERS

_UNITS = {
    "صفر": 0, "یک": 1, "یه": 1, "دو": 2, "سه": 3, "چهار": 4, "پنج": 5, "شش": 6, "شیش": 6, "هفت": 7,
    "هشت": 8, "نه": 9, "ده": 10, "یازده": 11, "دوازده": 12, "سیزده": 13, "چهارده": 14,
    "پانزده": 15, "پونزده": 15, "شانزده": 16, "شونزده": 16, "هفده": 17, "هجده": 18, "هیجده": 18,
    "نوزده": 19, "بیست": 20, "سی": 30, "چهل": 40, "پنجاه": 50, "شصت": 60, "هفتاد": 70,
    "هشتاد": 80, "نود": 90, "صد": 100, "یکصد": 100, "دویست": 200, "سیصد": 300, "چهارصد": 400,
    "پانصد": 500, "پونصد": 500, "ششصد": 600, "هفتصد": 700, "هشتصد": 800, "نهصد": 900,
}
SCALES = {"هزار": 10**3, "میلیون": 10**6, "میلیارد": 10**9, "بیلیون": 10**9, "تریلیون": 10**12}
_PERCENT = ("%", "٪", "درصد")

_LITERAL = re.compile(r"(\d+(?:,\d{3})*|\d+)(?:\.(\d+))?(?:/(\d+))?$")
_TOKEN = re.compile(r"\d[\d,./]*|[^\s\d]+")

_D = "0-9۰-۹٠-٩"
NUMBER_PATTERN = re.compile(
    rf"(?<![{_D}])[-−]?[{_D}]+(?:[,٬][{_D}]{{3}})*(?:[.٫/][{_D}]+)?(?![{_D}])"
    rf"(?:\s*(?:{'|'.join(SCALES)}))*"
    rf"(?:\s+و\s+[{_D}]+(?:[.٫][{_D}]+)?\s*(?:{'|'.join(SCALES)}))*"
    r"(?:\s*(?:%|٪|درصد))?"
)


def _literal(token: str) -> Fraction:
    token = token.replace("٬", ",").replace("٫", ".")
    m = _LITERAL.match(token)
    if not m:
        raise ValueError(f"not a number: {token!r}")
    whole, decimals, denominator = m.groups()
    value = Fraction(int(whole.replace(",", "")))
    if decimals:
        value += Fraction(int(decimals), 10 ** len(decimals))
    if denominator is not None:
        if decimals or "," in whole:
            raise ValueError(f"not a number: {token!r}")
        if int(denominator) == 0:
            raise ValueError(f"zero denominator in {token!r}")
        value = value / int(denominator)
    return value


def parse_number(text: str) -> Fraction:
    """Parse one number written in any of the styles above to its exact value; ValueError otherwise."""
    s = text.translate(_FOLD).strip()
    for mark in _PERCENT:
        if s.endswith(mark):
            s = s[: -len(mark)].strip()
            break
    sign = 1
    if s.startswith("-"):
        sign, s = -1, s[1:].strip()
    elif s.startswith("منفی"):
        sign, s = -1, s[len("منفی"):].strip()
    tokens = _TOKEN.findall(s)
    if not tokens:
        raise ValueError(f"not a number: {text!r}")
    total = current = Fraction(0)
    seen_value = False
    expect_value = True
    for token in tokens:
        if token == "و":
            if expect_value:
                raise ValueError(f"misplaced «و» in {text!r}")
            expect_value = True
            continue
        if token[0].isdigit():
            current += _literal(token)
            seen_value, expect_value = True, False
        elif token in _UNITS:
            if token == "صد" and 0 < current < 10 and current.denominator == 1:
                current *= 100
            else:
                current += _UNITS[token]
            seen_value, expect_value = True, False
        elif token == "نیم" and seen_value:
            current += Fraction(1, 2)
            expect_value = False
        elif token in SCALES:
            total += (current if current else 1) * SCALES[token]
            current = Fraction(0)
            seen_value, expect_value = True, False
        else:
            raise ValueError(f"not a number: {text!r} (at {token!r})")
    if not seen_value or expect_value:
        raise ValueError(f"not a number: {text!r}")
    return sign * (total + current)


def find_numbers(text: str) -> list[tuple[Fraction, int, int]]:
    """Every digit-written number in free text, as (value, start, end), in order of appearance."""
    found = []
    for m in NUMBER_PATTERN.finditer(text):
        try:
            found.append((parse_number(m.group()), m.start(), m.end()))
        except ValueError:
            continue
    return found


_NUMBER_WORD = "|".join(sorted([*_UNITS, *SCALES, "نیم"], key=len, reverse=True))
_SCALE_WORD = "|".join(sorted(SCALES, key=len, reverse=True))
# Parts are joined by «و»; only a scale word follows without it («پنج هزار»; «یک چهل» is two numbers).
WORDS_PATTERN = re.compile(
    rf"(?<![\w\u200c])(?:منفی\s+)?(?:{_NUMBER_WORD})(?:\s+و\s+(?:{_NUMBER_WORD})|\s+(?:{_SCALE_WORD}))*"
    rf"(?![\w\u200c])"
)


def number_words() -> tuple[str, ...]:
    """The words numbers are written with (units, tens, hundreds; scale words are `SCALES`)."""
    return tuple(_UNITS) + ("نیم",)


# Words that are numbers only in context: «یک کتاب» (a book), «نه» (no).
_AMBIGUOUS = frozenset({"یک", "یه", "نه"})


def find_number_words(text: str) -> list[tuple[Fraction, int, int]]:
    """Every number written in words («شصت هزار», «سی و دو»), as (value, start, end). A lone «یک»,
    «یه» or «نه», and a multiplier before «برابر» («دو برابر»), are not taken for numbers. Numbers
    joined by «و» are told apart by their places: «پانصد و دوازده و هشتاد و نه» is 512 and 89."""
    found = []
    for m in WORDS_PATTERN.finditer(text):
        decimal = text[m.end():].lstrip().startswith(_FRACTION_WORDS)  # «سه و چهارده صدم» is one number
        for start, end in [(m.start(), m.end())] if decimal else _numbers_in_run(text, m.start(), m.end()):
            words = text[start:end]
            if words in _AMBIGUOUS or text[end:].lstrip().startswith("برابر"):
                continue
            try:
                found.append((parse_number(words), start, end))
            except ValueError:
                continue
    return found


_FRACTION_WORDS = ("دهم", "صدم", "هزارم")
_WORD = re.compile(r"\S+")


def _numbers_in_run(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split a run of number words where a part cannot continue the number before it: after hundreds
    come tens or units, after tens units, after a unit or a teen only a scale word; after a scale, a
    smaller group. The spans of the numbers, in order."""
    spans: list[tuple[int, int]] = []
    first = last = start
    below = float("inf")  # what the next part of the current number must stay under
    joined = False  # a «و» since the last part
    for m in _WORD.finditer(text, start, end):
        word = m.group()
        if word == "و":
            joined = True
            continue
        if word in SCALES:
            below = SCALES[word]
        elif word in _UNITS:
            value = _UNITS[word]
            if joined and value >= below:
                spans.append((first, last))
                first = m.start()
            below = 100 if value >= 100 else 10 if value >= 20 else 1
        joined = False
        last = m.end()
    spans.append((first, last))
    return spans


_ORDINALS = {"اول": 1, "نخست": 1, "دوم": 2, "سوم": 3, "چهارم": 4, "پنجم": 5, "ششم": 6, "هفتم": 7, "هشتم": 8,
             "نهم": 9, "دهم": 10, "یازدهم": 11, "دوازدهم": 12}
_ORDINAL = re.compile(r"(?<![\w\u200c])(" + "|".join(_ORDINALS) + r")(?:ین)?(?![\w\u200c])")
_DENOMINATORS = {"هزارم": 1000, "صدم": 100, "دهم": 10}


def numbers_in(text: str) -> list[Fraction]:
    """Every number in free text by value, in digits, in words or as an ordinal: «۵ سیب», «پنج سیب» and
    «پنجمین سیب» all give 5; «سه و چهارده صدم» gives 3.14; «سه‌روزه» gives 3."""
    text = text.replace("\u200c", " ")
    digits = find_numbers(text)
    values: list[Fraction] = [v for v, _, _ in digits]
    for value, start, end in find_number_words(text):
        if any(s < end and start < e for _, s, e in digits):
            continue  # «۴۵ هزار»: the scale word belongs to the digits
        tail = text[end:].lstrip()
        denominator = next((d for word, d in _DENOMINATORS.items() if tail.startswith(word)), None)
        if denominator and " و " in text[start:end]:
            whole, _, part = text[start:end].rpartition(" و ")
            value = parse_number(whole) + parse_number(part) / denominator
        values.append(value)
    values += [Fraction(_ORDINALS[m.group(1)]) for m in _ORDINAL.finditer(text)]
    return values
