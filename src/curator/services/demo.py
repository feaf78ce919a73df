"""The sample project: the bundled Persian corpus and seeds, plus candidates to triage without an
API key (the procedural generators, then the gates)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from curator.config import Settings
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


def prepare_sample(store: Store) -> str:
    """Import the sample corpus and seeds into `store` (idempotent); returns a one-line summary."""
    corpus = import_corpus(store, [sample_dir() / "corpus"])
    seeds = import_seeds(store, sample_dir() / "seeds.jsonl")
    problems = corpus.problems + seeds.problems
    if problems:
        raise RuntimeError("the bundled sample is broken: " + "; ".join(problems))
    return f"{corpus.summary()}; {counted(seeds.added, 'seed')} added ({seeds.existing} already present)"


def build_demo(store: Store, settings: Settings, families: dict[str, Any], *, per_family: int = 8) -> DemoReport:
    """Import the sample (idempotent); the first time, also generate and gate procedural candidates."""
    report = DemoReport(prepare_sample(store))
    if not store.count_examples(kind="candidate"):
        report.candidates = sum(run_procedural(store, families[name], settings, limit=per_family).candidates
                                for name in DEMO_FAMILIES if name in families)
        run_gates(store, families, meaning=settings.meaning, gates=settings.gates)
    return report
