"""The RTL display pipeline: reading order at every width, mirrored brackets, marks on letters."""

from __future__ import annotations

import unicodedata

import pytest
from rich.cells import cell_len

from curator.text import match_key
from curator.display.rtl import display_lines, paragraph_is_rtl, resolve_mode

MIXED = ("در سال ۱۴۰۲ دانش‌آموزان کلاس هفتم با زبان Python و کتابخانهٔ Textual یک برنامهٔ کوچک نوشتند "
         "که ۳ جمله را تحلیل می‌کرد (فاعل، مفعول و متمم) و نتیجه را در 2 ثانیه نشان می‌داد.")


def logical_words(line_text: str) -> list[str]:
    """Undo the display of one RTL line: read the words right to left, each RTL word's glyphs
    reversed (a ligature like ﻼ stays one glyph), keeping left-to-right runs (Latin words and
    numbers) in their own order; then fold to match keys."""
    out, ltr_run = [], []
    for word in reversed(line_text.strip().split()):
        if any(ch.isdigit() or (ch.isascii() and ch.isalpha()) for ch in word):
            ltr_run.insert(0, word)
            continue
        out.extend(ltr_run)
        ltr_run = []
        out.append(word[::-1])  # an RTL word is drawn right to left
    return [match_key(w) for w in out + ltr_run]


@pytest.mark.parametrize("width", [14, 20, 27, 33, 40, 55, 80, 200])
def test_mixed_paragraph_keeps_reading_order_at_every_width(width: int) -> None:
    lines = display_lines(MIXED, width)
    assert all(cell_len(line.text) <= width for line in lines)
    assert all(line.rtl for line in lines)
    strip = str.maketrans("", "", "()[]«»،,.")
    read = [w.translate(strip) for line in lines for w in logical_words(line.text)]
    expected = [w.translate(strip) for w in match_key(MIXED).split()]
    assert [w for w in read if w] == [w for w in expected if w]


def test_rtl_lines_are_right_aligned() -> None:
    for line in display_lines("سلام دنیا", 30):
        assert cell_len(line.text) == 30 and line.text.endswith(line.text.strip())
        assert line.text.startswith(" ")


def test_brackets_are_mirrored_in_rtl_runs() -> None:
    (line,) = display_lines("سلام (دنیا)", 40)
    visual = line.text.strip()
    assert visual.startswith("(") and ")" in visual[1:], visual  # the closing bracket is on the left


def test_latin_paragraphs_and_code_stay_left_to_right() -> None:
    (line,) = display_lines("print(x) # (کامنت)", 40)
    assert not line.rtl and line.text.startswith("print(x)")


def test_diacritics_stay_after_their_letters() -> None:
    (line,) = display_lines("کِتابْ", 10)
    visual = line.text.strip()
    for i, ch in enumerate(visual):
        if unicodedata.combining(ch):
            assert i > 0 and not unicodedata.combining(visual[i - 1]) and visual[i - 1] != " "
    assert not unicodedata.combining(visual[0])


def test_zwnj_does_not_break_alignment() -> None:
    for width in (10, 20):
        for line in display_lines("می‌خواهم کتاب‌ها را بخوانم", width):
            assert "\u200c" not in line.text and cell_len(line.text) == width


def test_terminal_mode_only_wraps_the_logical_text() -> None:
    lines = display_lines(MIXED, 30, "terminal")
    assert " ".join(line.text for line in lines) == MIXED


def test_paragraph_direction_and_auto_mode(monkeypatch) -> None:
    assert paragraph_is_rtl("سلام Python") and not paragraph_is_rtl("Python سلام") and paragraph_is_rtl("۱۲۳")
    monkeypatch.delenv("VTE_VERSION", raising=False)
    monkeypatch.delenv("KONSOLE_VERSION", raising=False)
    monkeypatch.delenv("MLTERM", raising=False)
    assert resolve_mode("auto") == "app"
    monkeypatch.setenv("VTE_VERSION", "7600")
    assert resolve_mode("auto") == "terminal" and resolve_mode("app") == "app"


def test_control_sequences_never_reach_the_screen() -> None:
    text = "سلام \x1b[2J\x1b]0;title\x07 دنیا \u202e reversed \x9b"
    for mode in ("app", "terminal"):
        joined = "".join(line.text for line in display_lines(text, 60, mode))
        assert not any(unicodedata.category(ch) == "Cc" for ch in joined)
        assert "\u202e" not in joined and "\u241b" in joined and "2J" in joined and "\u2407" in joined
        assert joined.count("\u25af") == 2, "U+202E and the C1 control are shown as placeholders"


@pytest.mark.parametrize("text", ["ب\u200dب لا", "می\u200dخواهم الله را", "\u200dلا", "ک\u200dل\u200dا"])
def test_a_zwj_before_a_ligature_is_drawn_not_a_crash(text: str) -> None:
    """arabic-reshaper fails on a ZWJ before لا or الله in the same text; such text is shaped without the
    ligature instead (corpus text must never stop a screen)."""
    from curator.display.cell import fit

    for line in display_lines(text, 30):
        assert "\u200d" not in line.text
    assert "\u200d" not in fit(text, 20)
