"""The passage window: how long passages are (a module of its own, so the import's worker processes load
it without the settings and their validation library)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """Passage size bounds in characters: passages aim for [min_chars, max_chars]."""

    min_chars: int = 200
    max_chars: int = 1500

    def __post_init__(self) -> None:
        if not 0 < self.min_chars < self.max_chars:
            raise ValueError(f"bad passage window: min {self.min_chars}, max {self.max_chars}")
