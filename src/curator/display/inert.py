"""Untrusted text made safe to show: control characters become visible placeholders, never terminal codes.

C0 controls and DEL become their Unicode control pictures (ESC → ␛, BEL → ␇), single characters
that bidi reordering cannot split; every other control, format (bidi overrides that could hide text),
private-use or unassigned character becomes ▯. ZWNJ, ZWJ and the LRM/RLM marks Persian needs stay.
"""

from __future__ import annotations

import unicodedata

_KEEP = {"\n", "\t", "\u200c", "\u200d", "\u200e", "\u200f"}
PLACEHOLDER = "\u25af"


def _picture(ch: str) -> str:
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return PLACEHOLDER


def visible(text: str) -> str:
    """`text` with each control or invisible format character replaced by a visible placeholder."""
    if text.isprintable() and "\u200c" not in text:
        return text
    return "".join(ch if ch in _KEEP or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
                   else _picture(ch) for ch in text)
