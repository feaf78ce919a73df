"""LLM classification of passages: the teacher refines the heuristic tags, quality and families."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from curator.config import Settings
from curator.families import Family
from curator.jobs.plan import idem_key
from curator.jobs.runner import RunReport, run_jobs
from curator.models import Job
from curator.progress import NEVER, Cancel, Progress
from curator.store import Store
from curator.teacher.client import Teacher


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
    TeacherError if no teacher can be built."""
    ids = store.passage_ids(limit=limit)
    added = sum(store.add_job(Job(idem_key=idem_key("classify", family.name, family.template_hash, pid, 0),
                                  kind="classify", family=family.name, passage_id=pid,
                                  template_hash=family.template_hash, params={"n": 1})) is not None for pid in ids)

    async def main() -> RunReport:
        teacher = Teacher(settings.teacher, api_key=api_key, base_url=base_url)
        try:
            return await run_jobs(store, {family.name: family}, teacher, settings, kind="classify", progress=progress,
                                  cancel=cancel)
        finally:
            await teacher.close()

    return ClassifyReport(len(ids), added, asyncio.run(main()))
