"""Untrusted text made safe to show: control characters become visible escapes, never terminal codes."""

from __future__ import annotations

import unicodedata

# Format characters Persian text needs (ZWNJ, ZWJ, bidi marks) stay; every other control or format
# character (ESC, C1 controls, bidi overrides that could hide text) is shown as a visible escape.
_KEEP = {"\n", "\t", "\u200c", "\u200d", "\u200e", "\u200f"}


def visible(text: str) -> str:
    """`text` with each control character replaced by a visible `\\xNN` / `\\uNNNN` escape."""
    out = []
    for ch in text:
        if ch in _KEEP or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"):
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)
