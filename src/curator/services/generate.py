"""Generation: plan, estimate (a dry run: measured tokens, the prompt cache, expected and worst-case cost), run,
run as batches, run procedurally.

The CLI (`curator generate`, `curator jobs`) and the jobs screen call these same functions.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import Any

from curator.config import Settings
from curator.evalguard import Collision, EvalGuard, EvalLeak
from curator.families import Family
from curator.jobs import batch as batches
from curator.jobs.costing import Counter, Forecast, forecast
from curator.jobs.plan import FewShot, body_input_tokens, build_request
from curator.jobs.procedural import require_procedural, run_procedural
from curator.jobs.runner import RunReport, check_teacher, run_with_teacher  # noqa: F401 (check_teacher: the shells')
from curator.jobs.take import Taken, take_jobs
from curator.models import Job
from curator.progress import NEVER, Cancel, Progress
from curator.store import Store
from curator.teacher.client import Teacher
from curator.display.wording import counted, dollars


COUNT_TIMEOUT_S = 10.0  # the token-counting endpoint answers at once, or the estimate goes on without it


def _collision_lines(collisions: list[Collision]) -> list[str]:
    return [f"  {c.describe()}" for c in collisions]


PlanReport = Taken  # what a run takes on: the family's queued jobs first, then new ones to make up --limit


def plan(store: Store, family: Family, settings: Settings, *, limit: int | None, per_passage: int = 1,
         kind: str = "generate", resume: bool = False) -> Taken:
    """This run's `limit` jobs of a family: those queued before, then new ones (a count to add, not a
    total); with `resume`, the queued ones only (every one without a limit)."""
    return take_jobs(store, family, settings, limit=limit, per_passage=per_passage, kind=kind, resume=resume)


@dataclass
class Estimate:
    family: str
    model: str
    requests: int
    done_before: int
    input_tokens: int  # every prompt token, cached or not (calibrated: see `calibration`)
    output_tokens: int  # max_tokens, every request
    cost_usd: float  # every request once, each answered with max_tokens (the cache as predicted)
    worst_cost_usd: float  # every request on every attempt it may get
    max_attempts: int
    batch: bool
    collisions: list[Collision] = field(default_factory=list)
    forecast: Forecast | None = None  # the cache's writes and reads, the expected cost, the calibration

    @property
    def expected_cost_usd(self) -> float:
        """The cost with the output measured so far (max_tokens until a reply of the family is measured)."""
        return self.forecast.cost_usd if self.forecast else self.cost_usd

    def cache_line(self) -> str:
        f = self.forecast
        return "" if f is None else (f"{f.cache_read_tokens} read from the prompt cache, {f.cache_write_tokens} "
                                     f"written to it" if f.cached else "nothing read from the prompt cache")

    def summary(self) -> str:
        price = " (batch price)" if self.batch else ""
        f = self.forecast
        lines = [f"dry run, {self.family} with {self.model}: {self.requests} requests to send ({self.done_before} of them "
                 f"queued before, {self.requests - self.done_before} new)"]
        if f is None:
            lines.append(f"  input ≈ {self.input_tokens} tokens, output ≤ {self.output_tokens} tokens (max_tokens)")
        else:
            calibration = f.calibration.describe() if f.calibration else ""
            measured = f.calibration is not None and f.calibration.output_tokens is not None
            output = (f"output ≈ {f.expected_output_tokens} tokens as measured, ≤ {self.output_tokens} (max_tokens)"
                      if measured else f"output ≤ {self.output_tokens} tokens (max_tokens; none measured yet)")
            lines += [f"  input ≈ {self.input_tokens} tokens: {f.input_tokens} not cached, {self.cache_line()}",
                      f"  {f.cache_line()}", f"  {calibration}; {output}",
                      f"  cost ≈ {dollars(f.cost_usd)}{price} ({dollars(f.uncached_usd)} without the prompt cache)"]
        lines += [f"  cost ≤ {dollars(self.cost_usd)}{price} if every reply used max_tokens; ≤ {dollars(self.worst_cost_usd)} "
                  f"if every job used all {self.max_attempts} attempts",
                  "  nothing was sent to generate, nothing was stored", *_collision_lines(self.collisions)]
        return "\n".join(lines)


def estimate(store: Store, family: Family, settings: Settings, *, limit: int | None, per_passage: int = 1,
             batch: bool = False, resume: bool = False, count_tokens: bool = True, api_key: str | None = None,
             base_url: str | None = None) -> Estimate:
    """What `run` would send — the family's queued jobs, then new ones — in tokens and dollars,
    calibrated on the family's measured usage, with the prompt cache's writes and reads; writes
    nothing. With too little usage stored and a key or server at hand (`count_tokens`), the server's
    free token-counting endpoint measures a few of the requests (never one holding private eval text)."""
    fewshot = FewShot.load(store)
    # what the run takes on: the family's queued jobs (by `A`, an earlier run paused...), then new ones
    planned = take_jobs(store, family, settings, limit=limit, per_passage=per_passage, dry_run=True, fewshot=fewshot,
                        resume=resume)
    todo, done_before = planned.planned, len(planned.queued)  # (done_before: queued before)
    counter = token_counter(store, settings, api_key, base_url) if count_tokens else None
    f = forecast(store, family, todo, settings, fewshot=fewshot, batch=batch, counter=counter)
    attempts = settings.teacher.max_job_attempts
    return Estimate(family.name, f.model, len(todo), done_before, f.prompt_tokens, f.output_tokens, f.bound_usd,
                    f.bound_usd * attempts, attempts, batch, planned.collisions, f)


def token_counter(store: Store, settings: Settings, api_key: str | None = None,
                  base_url: str | None = None) -> Counter | None:
    """Counts request bodies' tokens with the server's token-counting endpoint (None without an API key
    or a compatible server's ANTHROPIC_BASE_URL). A body holding a private eval item's text is never
    sent: its count is None."""
    if not (api_key or os.environ.get("ANTHROPIC_API_KEY") or base_url or os.environ.get("ANTHROPIC_BASE_URL")):
        return None
    guard = EvalGuard.load(store)

    def sendable(body: dict[str, Any]) -> bool:
        try:
            guard.check(body)
        except EvalLeak:
            return False
        return True

    def count(bodies: list[dict[str, Any]]) -> list[int | None]:
        async def one(teacher: Teacher, body: dict[str, Any]) -> int | None:
            return await teacher.count_tokens(body) if sendable(body) else None

        async def main() -> list[int | None]:
            quick = settings.teacher.model_copy(update={"timeout_s": min(settings.teacher.timeout_s, COUNT_TIMEOUT_S)})
            teacher = Teacher(quick, api_key=api_key, base_url=base_url)
            try:
                return list(await asyncio.gather(*(one(teacher, body) for body in bodies)))
            finally:
                await teacher.close()

        return asyncio.run(main())

    return count


def request_cost(store: Store, family: Family, jobs: list[Job], settings: Settings, *, fewshot: FewShot,
                 batch: bool = False) -> tuple[int, int, float]:
    """Input tokens, output tokens (max_tokens) and dollars of sending each job once; writes nothing."""
    tokens_in = tokens_out = 0
    cost = 0.0
    structured = settings.teacher.structured_outputs != "off"
    for job in jobs:
        body = build_request(store, family, job, settings, structured=structured, fewshot=fewshot).body
        tin, tout = body_input_tokens(body), body["max_tokens"]
        tokens_in, tokens_out = tokens_in + tin, tokens_out + tout
        cost += settings.price(body["model"]).cost(tin, tout, batch=batch)
    return tokens_in, tokens_out, cost


@dataclass
class GenerateReport:
    plan: Taken
    run: RunReport

    def summary(self) -> str:
        return self.run.summary()


def _teacher(settings: Settings, api_key: str | None, base_url: str | None) -> Teacher:
    return Teacher(settings.teacher, api_key=api_key, base_url=base_url)


def run(store: Store, families: dict[str, Family], family: str, settings: Settings, *, limit: int | None,
        per_passage: int = 1, progress: Progress | None = None, cancel: Cancel = NEVER,
        api_key: str | None = None, base_url: str | None = None, resume: bool = False) -> GenerateReport:
    """Take this run's `limit` jobs (the family's queued ones first, then new ones), then run them
    through the teacher until done or cancelled (requests in flight finish; nothing new is sent).
    TeacherError if no teacher can be built."""
    taken = plan(store, families[family], settings, limit=limit, per_passage=per_passage, resume=resume)
    report = run_with_teacher(store, families, settings, family=family, progress=progress, cancel=cancel,
                              api_key=api_key, base_url=base_url, job_ids=taken.ids)
    taken.merge_recovery(report)
    return GenerateReport(taken, report)


@dataclass
class BatchReport:
    plan: Taken
    submitted: list[str] = field(default_factory=list)
    collected: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    report: RunReport = field(default_factory=RunReport)
    chunks: list[batches.ChunkSent] = field(default_factory=list)
    unconfirmed: list[int] = field(default_factory=list)

    def summary(self) -> str:
        lines = [self.plan.summary(),
                 f"batches submitted: {', '.join(self.submitted) or 'none'}"
                 f"{f' ({len(self.chunks)} chunks)' if len(self.chunks) > 1 else ''}; collected: {len(self.collected)}; "
                 f"pending: {len(self.pending)}"]
        if not self.submitted and not self.pending and not self.collected and not self.report.stopped:
            lines.append("  nothing to send: every planned job is done, failed or running elsewhere")
        lines += [sent.line() for sent in self.chunks if sent.adopted]
        if self.collected or self.report.stopped:
            lines.append(self.report.summary())
        if self.unconfirmed:
            lines.append(f"chunks whose batch is not confirmed yet: {', '.join(map(str, self.unconfirmed))} "
                         f"(run again: they are found, or sent once they surely were not)")
        if self.pending:
            lines.append(f"still processing: {', '.join(self.pending)} (run again to collect)")
        return "\n".join(lines)


def run_batch(store: Store, families: dict[str, Family], family: str, settings: Settings, *, limit: int | None,
              per_passage: int = 1, wait: bool = False, poll_s: float | None = None, cancel: Cancel = NEVER,
              api_key: str | None = None, base_url: str | None = None,
              on_chunk: batches.OnChunk | None = None, resume: bool = False) -> BatchReport:
    """Collect ended batches, take this run's `limit` jobs (queued ones first, then new ones), submit
    them as batches within the API's limits, chunk by chunk (half price; `on_chunk` hears of each once
    its batch id is recorded), and with `wait` poll until every batch has ended (or `cancel` is set)."""
    out = BatchReport(Taken(family, limit or 0))
    poll = poll_s if poll_s is not None else min(30.0, max(0.05, settings.teacher.backoff_base_s))

    def absorb(status: batches.BatchStatus) -> None:
        out.collected += status.collected
        out.pending = status.pending
        r, s = out.report, status.report
        for name in ("done", "failed", "retried", "candidates", "requests"):
            setattr(r, name, getattr(r, name) + getattr(s, name))
        r.cost_usd += s.cost_usd
        r.usage.add(s.usage)
        r.budget_reached |= s.budget_reached
        r.errors += s.errors
        r.stopped = r.stopped or s.stopped
        out.chunks += status.chunks
        out.unconfirmed = sorted(set(out.unconfirmed) | set(status.unconfirmed))

    async def main() -> None:
        teacher = _teacher(settings, api_key, base_url)
        try:
            absorb(await batches.collect(store, families, teacher, settings))  # (resolves stopped chunks first)
            out.plan = plan(store, families[family], settings, limit=limit, per_passage=per_passage, resume=resume)
            out.plan.merge_recovery(out.report)
            submitted = await batches.submit(store, families, teacher, settings, family=family, job_ids=out.plan.ids,
                                             on_chunk=on_chunk)
            out.submitted = submitted.submitted
            absorb(submitted)
            out.pending = store.open_batch_ids()
            while (out.pending or out.unconfirmed) and wait and not cancel.is_set():
                await asyncio.sleep(poll)
                out.unconfirmed = []
                absorb(await batches.collect(store, families, teacher, settings))
                out.pending = store.open_batch_ids()
        finally:
            await teacher.close()

    asyncio.run(main())
    out.report.failed_total = store.count_jobs(state="failed", family=family)
    return out


def procedural(store: Store, family: Family, settings: Settings, *, limit: int, progress: Progress | None = None,
               cancel: Cancel = NEVER) -> RunReport:
    """Take this run's `limit` jobs of a math or tool family (queued ones first, then new ones: a count
    to add) and run them with the built-in generators (no API key). ValueError for a family without one."""
    return run_procedural(store, family, settings, limit=limit, progress=progress, cancel=cancel)


def procedural_dry_run(family: Family, *, limit: int) -> str:
    """What `procedural` would do (nothing is stored): the jobs it would take. ValueError for a family
    without a built-in generator."""
    require_procedural(family)
    return (f"would run {counted(limit, 'procedural job')} of {family.name} (those queued first) with the "
            f"built-in generator: no teacher, no API key, no cost; nothing was stored")


@dataclass
class JobDetail:
    job: Job
    attempts: list[dict[str, Any]]


def job_detail(store: Store, job_id: int) -> JobDetail:
    """One job with every attempt (raw response, usage, outcome, few-shot seeds shown). KeyError if none."""
    return JobDetail(store.job(job_id), store.attempts_of(job_id))


@dataclass
class JobsOverview:
    rows: list[dict[str, Any]]
    errors: list[Job]

    @property
    def cost_usd(self) -> float:
        return sum(r["cost_usd"] or 0.0 for r in self.rows)


def jobs_overview(store: Store, *, errors: int = 200) -> JobsOverview:
    """Per kind, family and state: jobs, attempts, tokens and cost; and the latest jobs with errors."""
    return JobsOverview(store.job_summary(), store.jobs_with_errors(errors) if errors else [])
