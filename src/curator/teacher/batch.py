"""Batch mode: the Message Batches API (half price) for large runs.

Submit stores the batch id on its jobs (state `running`); collect polls each batch and, once it has
ended, commits every result as the synchronous path does. Both are resumable after a restart: the
batch ids live in the jobs table, and a job already collected is skipped. Errored, expired and
canceled entries become failed attempts whose jobs go back to the queue (until max attempts).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from curator.config import Settings
from curator.models import now_iso
from curator.store import Store
from curator.teacher.client import Reply, Teacher, Usage, text_of, usage_of
from curator.teacher.families import Family
from curator.teacher.plan import EvalGuard, EvalLeak, body_input_tokens, build_request
from curator.teacher.procedural.tools import tools_prompt_text
from curator.teacher.runner import RunReport, record_failed_attempt, handle_reply, queued_jobs, spent_usd


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
    guard = EvalGuard.load(store)
    budget = settings.teacher.budget_usd
    spent = spent_usd(store)
    requests, job_ids = [], []
    for job_id in queued_jobs(store, kind=kind, family=family, limit=limit):
        job = store.job(job_id)
        fam = families.get(job.family or "")
        if fam is None:
            continue
        body = build_request(store, fam, job, settings, structured=teacher.structured,
                             tools_text=tools_prompt_text(job.topic) if fam.schema == "ToolBatch" else "")
        try:
            guard.check(body)
        except EvalLeak as exc:
            with store.transaction():
                store.conn.execute("UPDATE jobs SET state = 'failed', last_error = ?, updated_at = ? WHERE id = ?",
                                   (str(exc), now_iso(), job_id))
            status.report.failed += 1
            continue
        estimate = settings.price(body["model"]).cost(body_input_tokens(body), body["max_tokens"], batch=True)
        if budget is not None and spent + estimate > budget:
            status.report.budget_reached = True
            break
        spent += estimate
        requests.append({"custom_id": _custom_id(job_id), "params": body})
        job_ids.append(job_id)
    if not requests:
        return status
    batch = await teacher.client.messages.batches.create(requests=requests)
    with store.transaction():
        store.conn.executemany(
            "UPDATE jobs SET state = 'running', batch_id = ?, attempts = attempts + 1, updated_at = ? WHERE id = ?",
            [(batch.id, now_iso(), job_id) for job_id in job_ids])
    status.submitted.append(batch.id)
    status.report.requests += len(requests)
    return status


async def collect(store: Store, families: dict[str, Family], teacher: Teacher, settings: Settings) -> BatchStatus:
    """Poll every open batch; commit the results of those that have ended."""
    status = BatchStatus()
    report = status.report
    batch_ids = [r[0] for r in store.conn.execute(
        "SELECT DISTINCT batch_id FROM jobs WHERE state = 'running' AND batch_id IS NOT NULL ORDER BY batch_id")]
    for batch_id in batch_ids:
        batch = await teacher.client.messages.batches.retrieve(batch_id)
        if batch.processing_status != "ended":
            status.pending.append(batch_id)
            continue
        async for entry in await teacher.client.messages.batches.results(batch_id):
            try:
                job_id = int(entry.custom_id.removeprefix("job-"))
                job = store.job(job_id)
            except (ValueError, KeyError, Exception):  # noqa: BLE001 - an entry that is not ours
                report.errors.append(f"batch {batch_id}: unknown entry {entry.custom_id!r}")
                continue
            if job.state != "running" or job.batch_id != batch_id:
                continue  # collected before a restart
            fam = families.get(job.family or "")
            result = entry.result
            if result.type == "succeeded" and fam is not None:
                msg = result.message
                reply = Reply(text=text_of(msg), stop_reason=msg.stop_reason, model=msg.model, usage=usage_of(msg),
                              raw=msg.model_dump_json())
                handle_reply(store, fam, job, reply, settings, report, batch=True)
            else:
                detail = result.model_dump_json() if result.type == "errored" else result.type
                record_failed_attempt(store, job, f"batch entry {result.type}: {detail[:500]}", detail, Usage(), 0.0, settings, report)
            with store.transaction():  # a job back in the queue may go into a later batch or run directly
                store.conn.execute("UPDATE jobs SET batch_id = NULL WHERE id = ? AND state = 'queued'", (job_id,))
        status.collected.append(batch_id)
    return status
