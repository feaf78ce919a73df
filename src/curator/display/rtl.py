"""Right-to-left display lines for a terminal that does not reorder text itself.

The pipeline, per paragraph (paragraphs are split here, one per line break):
reshape (arabic-reshaper joins letters into their presentation forms) → wrap the *logical* text to
the width in terminal cells → reorder each line (python-bidi) with the paragraph's direction →
right-align RTL paragraphs. Reordering first and wrapping after would put lines in the wrong order.
Reordering is python-bidi's Rust implementation (unicode-bidi: UAX #9 with the paired-bracket rule N0);
it does not mirror, so lines with brackets take its resolved levels through python-bidi's own rules
L1, L2 and L4 (mirroring). Diacritics stay after their letters, as FriBidi draws them. In `terminal` mode the text
is only wrapped: terminals such as VTE, Konsole and mlterm reorder by themselves.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from dataclasses import dataclass

import arabic_reshaper
from bidi import get_display as rust_display
from bidi.algorithm import apply_mirroring, reorder_resolved_levels
from rich.cells import cell_len

from curator.display.inert import visible

ZWNJ, ZWJ = "\u200c", "\u200d"
_RESHAPER = arabic_reshaper.ArabicReshaper(configuration={"delete_harakat": False, "delete_tatweel": False})
# arabic-reshaper 3.0 fails (IndexError) on a ZWJ before a ligature (لا, الله) in the same text: it drops the
# ZWJ, then looks the ligature up at the text's old offsets. Such a text is shaped without ligatures.
_NO_LIGATURES = arabic_reshaper.ArabicReshaper(configuration={"delete_harakat": False, "delete_tatweel": False,
                                                              "support_ligatures": False})
_STRONG_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_STRONG = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefcA-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]")
_ARABIC_LETTER = re.compile("[\u0620-\u064a\u066e-\u06d3\u06d5\u06ee-\u06ff\ufb50-\ufdff\ufe80-\ufefc]")
_LEVEL = re.compile(r"Level\(\s*(\d+),?\s*\)")


@dataclass(frozen=True)
class DisplayLine:
    text: str  # visual order (or logical, in terminal mode), padded to the width when right-aligned
    rtl: bool


def paragraph_is_rtl(text: str) -> bool:
    """The first strong character decides (Unicode rule P2); no strong character: RTL (Persian first)."""
    m = _STRONG.search(text)
    return m is None or bool(_STRONG_RTL.match(m.group()))


def terminal_reorders() -> bool:
    """Whether this terminal is known to apply bidi itself (VTE/GNOME Terminal, Konsole, mlterm)."""
    return any(os.environ.get(v) for v in ("VTE_VERSION", "KONSOLE_VERSION", "MLTERM"))


def resolve_mode(mode: str) -> str:
    """`app` or `terminal` for a configured `app | terminal | auto`."""
    if mode == "auto":
        return "terminal" if terminal_reorders() else "app"
    return mode


def wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap by terminal cells; a word longer than the width is cut by cells. Spaces are
    kept, but for the one at each break."""
    width = max(1, width)
    lines: list[str] = []
    current: str | None = None  # None: nothing yet; spaces are kept (indented JSON keeps its indent)
    for word in text.split(" "):
        candidate = word if current is None else f"{current} {word}"
        if cell_len(candidate) <= width:
            current = candidate
            continue
        if current and current.strip():
            lines.append(current)
        while cell_len(word) > width:
            cut, used = 0, 0
            while cut < len(word) and used + cell_len(word[cut]) <= width:
                used += cell_len(word[cut])
                cut += 1
            cut = max(cut, 1)
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    lines.append(current or "")
    return lines


def _marks_after_letters(visual: str) -> str:
    """In reversed RTL runs a letter's combining marks land before it, in reverse order: put them back
    after it, in their logical order (FriBidi's REORDER_NSM)."""
    if not any(unicodedata.combining(ch) for ch in visual):
        return visual
    out: list[str] = []
    pending: list[str] = []
    for ch in visual:
        if unicodedata.combining(ch):
            pending.append(ch)
            continue
        if pending and _ARABIC_LETTER.match(ch):
            out.append(ch)
            out.extend(reversed(pending))
        else:
            out.extend(pending)
            out.append(ch)
        pending = []
    out.extend(pending)
    return "".join(out)


def _levels(line: str, base: str) -> list[int]:
    """Each character's resolved embedding level from the Rust implementation, whose only way out for
    them is its debug dump of `BidiInfo` (one level per UTF-8 byte)."""
    dump = rust_display(line, base_dir=base, debug=True)
    start = dump.index("\n    levels: [")  # the text itself is on one line, escaped
    per_byte = [int(n) for n in _LEVEL.findall(dump, start, dump.index("\n    ],", start))]
    levels, offset = [], 0
    for ch in line:
        levels.append(per_byte[offset])
        offset += len(ch.encode())
    if offset != len(per_byte):
        raise RuntimeError("python-bidi's debug dump no longer has one level per byte")
    return levels


def _mirrored_display(line: str, base: str) -> str:
    """The Rust implementation's levels, then python-bidi's rules L1 and L2 (reorder) and L4 (mirror)."""
    storage = {"base_level": 1 if base == "R" else 0, "base_dir": base, "chars": [
        {"ch": ch, "level": level, "type": unicodedata.bidirectional(ch), "orig": unicodedata.bidirectional(ch)}
        for ch, level in zip(line, _levels(line, base))]}
    reorder_resolved_levels(storage, False)
    apply_mirroring(storage, False)
    return "".join(ch["ch"] for ch in storage["chars"])


def has_rtl(text: str) -> bool:
    return _STRONG_RTL.search(text) is not None


def shape(text: str) -> str:
    """Letters joined into their presentation forms (arabic-reshaper); ZWNJ and ZWJ, their work done,
    are dropped so they cannot take a terminal cell. Text with no right-to-left letter is unchanged."""
    if not has_rtl(text):
        return text
    try:
        shaped = _RESHAPER.reshape(text)
    except IndexError:
        shaped = _NO_LIGATURES.reshape(text)
    return shaped.replace(ZWNJ, "").replace(ZWJ, "")


def reorder(line: str, rtl: bool) -> str:
    """One logical line in visual order (UAX #9 with paired brackets), brackets mirrored in RTL runs."""
    base = "R" if rtl else "L"
    visual = _mirrored_display(line, base) if any(map(unicodedata.mirrored, line)) else rust_display(line, base_dir=base)
    return _marks_after_letters(visual)


@functools.lru_cache(maxsize=4096)
def display_lines(text: str, width: int, mode: str = "app") -> tuple[DisplayLine, ...]:
    """The lines to draw for `text` in a box `width` cells wide. Untrusted text is made inert first."""
    width = max(1, width)
    out: list[DisplayLine] = []
    for paragraph in visible(text.replace("\r\n", "\n")).split("\n"):
        paragraph = paragraph.replace("\t", "    ")
        rtl = paragraph_is_rtl(paragraph)
        if mode == "terminal":
            out.extend(DisplayLine(line, rtl) for line in wrap(paragraph, width))
            continue
        for line in wrap(shape(paragraph), width):
            visual = reorder(line, rtl)
            if rtl:
                visual = " " * max(0, width - cell_len(visual)) + visual
            out.append(DisplayLine(visual, rtl))
    return tuple(out)


@functools.lru_cache(maxsize=1024)
def ltr_lines(text: str, width: int, mode: str = "app") -> tuple[DisplayLine, ...]:
    """Code, JSON and tool calls: left-to-right paragraphs, wrapped by cells, inert. In mode `app` the
    right-to-left runs inside them (Persian strings in JSON) are shaped and reordered too."""
    out = []
    for paragraph in visible(text).split("\n"):
        if mode == "terminal" or not has_rtl(paragraph):
            out.extend(DisplayLine(line, False) for line in wrap(paragraph, width))
        else:
            out.extend(DisplayLine(reorder(line, False), False) for line in wrap(shape(paragraph), width))
    return tuple(out)
