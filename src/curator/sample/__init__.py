"""The bundled sample project's data: a small Persian corpus and hand-written seeds in every role
(`services.demo` imports them)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def sample_dir() -> Path:
    """The folder holding `corpus/` and `seeds.jsonl` (inside the installed package)."""
    return Path(str(resources.files("curator.sample")))
