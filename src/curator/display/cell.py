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


@functools.lru_cache(maxsize=8192)
def fit(text: str, width: int, mode: str = "app") -> str:
    """`text` as one line of at most `width` terminal cells, ready to draw."""
    line = " ".join(visible(text).split())
    if not has_rtl(line):
        return cut(line, width)
    if mode == "terminal":  # the terminal reorders (and shapes) by itself
        return cut(line, width)
    return reorder(cut(shape(line), width), paragraph_is_rtl(line))


def cell(text: str, width: int, mode: str = "app") -> Text:
    """A DataTable cell for untrusted text: `fit`, as a Text (a table reads a plain string as markup)."""
    return Text(fit(text, width, mode), no_wrap=True, end="")


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
