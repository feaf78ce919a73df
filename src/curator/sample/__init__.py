"""The bundled sample project: a small Persian corpus and hand-written seeds in every role."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from curator.services.corpus_import import import_corpus
from curator.services.seeds import import_seeds
from curator.store import Store


def sample_dir() -> Path:
    """The folder holding `corpus/` and `seeds.jsonl` (inside the installed package)."""
    return Path(str(resources.files("curator.sample")))


def prepare_sample(store: Store) -> str:
    """Import the sample corpus and seeds into `store` (idempotent); returns a one-line summary."""
    corpus = import_corpus(store, [sample_dir() / "corpus"])
    seeds = import_seeds(store, sample_dir() / "seeds.jsonl")
    problems = corpus.problems + seeds.problems
    if problems:
        raise RuntimeError("the bundled sample is broken: " + "; ".join(problems))
    return f"{corpus.summary()}; {seeds.added} seeds added ({seeds.existing} already present)"
