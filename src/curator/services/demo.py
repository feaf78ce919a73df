"""The sample project: the bundled Persian corpus and seeds, plus candidates to triage without an
API key (the procedural generators, then the gates)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from curator.config import SAMPLE_DB, Settings
from curator.corpus.readers import corpus_files, file_sha256
from curator.errors import CuratorError
from curator.jobs.procedural import run_procedural
from curator.sample import sample_dir
from curator.services.corpus_import import import_corpus
from curator.services.gate import run_gates
from curator.services.seeds import import_seeds
from curator.store import Store
from curator.display.wording import counted

DEMO_FAMILIES = ("school_math", "tool_calling")


@dataclass
class DemoReport:
    sample: str
    candidates: int = 0

    def summary(self) -> str:
        made = f"; {self.candidates} procedural candidates generated and gated" if self.candidates else ""
        return self.sample + made


class NotASample(CuratorError):
    """The database holds a project of its own: the sample is never mixed into it."""


def check_sample_target(store: Store) -> None:
    """NotASample if `store` holds a corpus file or imported candidates the sample does not have (an empty
    or sample database passes: building the sample again adds nothing)."""
    files = {file_sha256(path) for path in corpus_files([sample_dir() / "corpus"], [])}
    sources, imported = store.foreign_content(files)
    if sources or imported:
        held = " and ".join(part for part in (sources and counted(sources, "corpus file"),
                                              imported and counted(imported, "imported candidate")) if part)
        raise NotASample(f"{store.path}: holds a project of its own ({held} not from the sample); the sample is "
                         f"built in a database of its own: give --db a new file, or leave it out ({SAMPLE_DB})")


def prepare_sample(store: Store) -> str:
    """Import the sample corpus and seeds into `store` (idempotent); returns a one-line summary."""
    corpus = import_corpus(store, [sample_dir() / "corpus"])
    seeds = import_seeds(store, sample_dir() / "seeds.jsonl")
    problems = corpus.problems + seeds.problems
    if problems:
        raise RuntimeError("the bundled sample is broken: " + "; ".join(problems))
    return f"{corpus.summary()}; {counted(seeds.added, 'seed')} added ({seeds.existing} already present)"


def build_demo(store: Store, settings: Settings, families: dict[str, Any], *, per_family: int = 8) -> DemoReport:
    """Import the sample (idempotent); the first time, also generate and gate procedural candidates.
    NotASample, and nothing written, if `store` holds a project of its own."""
    check_sample_target(store)
    report = DemoReport(prepare_sample(store))
    if not store.count_examples(kind="candidate"):
        report.candidates = sum(run_procedural(store, families[name], settings, limit=per_family).candidates
                                for name in DEMO_FAMILIES if name in families)
        run_gates(store, families, meaning=settings.meaning, gates=settings.gates)
    return report
