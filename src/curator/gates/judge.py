"""The LLM judge: a frozen rubric (`prompts/judge.toml`, its hash stored with every verdict), a
model that differs from the one that generated the candidate, and the job machinery for
concurrency, retries, cost and budget (this module registers the handler of `judge` jobs). A fix
the judge proposes is stored as a revision of the candidate, never over it.
"""

from __future__ import annotations

from statistics import mean

from pydantic import BaseModel

from curator.config import Settings
from curator.families import Family
from curator.families.schemas import JudgeVerdict
from curator.gates.base import Verdict
from curator.jobs.plan import Plan, idem_key
from curator.jobs.results import Finished, register
from curator.models import Job, conversation_text, now_iso
from curator.store import Store
from curator.text.normalize import key_hash

DECISION = {"accept": "pass", "edit": "flag", "reject": "fail"}


class JudgeModelError(Exception):
    """The judge would grade its own work."""


def plan_judging(store: Store, rubric: Family, settings: Settings, *, limit: int) -> Plan:
    """Queue a judge job for each gated candidate not yet judged under this rubric (and not failed)."""
    judge_model = settings.judge.model
    plan = Plan(jobs=[])
    for example_id in store.unjudged_candidate_ids(rubric.template_hash, limit=limit):
        ex = store.example(example_id)
        if ex.model == judge_model and not settings.judge.allow_same_model:
            raise JudgeModelError(
                f"the judge model {judge_model} also generated candidate #{example_id}: set [judge] model to "
                f"another model in curator.toml (or allow_same_model = true to override on purpose)")
        job = Job(idem_key=idem_key("judge", rubric.name, rubric.template_hash, example_id, 0), kind="judge",
                  family=rubric.name, passage_id=ex.passage_id, template_hash=rubric.template_hash,
                  params={"example_id": example_id, "n": 1, "candidate_model": ex.model})
        if store.add_job(job) is not None:
            plan.added += 1
        plan.jobs.append(job)
    return plan


def to_verdict(judged: JudgeVerdict, rubric_hash: str, model: str) -> Verdict:
    scores = judged.scores.model_dump()
    return Verdict(DECISION[judged.decision], f"judge_{judged.decision}", round(mean(scores.values()) / 5, 3),
                   {"scores": scores, "decision": judged.decision, "why": judged.reason, "rubric_hash": rubric_hash,
                    "model": model})


@register("judge")
def record_judgement(store: Store, rubric: Family, job: Job, judged: BaseModel, finished: Finished) -> int:
    """Store the verdict (and a revision for a proposed fix) with the job's done state, in one transaction."""
    from curator.gates.runner import update_status

    assert isinstance(judged, JudgeVerdict)
    example_id = job.params["example_id"]
    verdict = to_verdict(judged, rubric.template_hash, finished.model)
    with store.transaction():
        if judged.fixed_example is not None:
            original = store.example(example_id)
            revision = original.model_copy(update={
                "id": None, "uid": None, "lineage": original.lineage, "superseded_by": None, "kind": "revision", "source_type": "revision", "parent_id": example_id,
                "messages": judged.fixed_example.messages, "state": "new", "gate_status": None,
                "model": finished.model, "job_id": job.id, "created_at": now_iso(),
                "metadata": {**original.metadata, "revised_by": "judge", "judge_reason": judged.reason},
            })
            revision.key_hash = key_hash(conversation_text(revision.messages))
            revision_id = store.add_example(revision)
            verdict.detail["revision_id"] = revision_id
        store.insert_verdict(example_id, "judge", rubric.template_hash, verdict.verdict, verdict.reason, verdict.score,
                             verdict.detail)
        update_status(store, [example_id])
        finished.close(store, job)
    return 0
