"""The English of counts in messages: "1 file", "2 files", "0 files"."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None, *, grouped: bool = False) -> str:
    """`n` with `noun` in the number it asks for (`plural`, by default the noun and an "s", unless `n` is 1);
    `grouped`: thousands separated ("12,000 rows")."""
    number = f"{n:,}" if grouped else str(n)
    return f"{number} {noun if n == 1 else plural or noun + 's'}"
