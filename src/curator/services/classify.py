"""LLM classification of passages: the teacher refines the heuristic tags, quality and families."""

from __future__ import annotations

from dataclasses import dataclass

from curator.config import Settings
from curator.families import Family
from curator.jobs.plan import idem_key
from curator.jobs.runner import RunReport, check_teacher, run_with_teacher
from curator.models import Job
from curator.progress import NEVER, Cancel, Progress
from curator.store import Store


@dataclass
class ClassifyReport:
    planned: int
    added: int
    run: RunReport

    def summary(self) -> str:
        return f"planned {self.planned} classification jobs ({self.added} new)\n{self.run.summary()}"


def classify(store: Store, family: Family, settings: Settings, *, limit: int, progress: Progress | None = None,
             cancel: Cancel = NEVER, api_key: str | None = None, base_url: str | None = None) -> ClassifyReport:
    """Queue a classify job for each of the first `limit` visible passages and run them.
    TeacherError if no teacher can be built or reached (checked before anything is queued)."""
    check_teacher(settings, api_key=api_key, base_url=base_url)
    ids = store.passage_ids(limit=limit)
    added = sum(store.add_job(Job(idem_key=idem_key("classify", family.name, family.template_hash, pid, 0),
                                  kind="classify", family=family.name, passage_id=pid,
                                  template_hash=family.template_hash, params={"n": 1})) is not None for pid in ids)
    report = run_with_teacher(store, {family.name: family}, settings, kind="classify", progress=progress,
                              cancel=cancel, api_key=api_key, base_url=base_url)
    return ClassifyReport(len(ids), added, report)
