"""Running queued jobs of any kind: claim with a lease, request, validate, hand the output to the
kind's registered handler, which commits its results with the job's `done` state in one transaction.

Crash and concurrency safety: a runner claims each job with a lease (`host:pid:token`) that it
renews every LEASE_S / 3 while it runs. Only jobs whose lease expired, or whose owner process on
this host is gone, are recovered — so two runs at once (two CLI processes, or the CLI and the app)
never take each other's jobs in flight. Every attempt is a row in `job_attempts` with its raw
response; a job never gets more than `max_job_attempts` attempts, kills included.

An attempt counts when its request is sent: the store marks it just before the request's headers go
out (the teacher watches the transport). A runner that stops before that gives the job back without
using an attempt; such lost leases have a cap of their own (`max_lost_leases`), so a job that kills
its runner cannot loop forever. A server that cannot be reached stops the run at once: the job goes
back unsent and nothing more is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from curator.config import Settings
from curator.evalguard import Collision, EvalGuard, EvalLeak
from curator.families import Family
from curator.jobs.plan import FewShot, body_input_tokens, build_request
from curator.jobs.results import HANDLERS, Finished, LeaseLost, parse_reply
from curator.models import Job
from curator.progress import NEVER, Cancel
from curator.store import Store
from curator.store.base import lease_owner
from curator.store.jobs import LEASE_S
from curator.teacher.client import OutputError, Reply, Teacher, TeacherError, Usage
from curator.display.wording import counted, dollars


# What a job kind's handler adds (`RunReport.candidates` counts it): a generation's candidates, a
# classification's passages, the judge's verdicts.
MADE = {"generate": ("candidate", "candidates"), "classify": ("passage classified", "passages classified"),
        "judge": ("candidate judged", "candidates judged")}


@dataclass
class RunReport:
    done: int = 0
    failed: int = 0
    retried: int = 0
    candidates: int = 0
    requests: int = 0
    recovered: int = 0
    cost_usd: float = 0.0
    usage: Usage = field(default_factory=Usage)
    budget_reached: bool = False
    errors: list[str] = field(default_factory=list)
    collisions: list[Collision] = field(default_factory=list)
    failed_total: int | None = None  # failed jobs of the run's kind and family in the database, after it
    stopped: str | None = None  # why the run stopped before its jobs were done (say, an unreachable server)
    taken: str | None = None  # what the run took on, when it says so first (procedural runs)
    made: tuple[str, str] = MADE["generate"]  # what its handler adds, counted in `candidates`

    def summary(self) -> str:
        u = self.usage
        cached = (f" ({u.cache_read_tokens} more read from the prompt cache, {u.cache_write_tokens} written to it)"
                  if u.cache_read_tokens or u.cache_write_tokens else "")
        total = f" ({self.failed_total} failed in all: curator jobs --errors)" if self.failed_total else ""
        text = (f"{counted(self.done, 'job')} done, {self.failed} failed in this run{total}, "
                f"{counted(self.retried, 'attempt')} sent again; "
                f"{counted(self.candidates, *self.made)}; {counted(self.requests, 'request')}, "
                f"{u.input_tokens} input{cached} + "
                f"{u.output_tokens} output tokens, {dollars(self.cost_usd)}")
        if self.recovered:
            failed = getattr(self.recovered, "failed", 0)
            text += f"; {counted(self.recovered, 'job')} of a stopped runner taken back" + (
                f" ({failed} of them out of attempts: failed)" if failed else "")
        if self.stopped:
            text += f"; stopped: {self.stopped}"
        text += "; stopped: budget reached" if self.budget_reached else ""
        return f"{self.taken}\n{text}" if self.taken else text


Progress = Callable[[int, int], None]  # (jobs finished, jobs to run)


def settle(store: Store, family: Family, job: Job, reply: Reply, settings: Settings, report: RunReport, *,
           attempt: int | None, owner: str | None = None, batch_id: str | None = None,
           detail: dict | None = None) -> None:
    """Validate a reply and hand it to the job kind's handler (or record the failed attempt)."""
    model = reply.model or settings.teacher.model_for(family.name)
    u = reply.usage
    cost = u.cost(settings.price(model), batch=batch_id is not None)
    report.usage.add(u)
    report.cost_usd += cost
    handler = HANDLERS.get(job.kind)
    try:
        if handler is None:
            raise OutputError("no handler", f"no result handler is registered for {job.kind!r} jobs")
        output = parse_reply(family, reply)
    except OutputError as exc:
        record_failed_attempt(store, job, str(exc), reply.raw, settings, report, attempt=attempt, usage=u, cost=cost,
                              owner=owner, batch_id=batch_id, detail=detail)
        return
    finished = Finished(model, reply.raw, u, cost, owner, attempt, batch_id, detail or {})
    try:
        report.candidates += handler(store, family, job, output, finished)
    except LeaseLost as exc:
        store.finish_attempt(job.id, state="done", attempt=attempt, raw=reply.raw, input_tokens=u.input_tokens,  # type: ignore[arg-type]
                             output_tokens=u.output_tokens, cache_write_tokens=u.cache_write_tokens,
                             cache_read_tokens=u.cache_read_tokens, cost=cost, owner=owner, batch_id=batch_id,
                             detail=detail)
        report.errors.append(str(exc))
        return
    report.done += 1


def record_failed_attempt(store: Store, job: Job, error: str, raw: str | None, settings: Settings,
                          report: RunReport, *, attempt: int | None, usage: Usage | None = None, cost: float = 0.0,
                          owner: str | None = None, batch_id: str | None = None, retry: bool = True,
                          detail: dict | None = None) -> bool:
    """A failed attempt, kept with its raw response; the job goes back to the queue until it has
    used max_job_attempts (or fails at once without `retry`). True if requeued."""
    used = store.job(job.id).attempts  # type: ignore[arg-type]  (attempts that sent a request)
    state = "queued" if retry and used < settings.teacher.max_job_attempts else "failed"
    u = usage or Usage()
    if not store.finish_attempt(job.id, state=state, attempt=attempt, error=error, raw=raw,  # type: ignore[arg-type]
                                input_tokens=u.input_tokens, output_tokens=u.output_tokens,
                                cache_write_tokens=u.cache_write_tokens, cache_read_tokens=u.cache_read_tokens,
                                cost=cost, owner=owner, batch_id=batch_id, detail=detail):
        report.errors.append(f"job {job.id}: {error} (another runner has taken the job over; kept as a late attempt)")
        return False
    if state == "queued":
        report.retried += 1
    else:
        report.failed += 1
    report.errors.append(f"job {job.id}: {error}")
    return state == "queued"


async def _renew(store: Store, owner: str, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        store.renew_leases(owner)


async def run_jobs(store: Store, families: dict[str, Family], teacher: Teacher, settings: Settings, *,
                   kind: str = "generate", family: str | None = None, limit: int | None = None,
                   progress: Progress | None = None, cancel: Cancel = NEVER, owner: str | None = None,
                   job_ids: list[int] | None = None) -> RunReport:
    """Run queued jobs (`job_ids`, else the kind's and family's queued ones) with the teacher's
    concurrency until done, cancelled, the budget is reached or the server cannot be reached."""
    report = RunReport(made=MADE.get(kind, MADE["generate"]))
    owner = owner or lease_owner()
    max_attempts = settings.teacher.max_job_attempts
    max_lost = settings.teacher.max_lost_leases
    report.recovered = store.recover_jobs(max_attempts=max_attempts, max_lost=max_lost)
    report.failed += report.recovered.failed
    guard = EvalGuard.load(store)
    fewshot = FewShot.load(store, guard)
    report.collisions = fewshot.collisions_of(family) if family else fewshot.collisions
    budget = settings.teacher.budget_usd
    spent = store.spent_usd()
    reserved = 0.0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for job_id in (job_ids if job_ids is not None else store.queued_job_ids(kind=kind, family=family, limit=limit)):
        queue.put_nowait(job_id)
    total = queue.qsize()

    async def worker() -> None:
        nonlocal spent, reserved
        while not queue.empty():
            if cancel.is_set() or report.budget_reached or report.stopped:
                return
            job_id = queue.get_nowait()
            job = store.job(job_id)
            if job.state != "queued":
                continue  # another runner has it
            fam = families.get(job.family or "")
            if fam is None:
                report.errors.append(f"job {job_id}: family {job.family!r} is not loaded (see `curator families`)")
                continue
            request = build_request(store, fam, job, settings, structured=teacher.structured, fewshot=fewshot)
            body = request.body
            estimate = settings.price(body["model"]).cost(body_input_tokens(body), body["max_tokens"])
            if budget is not None and spent + reserved + estimate > budget:
                report.budget_reached = True
                return
            try:
                guard.check(body)
            except EvalLeak as exc:
                if store.fail_job(job_id, str(exc)):
                    report.failed += 1
                    report.errors.append(f"job {job_id}: {exc}")
                continue
            detail = request.detail
            attempt = store.claim_job(job_id, owner, max_attempts=max_attempts, detail=detail, sent=False,
                                      max_lost=max_lost)
            if attempt is None:
                if store.job(job_id).state == "failed":
                    report.failed += 1
                continue
            reserved += estimate

            def sent(job_id: int = job_id, attempt: int = attempt) -> None:
                store.mark_sent(job_id, attempt)
                report.requests += 1

            try:
                reply = await teacher.complete(body, on_sent=sent)
            except TeacherError as exc:
                reserved -= estimate
                if not exc.sent:  # the server never saw it: the job goes back without using an attempt
                    store.finish_attempt(job_id, state="queued", attempt=attempt, error=str(exc), owner=owner,
                                         outcome="unsent")
                    report.errors.append(f"job {job_id}: {exc}")
                    report.stopped = str(exc)  # nothing reaches the server: send nothing more
                    return
                retry = exc.status is None or exc.retryable  # a 4xx: the request itself is wrong
                if record_failed_attempt(store, job, str(exc), exc.raw, settings, report, attempt=attempt,
                                         owner=owner, retry=retry):
                    queue.put_nowait(job_id)
            else:
                reserved -= estimate
                before = report.cost_usd
                settle(store, fam, job, reply, settings, report, attempt=attempt, owner=owner)
                spent += report.cost_usd - before
                if store.job(job_id).state == "queued":
                    queue.put_nowait(job_id)
            if progress:
                progress(report.done + report.failed, total)

    renewer = asyncio.create_task(_renew(store, owner, LEASE_S / 3))
    try:
        await asyncio.gather(*(worker() for _ in range(settings.teacher.concurrency)))
    finally:
        renewer.cancel()
    report.failed_total = store.count_jobs(state="failed", kind=kind, family=family)
    return report


def check_teacher(settings: Settings, *, api_key: str | None = None, base_url: str | None = None) -> str:
    """Before anything is queued or costs money: a key (or a compatible server's ANTHROPIC_BASE_URL) is
    set, and the server answers in seconds without refusing the key. Returns the server's URL;
    TeacherError saying what is wrong and how to set the key or the server."""

    async def main() -> str:
        teacher = Teacher(settings.teacher, api_key=api_key, base_url=base_url)
        try:
            await teacher.check()
            return teacher.url
        finally:
            await teacher.close()

    return asyncio.run(main())


def run_with_teacher(store: Store, families: dict[str, Family], settings: Settings, *, kind: str = "generate",
                     family: str | None = None, progress: Progress | None = None, cancel: Cancel = NEVER,
                     api_key: str | None = None, base_url: str | None = None,
                     job_ids: list[int] | None = None) -> RunReport:
    """`run_jobs` from synchronous code (services), with a teacher built for the run and closed after it.
    TeacherError if no teacher can be built (no API key, say)."""

    async def main() -> RunReport:
        teacher = Teacher(settings.teacher, api_key=api_key, base_url=base_url)
        try:
            return await run_jobs(store, families, teacher, settings, kind=kind, family=family, progress=progress,
                                  cancel=cancel, job_ids=job_ids)
        finally:
            await teacher.close()

    return asyncio.run(main())
