"""The SQLite store: the only code that speaks SQL. One `Store` per thread.

It is put together from one class per part of the data (corpus, examples, verdicts, decisions,
jobs, counts) over `StoreBase`, which owns the connection and the concurrency rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curator.models import Example, Job
from curator.store.base import BUSY_TIMEOUT_S, StoreBase
from curator.store.bulks import BulkQueries
from curator.store.candidates import CandidateQueries
from curator.store.corpus import CorpusQueries
from curator.store.decisions import DecisionQueries
from curator.store.embeddings import EmbeddingQueries
from curator.store.evals import EvalQueries
from curator.store.examples import ExampleQueries
from curator.store.jobs import JobQueries
from curator.store.predictions import PredictionQueries
from curator.store.seeds import SeedQueries
from curator.store.sketches import SketchQueries
from curator.store.stats import StatsQueries
from curator.store.verdicts import VerdictQueries


class Store(CorpusQueries, ExampleQueries, SeedQueries, CandidateQueries, VerdictQueries, DecisionQueries, JobQueries,
            StatsQueries, EmbeddingQueries, SketchQueries, EvalQueries, BulkQueries,
            PredictionQueries, StoreBase):
    """A curator database file."""

    def __init__(self, path: str | Path, *, migrate: bool = True, readonly: bool = False,
                 busy_timeout: float = BUSY_TIMEOUT_S, check_in_background: bool = False,
                 create: bool = True, checked_by_parent: bool = False) -> None:
        super().__init__(path, migrate=migrate, readonly=readonly, busy_timeout=busy_timeout,
                         check_in_background=check_in_background, create=create, checked_by_parent=checked_by_parent)
        if not readonly and migrate and not check_in_background:
            self.clean_incomplete_sources()

    # Kept for tests and scripts that select with a predicate of their own.
    def examples(self, where: str | None = None, params: list[Any] | tuple = (), *,
                 limit: int | None = None) -> list[Example]:
        return list(self.iter_examples(where or "1", params, limit=limit))

    def jobs(self, where: str | None = None, params: list[Any] | tuple = ()) -> list[Job]:
        return self._jobs(where or "1", params)
