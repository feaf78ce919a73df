"""The English of counts and money in messages: "1 file", "2 files", "$237.12", "$0.0042", "12.3k"."""

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


def short_count(n: int) -> str:
    """A count in at most 6 characters, for a column: "999", "12.3k", "456k", "1.2M", "12.3M", "1.2B"."""
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size * 0.9995:  # (what would round up to the unit is shown in it: "1.0k", not "1000")
            value = n / size
            return f"{value:.1f}{unit}" if value < 99.95 else f"{value:.0f}{unit}"
    return str(n)
