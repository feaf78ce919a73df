"""The LLM judge over gated candidates: plan judge jobs (a model that differs from the one that
generated the candidate), run them through the job engine (concurrency, retries, cost and budget), and
store each judgement as a verdict (this module registers the handler of `judge` jobs). A fix the judge
proposes is stored as a revision of the candidate, never over it."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from curator.errors import CuratorError
from curator.config import Settings
from curator.families import Family
from curator.families.schemas import JudgeVerdict
from curator.gates.judge import to_verdict
from curator.jobs.plan import Plan, idem_key
from curator.jobs.results import Finished, register
from curator.jobs.runner import RunReport, check_teacher, run_with_teacher
from curator.models import Example, Job, now_iso
from curator.progress import NEVER, Cancel, Progress
from curator.services.gating.runner import update_status
from curator.store import Store
from curator.display.wording import counted


class JudgeModelError(CuratorError):
    """The judge would grade its own work."""


def _to_judge(store: Store, rubric: Family, settings: Settings, limit: int) -> list[Example]:
    """The gated candidates not yet judged under this rubric (and not failed); JudgeModelError if the judge
    model generated one of them."""
    examples = [store.example(i) for i in store.unjudged_candidate_ids(rubric.template_hash, limit=limit)]
    for ex in examples:
        if ex.model == settings.judge.model and not settings.judge.allow_same_model:
            raise JudgeModelError(
                f"the judge model {settings.judge.model} also generated candidate #{ex.id}: set [judge] model to "
                f"another model in curator.toml (or allow_same_model = true to override on purpose)")
    return examples


def plan_judging(store: Store, rubric: Family, settings: Settings, *, limit: int,
                 examples: list[Example] | None = None) -> Plan:
    """Queue a judge job for each gated candidate not yet judged under this rubric (and not failed), or for
    `examples` (what `_to_judge` found); JudgeModelError, with nothing queued, if the judge model generated
    one of them."""
    plan = Plan(jobs=[])
    for ex in _to_judge(store, rubric, settings, limit) if examples is None else examples:
        job = Job(idem_key=idem_key("judge", rubric.name, rubric.template_hash, ex.id, 0), kind="judge",
                  family=rubric.name, passage_id=ex.passage_id, template_hash=rubric.template_hash,
                  params={"example_id": ex.id, "n": 1, "candidate_model": ex.model})
        if store.add_job(job) is not None:
            plan.added += 1
        plan.jobs.append(job)
    return plan


@register("judge")
def record_judgement(store: Store, rubric: Family, job: Job, judged: BaseModel, finished: Finished) -> int:
    """Store the verdict (and a revision for a proposed fix) with the job's done state, in one transaction."""
    assert isinstance(judged, JudgeVerdict)
    example_id = job.params["example_id"]
    verdict = to_verdict(judged, rubric.template_hash, finished.model)
    with store.transaction():
        if judged.fixed_example is not None:
            original = store.example(example_id)
            revision = original.copy_with(**{
                "id": None, "uid": None, "lineage": original.lineage, "superseded_by": None, "kind": "revision", "source_type": "revision", "parent_id": example_id,
                "messages": judged.fixed_example.messages, "state": "new", "gate_status": None,
                "model": finished.model, "job_id": job.id, "created_at": now_iso(),
                "metadata": {**original.metadata, "revised_by": "judge", "judge_reason": judged.reason},
            })
            revision_id = store.add_example(revision)
            verdict.detail["revision_id"] = revision_id
        store.insert_verdict(example_id, "judge", rubric.template_hash, verdict.verdict, verdict.reason, verdict.score,
                             verdict.detail)
        update_status(store, [example_id])
        finished.close(store, job)
    return 0


@dataclass
class JudgeReport:
    planned: int
    added: int
    model: str
    rubric_hash: str
    run: RunReport

    def summary(self) -> str:
        return (f"planned {counted(self.planned, 'judge job')} ({self.added} new) with {self.model}, "
                f"rubric {self.rubric_hash}\n"
                f"{self.run.summary()}")


def judge(store: Store, rubric: Family, settings: Settings, *, limit: int, progress: Progress | None = None,
          cancel: Cancel = NEVER, api_key: str | None = None, base_url: str | None = None) -> JudgeReport:
    """Judge up to `limit` gated candidates with the frozen rubric and the judge model.
    JudgeModelError if the judge would grade its own work; TeacherError if no teacher can be built or reached
    (checked before anything is queued)."""
    examples = _to_judge(store, rubric, settings, limit)  # (its own work refused before the teacher is asked)
    check_teacher(settings, api_key=api_key, base_url=base_url)
    planned = plan_judging(store, rubric, settings, limit=limit, examples=examples)
    report = run_with_teacher(store, {rubric.name: rubric}, settings, kind="judge", progress=progress,
                              cancel=cancel, api_key=api_key, base_url=base_url)
    return JudgeReport(len(planned.jobs), planned.added, settings.judge.model, rubric.template_hash, report)
