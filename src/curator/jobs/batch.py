"""Batch mode: the Message Batches API (half price) for large runs, within the API's limits.

A run is sent in chunks, each one batch of at most `[batch] max_requests` requests and `max_bytes`
bytes (the API's limits, 100,000 and 256 MB, by default). A chunk is a row (`batch_chunks`) whose
id its jobs carry: it is `forming` while its jobs are claimed, `sending` while its batch is created,
`submitted` once the batch id is recorded; then its jobs are attached (their batch id, the attempt
counted: the request was sent). Batch collection, not a lease, finishes them from then on.

Kills and refusals: a chunk's creation request names the chunk in every custom_id (`job-ID-TOKEN`).
If the submitter stops while a chunk is `sending`, the next submit or collect looks for its batch in
the API's list of batches (created since, with as many requests, not known here) and adopts it; only
when none shows up within `confirm_after_s` is the chunk given up and its jobs queued again. So a
chunk is never created twice. A creation the API refuses (or a server that cannot be reached) gives
the chunk's jobs back without using an attempt, and the run stops there.

Collect polls each open batch and, once it has ended, settles every result as the synchronous path
does; a job the results do not mention gets a failed attempt (and is queued again), so no job is
left without a result. Errored, expired and canceled entries are failed attempts too.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import anthropic
import orjson

from curator.config import Settings
from curator.evalguard import EvalGuard, EvalLeak
from curator.families import Family
from curator.jobs.plan import BATCH_TTL, FewShot, body_input_tokens, build_request
from curator.jobs.runner import RunReport, _renew, record_failed_attempt, settle
from curator.models import Job
from curator.store import Store
from curator.store.base import lease_owner
from curator.store.jobs import LEASE_S
from curator.teacher.client import RETRYABLE_STATUS, Reply, Teacher, TeacherError, text_of, usage_of

ENVELOPE = len(b'{"requests":[]}')  # the creation body around its entries (joined by commas)
FIND_SLACK_S = 300.0  # a batch created up to this long before the chunk's sending time may be it (clock skew)
_CUSTOM_ID = re.compile(r"^job-(\d+)(?:-([0-9a-f]+))?$")


@dataclass
class ChunkSent:
    """One chunk whose batch was created (or found after its submitter stopped)."""

    chunk: int
    batch_id: str
    requests: int
    size: int
    adopted: bool = False

    def line(self) -> str:
        how = "found again (its submitter stopped)" if self.adopted else "sent"
        return f"chunk {self.chunk}: {self.requests} requests, {self.size / 1e6:.1f} MB {how} as {self.batch_id}"


@dataclass
class BatchStatus:
    submitted: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    collected: list[str] = field(default_factory=list)
    chunks: list[ChunkSent] = field(default_factory=list)
    unconfirmed: list[int] = field(default_factory=list)  # chunks still being looked for in the API's list
    report: RunReport = field(default_factory=RunReport)


OnChunk = Callable[[ChunkSent], None]


def custom_id(job_id: int, token: str) -> str:
    return f"job-{job_id}-{token}"


def entry_size(entry: dict[str, Any]) -> int:
    """The bytes an entry takes in the creation body (the SDK sends compact UTF-8 JSON, as orjson writes it)."""
    return len(orjson.dumps(entry))


@dataclass
class _Chunk:
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    jobs: list[tuple[int, dict[str, Any], int, dict[str, Any]]] = field(default_factory=list)  # id, entry, size, detail
    size: int = ENVELOPE

    def room_for(self, size: int, settings: Settings) -> bool:
        limits = settings.batch
        return len(self.jobs) < limits.max_requests and self.size + size + bool(self.jobs) <= limits.max_bytes

    def add(self, job_id: int, entry: dict[str, Any], size: int, detail: dict[str, Any]) -> None:
        self.size += size + bool(self.jobs)
        self.jobs.append((job_id, entry, size, detail))


class _Stop(Exception):
    """The run stops submitting (a refused creation, an unreachable server, an unconfirmed chunk)."""


async def submit(store: Store, families: dict[str, Family], teacher: Teacher, settings: Settings, *,
                 kind: str = "generate", family: str | None = None, limit: int | None = None,
                 job_ids: list[int] | None = None, on_chunk: OnChunk | None = None) -> BatchStatus:
    """Send queued jobs (`job_ids`, else the kind's and family's queued ones) as batches within the
    limits, chunk by chunk (within the budget, never with eval text). Chunks a stopped submitter left
    are resolved first."""
    status = BatchStatus()
    report = status.report
    owner = lease_owner()
    await resolve_chunks(store, teacher, settings, status, owner=owner, on_chunk=on_chunk)
    max_attempts = settings.teacher.max_job_attempts
    guard = EvalGuard.load(store)
    fewshot = FewShot.load(store, guard)
    report.collisions = fewshot.collisions_of(family) if family else fewshot.collisions
    budget = settings.teacher.budget_usd
    spent = store.spent_usd()
    chunk = _Chunk()
    ids = job_ids if job_ids is not None else store.queued_job_ids(kind=kind, family=family, limit=limit)
    renewer = asyncio.create_task(_renew(store, owner, LEASE_S / 3))  # a long upload keeps its chunk's lease
    try:
        for job in _each_job(store, ids):
            job_id: int = job.id  # type: ignore[assignment]
            if job.state != "queued" or job.batch_id is not None:
                continue  # another runner has it
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
            entry = {"custom_id": custom_id(job_id, chunk.token), "params": request.body}
            size = entry_size(entry)
            if ENVELOPE + size > settings.batch.max_bytes:
                error = (f"its request is {size} bytes, more than a batch may hold ([batch] max_bytes = "
                         f"{settings.batch.max_bytes})")
                if store.fail_job(job_id, error):
                    report.failed += 1
                    report.errors.append(f"job {job_id}: {error}")
                continue
            if not chunk.room_for(size, settings):
                await _send(store, teacher, settings, chunk, status, owner=owner, kind=kind, family=family,
                            max_attempts=max_attempts, on_chunk=on_chunk)
                chunk = _Chunk()
                entry["custom_id"] = custom_id(job_id, chunk.token)  # (as long as before: the size holds)
            spent += estimate
            chunk.add(job_id, entry, size, request.detail)
        if chunk.jobs:
            await _send(store, teacher, settings, chunk, status, owner=owner, kind=kind, family=family,
                        max_attempts=max_attempts, on_chunk=on_chunk)
    except _Stop:
        pass
    finally:
        renewer.cancel()
    return status


def _each_job(store: Store, ids: list[int], page: int = 900):
    """The jobs of `ids`, read a page at a time (as they are when their page is read)."""
    for start in range(0, len(ids), page):
        found = store.jobs_by_id(ids[start:start + page])
        yield from (found[i] for i in ids[start:start + page] if i in found)


async def _send(store: Store, teacher: Teacher, settings: Settings, chunk: _Chunk, status: BatchStatus, *,
                owner: str, kind: str, family: str | None, max_attempts: int, on_chunk: OnChunk | None) -> None:
    """Claim a chunk's jobs, create its batch, record the batch id and attach the jobs."""
    report = status.report
    chunk_id = store.open_chunk(chunk.token, kind, family, owner)
    claimed = {job_id for job_id, _ in store.claim_for_chunk(chunk_id, [(j, d) for j, _, _, d in chunk.jobs], owner,
                                                              max_attempts=max_attempts)}
    entries = [(entry, size) for job_id, entry, size, _ in chunk.jobs if job_id in claimed]
    if not entries:
        store.release_chunk(chunk_id, state="abandoned", error="every job of the chunk was taken by another runner")
        return
    requests = [entry for entry, _ in entries]
    size = ENVELOPE + sum(s for _, s in entries) + len(entries) - 1
    store.chunk_sending(chunk_id, owner, requests=len(requests), size=size)
    batch_id: str | None = None
    tries = 0
    while batch_id is None:
        tries += 1
        try:
            batch, _ = await teacher.watched(lambda: teacher.client.messages.batches.create(requests=requests))
            batch_id = batch.id
        except anthropic.APIStatusError as exc:  # an answer: the batch was not created
            if exc.status_code in RETRYABLE_STATUS and tries <= settings.teacher.max_retries:
                await teacher._sleep(teacher._wait(tries, None))
                continue
            error = f"batch not created: {exc.status_code} {_message(exc)}"
            store.release_chunk(chunk_id, state="refused", error=error)
            _stop(report, f"{error} (chunk {chunk_id}: its {len(requests)} jobs are queued again, no attempt used)")
        except (anthropic.APIConnectionError, anthropic.APITimeoutError) as exc:
            exchange = getattr(exc, "curator_exchange", None)
            if exchange is not None and not exchange.sent:
                error = str(teacher.unreachable(exc))
                store.release_chunk(chunk_id, state="refused", error=error)
                _stop(report, error)
            # the request went out and no answer came: the batch may exist; look for it, never send it again
            batch_id = await _find_batch(store, teacher, store.chunk(chunk_id))
            if batch_id is None:
                store.expire_chunk_lease(chunk_id, owner)
                status.unconfirmed.append(chunk_id)
                _stop(report, f"chunk {chunk_id}: no answer to its creation ({exc}); run again to find its batch "
                              f"(it is never sent twice)")
    _record(store, chunk_id, batch_id, len(requests), size, status, on_chunk)


def _record(store: Store, chunk_id: int, batch_id: str, requests: int, size: int, status: BatchStatus,
            on_chunk: OnChunk | None, adopted: bool = False) -> None:
    store.chunk_submitted(chunk_id, batch_id)
    store.attach_chunk(chunk_id)
    sent = ChunkSent(chunk_id, batch_id, requests, size, adopted)
    status.chunks.append(sent)
    status.submitted.append(batch_id)
    if not adopted:
        status.report.requests += requests
    if on_chunk is not None:
        on_chunk(sent)


def _stop(report: RunReport, message: str) -> None:
    report.stopped = message
    report.errors.append(message)
    raise _Stop(message)


async def resolve_chunks(store: Store, teacher: Teacher, settings: Settings, status: BatchStatus, *,
                         owner: str | None = None, on_chunk: OnChunk | None = None) -> None:
    """Finish what stopped submitters left: attach the jobs of submitted chunks, give back those of
    refused or never-sent ones, and find the batch of a chunk that was being sent (adopt it), or give
    the chunk up once `confirm_after_s` has passed without it showing in the API's list."""
    owner = owner or lease_owner()
    for chunk in store.chunks_to_resolve():
        chunk_id, state = chunk["id"], chunk["state"]
        if state == "submitted":
            store.attach_chunk(chunk_id)
            continue
        if state in ("refused", "abandoned"):
            store.release_chunk(chunk_id, state=state, error=chunk["error"] or "the chunk was not sent")
            continue
        if state not in ("forming", "sending") or not store.take_over_chunk(chunk_id, owner):
            continue  # a live submitter holds it
        if state == "forming":
            store.release_chunk(chunk_id, state="abandoned", error="its submitter stopped before sending it")
            continue
        try:
            found = await _find_batch(store, teacher, chunk)
        except (anthropic.APIError, TeacherError) as exc:
            store.expire_chunk_lease(chunk_id, owner)
            status.unconfirmed.append(chunk_id)
            status.report.errors.append(f"chunk {chunk_id}: could not list the batches to find it ({exc})")
            continue
        if found is not None:
            _record(store, chunk_id, found, chunk["requests"], chunk["bytes"], status, on_chunk, adopted=True)
            continue
        waited = (datetime.now(timezone.utc) - _when(chunk["sending_at"])).total_seconds()
        if waited >= settings.batch.confirm_after_s:
            store.release_chunk(chunk_id, state="abandoned",
                                error="its submitter stopped while sending it, and no such batch was ever created")
            continue
        store.expire_chunk_lease(chunk_id, owner)
        status.unconfirmed.append(chunk_id)
        status.report.errors.append(
            f"chunk {chunk_id}: its submitter stopped while sending it and its batch does not show yet; run again "
            f"after {settings.batch.confirm_after_s - waited:.0f} s (it is never sent twice)")


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


async def _find_batch(store: Store, teacher: Teacher, chunk: dict[str, Any]) -> str | None:
    """The batch a chunk's creation made, if the API shows one: created since it was sent (less a
    slack for clock skew), with as many requests, and not known here; the oldest such."""
    since = _when(chunk["sending_at"]) - timedelta(seconds=FIND_SLACK_S)
    known = store.known_batch_ids()
    found: list[tuple[datetime, str]] = []
    async for batch in teacher.client.messages.batches.list(limit=100):
        created = batch.created_at if batch.created_at.tzinfo else batch.created_at.replace(tzinfo=timezone.utc)
        if created < since:
            break
        counts = batch.request_counts
        total = counts.processing + counts.succeeded + counts.errored + counts.canceled + counts.expired
        if batch.id not in known and total == chunk["requests"]:
            found.append((created, batch.id))
    return min(found)[1] if found else None


async def collect(store: Store, families: dict[str, Family], teacher: Teacher, settings: Settings) -> BatchStatus:
    """Poll every open batch; settle the results of those that have ended."""
    status = BatchStatus()
    report = status.report
    await resolve_chunks(store, teacher, settings, status)
    for batch_id in store.open_batch_ids():
        batch = await teacher.client.messages.batches.retrieve(batch_id)
        if batch.processing_status != "ended":
            status.pending.append(batch_id)
            continue
        token = store.chunk_token(batch_id)
        async for entry in await teacher.client.messages.batches.results(batch_id):
            match = _CUSTOM_ID.match(entry.custom_id)
            try:
                if match is None or (token is not None and match.group(2) != token):
                    raise KeyError(entry.custom_id)
                job = store.job(int(match.group(1)))
            except KeyError:
                report.errors.append(f"batch {batch_id}: unknown entry {entry.custom_id!r}")
                continue
            if job.state != "running" or job.batch_id != batch_id:
                continue  # collected before (a restart, or another process)
            _settle_entry(store, families, job, entry.result, batch_id, settings, report)
        for job in store.jobs_in_batch(batch_id):  # no result names it: it goes back to the queue
            record_failed_attempt(store, job, f"batch {batch_id} ended without a result for it", None, settings,
                                  report, attempt=None, batch_id=batch_id)
        store.chunk_collected(batch_id)
        status.collected.append(batch_id)
    report.failed_total = store.count_jobs(state="failed")
    return status


def _settle_entry(store: Store, families: dict[str, Family], job: Job, result: Any, batch_id: str,
                  settings: Settings, report: RunReport) -> None:
    fam = families.get(job.family or "")
    if result.type == "succeeded" and fam is not None:
        msg = result.message
        reply = Reply(text=text_of(msg), stop_reason=msg.stop_reason, model=msg.model, usage=usage_of(msg),
                      raw=msg.model_dump_json())
        settle(store, fam, job, reply, settings, report, attempt=None, batch_id=batch_id)
        return
    detail = result.model_dump_json() if result.type == "errored" else result.type
    if fam is None and result.type == "succeeded":
        detail = f"family {job.family!r} is not loaded"
    record_failed_attempt(store, job, f"batch entry {result.type}: {detail[:500]}", detail, settings, report,
                          attempt=None, batch_id=batch_id)


def _message(exc: anthropic.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict) and body["error"].get("message"):
        return str(body["error"]["message"])[:300]
    return str(exc.message)[:300]
