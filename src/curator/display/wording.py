"""The English of counts and money in messages: "1 file", "2 files", "$237.12", "$0.0042"."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None, *, grouped: bool = False) -> str:
    """`n` with `noun` in the number it asks for (`plural`, by default the noun and an "s", unless `n` is 1);
    `grouped`: thousands separated ("12,000 rows")."""
    number = f"{n:,}" if grouped else str(n)
    return f"{number} {noun if n == 1 else plural or noun + 's'}"


def dollars(usd: float) -> str:
    """An amount of money for a sentence: cents from a dollar up ("$1,237.12"), else four decimals, so that
    a small estimate does not read as nothing ("$0.0042")."""
    return f"${usd:,.2f}" if abs(usd) >= 1 else f"${usd:.4f}"
