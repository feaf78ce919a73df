"""Settings: where the database lives, and the passage window used by corpus import."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DB = Path("db") / "curator.db"
SAMPLE_DB = Path("db") / "sample.db"


def db_path(explicit: str | Path | None = None) -> Path:
    """The database path: `--db` if given, else `$CURATOR_DB`, else `db/curator.db`."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("CURATOR_DB")
    return Path(env) if env else DEFAULT_DB


@dataclass(frozen=True)
class Window:
    """Passage size bounds in characters: passages aim for [min_chars, max_chars]."""

    min_chars: int = 200
    max_chars: int = 1500

    def __post_init__(self) -> None:
        if not 0 < self.min_chars < self.max_chars:
            raise ValueError(f"bad passage window: min {self.min_chars}, max {self.max_chars}")
