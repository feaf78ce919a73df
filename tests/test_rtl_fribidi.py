"""The reorder step against GNU FriBidi, line for line (fixtures made by tests/data/make_rtl_fixtures.py)."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from curator.display.rtl import display_lines, paragraph_is_rtl, reorder

FIXTURES = [json.loads(line) for line in
            (Path(__file__).parent / "data" / "rtl_lines.jsonl").read_text(encoding="utf-8").splitlines()]


def test_the_fixture_set_covers_the_mixed_cases() -> None:
    lines = [f["logical"] for f in FIXTURES]
    assert len(lines) >= 30
    for needle in ("(", "[", "«", "\u200c", "\u064e", "https://", "@", "%", "٪", "-5", "1403/05/12", "14:30",
                   'print("', "۱۲"):
        assert any(needle in line for line in lines), needle


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f["logical"][:24] for f in FIXTURES])
def test_reorder_matches_fribidi(fixture: dict) -> None:
    assert paragraph_is_rtl(fixture["logical"]) == fixture["rtl"]
    assert reorder(fixture["logical"], fixture["rtl"]) == fixture["visual"]


def unshaped(visual: str) -> str:
    """Arabic presentation forms back to letters; a lam-alef ligature is drawn right to left, so its
    two letters come out in visual order."""
    return "".join(unicodedata.normalize("NFKC", ch)[::-1] if "\ufb50" <= ch <= "\ufefc" else ch for ch in visual)


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f["logical"][:24] for f in FIXTURES])
def test_the_whole_pipeline_matches_fribidi_after_unshaping(fixture: dict) -> None:
    """Shaping, then reordering, as drawn on a wide line (the pipeline drops ZWNJ once letters are joined)."""
    (line,) = display_lines(fixture["logical"], 200)
    drawn = line.text.lstrip(" ") if line.rtl else line.text
    assert unshaped(drawn) == fixture["visual"].replace("\u200c", "")


def test_brackets_after_a_latin_word_are_drawn_as_fribidi_draws_them() -> None:
    """The line of the issue: the old fallback drew `(numpy (version 1.26`."""
    (line,) = display_lines("از کتابخانهٔ numpy (version 1.26) برای", 80)
    assert "numpy (version 1.26)" in line.text and "(numpy" not in line.text
