"""One line of untrusted text in a table cell or a status line, through the same pipeline as every
other Persian line: inert, whitespace folded to single spaces, cut to its width in terminal cells (in
logical order, so the cut keeps the beginning), then in mode `app` shaped and reordered. Text with no
right-to-left letter is only made inert and cut."""

from __future__ import annotations

import functools

from rich.cells import cell_len
from rich.text import Text

from curator.display.inert import visible
from curator.display.rtl import has_rtl, paragraph_is_rtl, reorder, shape

ELLIPSIS = "…"


def cut(text: str, width: int) -> str:
    """Text already made ready to draw, cut to `width` cells with an ellipsis."""
    if cell_len(text) <= width:
        return text
    room, used, end = max(0, width - 1), 0, 0
    while end < len(text) and used + cell_len(text[end]) <= room:
        used += cell_len(text[end])
        end += 1
    return text[:end] + ELLIPSIS


HEAD = 16  # cells past the cut that the beginning of a long text keeps once shaped (see `_fit_head`)


@functools.lru_cache(maxsize=8192)
def fit(text: str, width: int, mode: str = "app") -> str:
    """`text` as one line of at most `width` terminal cells, ready to draw."""
    if len(text) > width + 2 * HEAD:
        fitted = _fit_head(text, width, mode)
        if fitted is not None:
            return fitted
    return fit_whole(text, width, mode)


def _fit_head(text: str, width: int, mode: str) -> str | None:
    """`fit` of a long text (a passage of 1,500 characters, for a cell of 50) from its beginning
    only, or None where the beginning might not decide it as the whole text does (then the caller
    fits the whole). A letter's form depends on the letters next to it only and the reshaper's
    ligatures join at most 4 letters (lam-alef, Allah), so a beginning that keeps HEAD cells past the
    cut once shaped is cut exactly as the whole would be; its first strong letter decides the
    direction as the whole's does."""
    end = width + 2 * HEAD
    while end < len(text):
        line = " ".join(visible(text[:end]).split())
        if cell_len(line) >= width + HEAD:  # else mostly spaces or marks, which take no cell
            if mode == "terminal" or not has_rtl(text):
                return cut(line, width)
            if not has_rtl(line):  # its right-to-left letters come later: they decide the direction
                return None
            shaped = shape(line)
            if cell_len(shaped) >= width + HEAD:  # else ligatures took the room
                return reorder(cut(shaped, width), paragraph_is_rtl(line))
        end *= 2
    return None


def fit_whole(text: str, width: int, mode: str = "app") -> str:
    """`fit` computed on the whole text (what `fit` gives for every text, faster for long ones)."""
    line = " ".join(visible(text).split())
    if not has_rtl(line):
        return cut(line, width)
    if mode == "terminal":  # the terminal reorders (and shapes) by itself
        return cut(line, width)
    return reorder(cut(shape(line), width), paragraph_is_rtl(line))


def cell(text: str, width: int, mode: str = "app") -> Text:
    """A DataTable cell for untrusted text: `fit`, as a Text (a table reads a plain string as markup);
    a right-to-left one is right-aligned in its column, as every RTL paragraph is."""
    rtl = has_rtl(text) and paragraph_is_rtl(text)
    return Text(fit(text, width, mode), no_wrap=True, end="", justify="right" if rtl else "left")


def fit_path(path: str, width: int, mode: str = "app") -> str:
    """A file path as one line of at most `width` cells that keeps its end (the file's name): cut at
    the start when too long, inert and reordered like `fit`."""
    line = " ".join(visible(path).split())
    if cell_len(line) > width:
        room, used, start = max(0, width - 1), 0, len(line)
        while start > 0 and used + cell_len(line[start - 1]) <= room:
            start -= 1
            used += cell_len(line[start])
        line = ELLIPSIS + line[start:]
    return fit(line, width, mode)
