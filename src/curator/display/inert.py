"""Untrusted text made safe to show: control characters become visible placeholders, never terminal codes.

C0 controls and DEL become their Unicode control pictures (ESC → ␛, BEL → ␇), single characters
that bidi reordering cannot split; every other control, format (bidi overrides that could hide text),
line or paragraph separator, private-use or unassigned character becomes ▯. ZWNJ, ZWJ and the LRM/RLM
marks Persian needs stay, and so do line breaks and tabs.

`visible` maps one character to one character, so a position in the shown text is the same position
in the true text (the editors rely on it). `copyable` is what leaves the app on a copy: the same
characters written as escapes (`\\x1b`, `\\u202e`), so nothing pasted elsewhere acts on a terminal.
"""

from __future__ import annotations

import unicodedata

_KEEP = {"\n", "\t", "\u200c", "\u200d", "\u200e", "\u200f"}
_UNSAFE = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
PLACEHOLDER = "\u25af"


def _unsafe(ch: str) -> bool:
    return ch not in _KEEP and unicodedata.category(ch) in _UNSAFE


def _safe(text: str) -> bool:
    return text.isprintable() and "\u200c" not in text


def _picture(ch: str) -> str:
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return PLACEHOLDER


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(text: str) -> str:
    """`text` with each control or invisible format character replaced by a visible placeholder
    (one character for one: the length and every position stay)."""
    if _safe(text):
        return text
    return "".join(_picture(ch) if _unsafe(ch) else ch for ch in text)


def copyable(text: str) -> str:
    """`text` for the clipboard: each character `visible` would replace written as an escape instead."""
    if _safe(text):
        return text
    return "".join(_escape(ch) if _unsafe(ch) else ch for ch in text)
