"""Batch mode: the Message Batches API (half price) for large runs.

Submit claims each job (an attempt with a lease), sends them as one batch and then records the
batch id on them: batch collection, not a lease, finishes them from then on. Collect polls each
open batch and, once it has ended, settles every result as the synchronous path does. Both are
resumable after a restart (the batch ids live in the jobs table; a job already collected is
skipped) and safe to run from two processes at once. Errored, expired and canceled entries become
failed attempts whose jobs go back to the queue (until max attempts).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from curator.config import Settings
from curator.evalguard import EvalGuard, EvalLeak
from curator.families import Family
from curator.jobs.plan import BATCH_TTL, FewShot, body_input_tokens, build_request
from curator.jobs.runner import RunReport, record_failed_attempt, settle
from curator.store import Store
from curator.store.base import lease_owner
from curator.teacher.client import Reply, Teacher, text_of, usage_of


@dataclass
class BatchStatus:
    submitted: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    collected: list[str] = field(default_factory=list)
    report: RunReport = field(default_factory=RunReport)


def _custom_id(job_id: int) -> str:
    return f"job-{job_id}"


async def submit(store: Store, families: dict[str, Family], teacher: Teacher, settings: Settings, *,
                 kind: str = "generate", family: str | None = None, limit: int | None = None) -> BatchStatus:
    """Send queued jobs as one batch (within the budget, never with eval text)."""
    status = BatchStatus()
    report = status.report
    owner = lease_owner()
    max_attempts = settings.teacher.max_job_attempts
    guard = EvalGuard.load(store)
    fewshot = FewShot.load(store, guard)
    report.collisions = fewshot.collisions_of(family) if family else fewshot.collisions
    budget = settings.teacher.budget_usd
    spent = store.spent_usd()
    requests, claimed = [], []
    for job_id in store.queued_job_ids(kind=kind, family=family, limit=limit):
        job = store.job(job_id)
        fam = families.get(job.family or "")
        if fam is None:
            report.errors.append(f"job {job_id}: family {job.family!r} is not loaded (see `curator families`)")
            continue
        request = build_request(store, fam, job, settings, structured=teacher.structured, fewshot=fewshot,
                                ttl=BATCH_TTL)
        try:
            guard.check(request.body)
        except EvalLeak as exc:
            if store.fail_job(job_id, str(exc)):
                report.failed += 1
                report.errors.append(f"job {job_id}: {exc}")
            continue
        estimate = settings.price(request.body["model"]).cost(body_input_tokens(request.body),
                                                             request.body["max_tokens"], batch=True)
        if budget is not None and spent + estimate > budget:
            report.budget_reached = True
            break
        attempt = store.claim_job(job_id, owner, max_attempts=max_attempts,
                                  detail=request.detail)
        if attempt is None:
            continue
        spent += estimate
        requests.append({"custom_id": _custom_id(job_id), "params": request.body})
        claimed.append((job, attempt))
    if not requests:
        return status
    try:
        batch = await teacher.client.messages.batches.create(requests=requests)
    except Exception as exc:  # noqa: BLE001 - every claimed job goes back to the queue, then re-raise
        for job, attempt in claimed:
            record_failed_attempt(store, job, f"batch not created: {exc}", None, settings, report, attempt=attempt,
                                  owner=owner)
        raise
    store.attach_batch([job.id for job, _ in claimed], batch.id, owner)  # type: ignore[misc]
    status.submitted.append(batch.id)
    report.requests += len(requests)
    return status


async def collect(store: Store, families: dict[str, Family], teacher: Teacher, settings: Settings) -> BatchStatus:
    """Poll every open batch; settle the results of those that have ended."""
    status = BatchStatus()
    report = status.report
    for batch_id in store.open_batch_ids():
        batch = await teacher.client.messages.batches.retrieve(batch_id)
        if batch.processing_status != "ended":
            status.pending.append(batch_id)
            continue
        async for entry in await teacher.client.messages.batches.results(batch_id):
            try:
                job = store.job(int(entry.custom_id.removeprefix("job-")))
            except (ValueError, KeyError):
                report.errors.append(f"batch {batch_id}: unknown entry {entry.custom_id!r}")
                continue
            if job.state != "running" or job.batch_id != batch_id:
                continue  # collected before (a restart, or another process)
            fam = families.get(job.family or "")
            result = entry.result
            if result.type == "succeeded" and fam is not None:
                msg = result.message
                reply = Reply(text=text_of(msg), stop_reason=msg.stop_reason, model=msg.model, usage=usage_of(msg),
                              raw=msg.model_dump_json())
                settle(store, fam, job, reply, settings, report, attempt=job.attempts, batch_id=batch_id)
            else:
                detail = result.model_dump_json() if result.type == "errored" else result.type
                if fam is None and result.type == "succeeded":
                    detail = f"family {job.family!r} is not loaded"
                record_failed_attempt(store, job, f"batch entry {result.type}: {detail[:500]}", detail, settings,
                                      report, attempt=job.attempts, batch_id=batch_id)
        status.collected.append(batch_id)
    return status
