"""One-line cells and left-to-right blocks through the RTL pipeline (issue #12: every Persian string)."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text

from curator.display.cell import cell, fit
from curator.display.rtl import ltr_lines, reorder, shape, wrap

FIRST_TURN = "در جملهٔ «مریم به مدرسه رفت» متمم کدام است؟"


def test_a_persian_cell_is_shaped_reordered_and_keeps_its_beginning() -> None:
    drawn = fit(FIRST_TURN, 16)
    assert cell_len(drawn) <= 16
    assert drawn.startswith("…")  # the cut is at the logical end: the left of a right-to-left line
    assert drawn.endswith(reorder(shape("در جملهٔ"), True))  # the beginning, on the right
    assert "جملهٔ" not in drawn  # never in logical order


def test_a_cell_that_fits_is_the_whole_line_in_visual_order() -> None:
    assert fit(FIRST_TURN, 80) == reorder(shape(FIRST_TURN), True)
    assert fit("از کتابخانهٔ numpy (version 1.26) برای", 80).count("numpy (version 1.26)") == 1


def test_terminal_mode_cells_stay_logical_and_latin_cells_are_only_cut() -> None:
    assert fit(FIRST_TURN, 80, "terminal") == FIRST_TURN
    assert fit("role_identification", 8) == "role_id…"
    assert fit("grammar_tutor", 20) == "grammar_tutor"


def test_cells_are_inert_one_line_and_never_markup() -> None:
    drawn = cell("[bold]سلام[/bold]\n\x1b[31mقرمز\t\x07", 60)
    assert isinstance(drawn, Text) and not drawn.spans
    assert "\n" not in drawn.plain and "\x1b" not in drawn.plain and "\x07" not in drawn.plain
    assert "[bold]" in drawn.plain and "\u241b" in drawn.plain


def test_wide_characters_are_cut_by_terminal_cells() -> None:
    drawn = fit("漢字漢字漢字", 7)
    assert cell_len(drawn) <= 7 and drawn.endswith("…")


def test_persian_inside_left_to_right_blocks_is_reordered_in_app_mode() -> None:
    block = '{\n  "content": "سلام دنیا"\n}'
    app = [line.text for line in ltr_lines(block, 40)]
    assert app == ["{", f'  "content": "{reorder(shape("سلام دنیا"), True)}"', "}"]
    assert not any(line.rtl for line in ltr_lines(block, 40))
    assert [line.text for line in ltr_lines(block, 40, "terminal")] == block.split("\n")


def test_wrap_keeps_indentation_and_inner_spaces() -> None:
    assert wrap('    "name": 1', 40) == ['    "name": 1']
    assert wrap("a  b", 40) == ["a  b"]
    assert wrap("aaa bbb ccc", 3) == ["aaa", "bbb", "ccc"]
    assert wrap("", 5) == [""]


def test_a_long_text_is_fitted_from_its_beginning_exactly_as_the_whole() -> None:
    """A passage of 1,500 characters in a cell of 50 is shaped from its beginning only (a list of
    200k passages draws a screenful of them per keypress): the cell is the same as fitting the whole,
    whatever the text holds (joining letters, ligatures, marks, ZWNJ, controls, brackets, Latin, spaces)."""
    import random

    from curator.display.cell import fit_whole

    pieces = ["کتاب", "لا", "الله", "بسم الله الرحمن الرحيم", "لالالالا", "می\u200cروم", "\u064e\u0650", "«متن»", "(۱۲۳)", "numpy", "1.26",
              " ", "   ", "\n", "\t", "\x1b[31m", "\u202e", "\u061c", "漢字", "؟", "[bold]", "ـــ"]
    rng = random.Random(12)
    for _ in range(600):
        text = "".join(rng.choices(pieces, k=rng.randint(50, 700)))
        width, mode = rng.randint(1, 100), rng.choice(("app", "terminal"))
        assert fit(text, width, mode) == fit_whole(text, width, mode), (text, width, mode)


def test_a_right_to_left_cell_is_right_aligned_in_its_column() -> None:
    """As every RTL paragraph is (a short Persian first turn sat at the left of the Seeds table)."""
    assert cell("حاصل ۲۳ ضرب در ۴۷ چقدر است؟", 40).justify == "right"
    assert cell("حاصل ۲۳ ضرب در ۴۷ چقدر است؟", 40, "terminal").justify == "right"
    assert cell("tool_calling", 40).justify == "left"
    assert cell("Python در فارسی", 40).justify == "left", "the first strong letter decides (P2): Latin"
    assert cell("23", 10).justify == "left" and cell("", 10).justify == "left", "no letter: as the column's others"
