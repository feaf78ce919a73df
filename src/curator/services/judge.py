"""The LLM judge over gated candidates: plan judge jobs, run them through the job engine."""

from __future__ import annotations

from dataclasses import dataclass

from curator.config import Settings
from curator.families import Family
from curator.gates.judge import plan_judging
from curator.jobs.runner import RunReport, run_with_teacher
from curator.progress import NEVER, Cancel, Progress
from curator.store import Store


@dataclass
class JudgeReport:
    planned: int
    added: int
    model: str
    rubric_hash: str
    run: RunReport

    def summary(self) -> str:
        return (f"planned {self.planned} judge jobs ({self.added} new) with {self.model}, rubric {self.rubric_hash}\n"
                f"{self.run.summary()}")


def judge(store: Store, rubric: Family, settings: Settings, *, limit: int, progress: Progress | None = None,
          cancel: Cancel = NEVER, api_key: str | None = None, base_url: str | None = None) -> JudgeReport:
    """Judge up to `limit` gated candidates with the frozen rubric and the judge model.
    JudgeModelError if the judge would grade its own work; TeacherError if no teacher can be built."""
    planned = plan_judging(store, rubric, settings, limit=limit)
    report = run_with_teacher(store, {rubric.name: rubric}, settings, kind="judge", progress=progress,
                              cancel=cancel, api_key=api_key, base_url=base_url)
    return JudgeReport(len(planned.jobs), planned.added, settings.judge.model, rubric.template_hash, report)
