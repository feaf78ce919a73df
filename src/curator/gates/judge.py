"""The LLM judge: a frozen rubric (`prompts/judge.toml`, its hash stored with every verdict), a
model that differs from the one that generated the candidate, and the job machinery for
concurrency, retries, cost and budget. A fix the judge proposes is stored as a revision of the
candidate, never over it.
"""

from __future__ import annotations

from statistics import mean

from curator.config import Settings
from curator.gates.base import Verdict
from curator.models import Job, conversation_text, now_iso
from curator.store import Store
from curator.teacher.client import Usage
from curator.teacher.families import Family
from curator.teacher.plan import Plan, idem_key
from curator.teacher.runner import finish_job
from curator.teacher.schemas import JudgeVerdict
from curator.text.normalize import key_hash

DECISION = {"accept": "pass", "edit": "flag", "reject": "fail"}


class JudgeModelError(Exception):
    """The judge would grade its own work."""


def plan_judging(store: Store, rubric: Family, settings: Settings, *, limit: int) -> Plan:
    """Queue a judge job for each gated candidate not yet judged under this rubric (and not failed)."""
    judge_model = settings.judge.model
    rows = store.conn.execute(
        "SELECT id FROM examples WHERE kind IN ('candidate', 'revision') AND state = 'gated' "
        "AND coalesce(gate_status, 'pass') != 'fail' AND id NOT IN "
        "(SELECT example_id FROM gate_verdicts WHERE gate = 'judge' AND gate_version = ?) ORDER BY id LIMIT ?",
        (rubric.template_hash, limit)).fetchall()
    plan = Plan(jobs=[])
    for (example_id,) in rows:
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


def record_judgement(store: Store, rubric: Family, job: Job, judged: JudgeVerdict, model: str, raw: str,
                     usage: Usage, cost: float) -> None:
    """Store the verdict (and a revision for a proposed fix) with the job's done state, in one transaction."""
    from curator.gates.runner import insert_verdict, update_status

    example_id = job.params["example_id"]
    verdict = to_verdict(judged, rubric.template_hash, model)
    with store.transaction():
        if judged.fixed_example is not None:
            original = store.example(example_id)
            revision = original.model_copy(update={
                "id": None, "uid": None, "lineage": original.lineage, "superseded_by": None, "kind": "revision", "source_type": "revision", "parent_id": example_id,
                "messages": judged.fixed_example.messages, "state": "new", "gate_status": None,
                "model": model, "job_id": job.id, "created_at": now_iso(),
                "metadata": {**original.metadata, "revised_by": "judge", "judge_reason": judged.reason},
            })
            revision.key_hash = key_hash(conversation_text(revision.messages))
            revision_id = store.add_example(revision)
            verdict.detail["revision_id"] = revision_id
        insert_verdict(store, example_id, "judge", rubric.template_hash, verdict)
        update_status(store, [example_id])
        finish_job(store, job, "done", None, raw, usage, cost)
