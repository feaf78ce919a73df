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
from curator.jobs.plan import FewShot, body_input_tokens, build_request, plan_generation
from curator.jobs.procedural import run_procedural
from curator.jobs.runner import RunReport, run_with_teacher
from curator.models import Job
from curator.progress import NEVER, Cancel, Progress
from curator.store import Store
from curator.teacher.client import Teacher


COUNT_TIMEOUT_S = 10.0  # the token-counting endpoint answers at once, or the estimate goes on without it


def _collision_lines(collisions: list[Collision]) -> list[str]:
    return [f"  {c.describe()}" for c in collisions]


@dataclass
class PlanReport:
    family: str
    planned: int
    added: int
    collisions: list[Collision] = field(default_factory=list)

    def summary(self) -> str:
        return "\n".join([f"planned {self.planned} jobs ({self.added} new, {self.planned - self.added} planned before)",
                          *_collision_lines(self.collisions)])


def plan(store: Store, family: Family, settings: Settings, *, limit: int, per_passage: int = 1) -> PlanReport:
    """Queue up to `limit` jobs of a family (idempotent: planning again adds nothing)."""
    planned = plan_generation(store, family, settings, limit=limit, per_passage=per_passage)
    return PlanReport(family.name, len(planned.jobs), planned.added, planned.collisions)


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
        lines = [f"dry run, {self.family} with {self.model}: {self.requests} requests to send ({self.done_before} done before)"]
        if f is None:
            lines.append(f"  input ≈ {self.input_tokens} tokens, output ≤ {self.output_tokens} tokens (max_tokens)")
        else:
            calibration = f.calibration.describe() if f.calibration else ""
            measured = f.calibration is not None and f.calibration.output_tokens is not None
            output = (f"output ≈ {f.expected_output_tokens} tokens as measured, ≤ {self.output_tokens} (max_tokens)"
                      if measured else f"output ≤ {self.output_tokens} tokens (max_tokens; none measured yet)")
            lines += [f"  input ≈ {self.input_tokens} tokens: {f.input_tokens} not cached, {self.cache_line()}",
                      f"  {f.cache_line()}", f"  {calibration}; {output}",
                      f"  cost ≈ ${f.cost_usd:.4f}{price} (${f.uncached_usd:.4f} without the prompt cache)"]
        lines += [f"  cost ≤ ${self.cost_usd:.4f}{price} if every reply used max_tokens; ≤ ${self.worst_cost_usd:.4f} "
                  f"if every job used all {self.max_attempts} attempts",
                  "  nothing was sent to generate, nothing was stored", *_collision_lines(self.collisions)]
        return "\n".join(lines)


def estimate(store: Store, family: Family, settings: Settings, *, limit: int, per_passage: int = 1,
             batch: bool = False, count_tokens: bool = True, api_key: str | None = None,
             base_url: str | None = None) -> Estimate:
    """What `run` would send — the planned jobs and the family's queued ones — in tokens and dollars,
    calibrated on the family's measured usage, with the prompt cache's writes and reads; writes
    nothing. With too little usage stored and an API key (`count_tokens`), the server's free
    token-counting endpoint measures a few of the requests (never one holding private eval text)."""
    fewshot = FewShot.load(store)
    planned = plan_generation(store, family, settings, limit=limit, per_passage=per_passage, dry_run=True,
                              fewshot=fewshot)
    done = store.done_job_keys()
    todo = [j for j in planned.jobs if j.idem_key not in done]
    done_before = len(planned.jobs) - len(todo)
    planned_keys = {j.idem_key for j in todo}
    # a run also sends every job of the family already queued (by `A`, an earlier run paused...)
    todo += [job for job in map(store.job, store.queued_job_ids(family=family.name)) if job.idem_key not in planned_keys]
    counter = token_counter(store, settings, api_key, base_url) if count_tokens else None
    f = forecast(store, family, todo, settings, fewshot=fewshot, batch=batch, counter=counter)
    attempts = settings.teacher.max_job_attempts
    return Estimate(family.name, f.model, len(todo), done_before, f.prompt_tokens, f.output_tokens, f.bound_usd,
                    f.bound_usd * attempts, attempts, batch, planned.collisions, f)


def token_counter(store: Store, settings: Settings, api_key: str | None = None,
                  base_url: str | None = None) -> Counter | None:
    """Counts request bodies' tokens with the server's token-counting endpoint (None without an API
    key). A body holding a private eval item's text is never sent: its count is None."""
    key = api_key or os.environ.get("ANTHROPIC_API_KEY")
    if not key:
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
            teacher = Teacher(quick, api_key=key, base_url=base_url)
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
    plan: PlanReport
    run: RunReport

    def summary(self) -> str:
        return self.run.summary()


def _teacher(settings: Settings, api_key: str | None, base_url: str | None) -> Teacher:
    return Teacher(settings.teacher, api_key=api_key, base_url=base_url)


def run(store: Store, families: dict[str, Family], family: str, settings: Settings, *, limit: int,
        per_passage: int = 1, progress: Progress | None = None, cancel: Cancel = NEVER,
        api_key: str | None = None, base_url: str | None = None) -> GenerateReport:
    """Plan, then run the family's queued jobs through the teacher until done or cancelled
    (requests in flight finish; nothing new is sent). TeacherError if no teacher can be built."""
    planned = plan(store, families[family], settings, limit=limit, per_passage=per_passage)
    return GenerateReport(planned, run_with_teacher(store, families, settings, family=family, progress=progress,
                                                    cancel=cancel, api_key=api_key, base_url=base_url))


@dataclass
class BatchReport:
    plan: PlanReport
    submitted: list[str] = field(default_factory=list)
    collected: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    report: RunReport = field(default_factory=RunReport)

    def summary(self) -> str:
        lines = [self.plan.summary(),
                 f"batches submitted: {', '.join(self.submitted) or 'none'}; collected: {len(self.collected)}; "
                 f"pending: {len(self.pending)}"]
        if not self.submitted and not self.pending and not self.collected:
            lines.append("  nothing to send: every planned job is done, failed or running elsewhere")
        if self.collected:
            lines.append(self.report.summary())
        if self.pending:
            lines.append(f"still processing: {', '.join(self.pending)} (run again to collect)")
        return "\n".join(lines)


def run_batch(store: Store, families: dict[str, Family], family: str, settings: Settings, *, limit: int,
              per_passage: int = 1, wait: bool = False, poll_s: float | None = None, cancel: Cancel = NEVER,
              api_key: str | None = None, base_url: str | None = None) -> BatchReport:
    """Collect ended batches, plan, submit the family's queued jobs as one batch (half price), and
    with `wait` poll until every batch has ended (or `cancel` is set)."""
    out = BatchReport(plan(store, families[family], settings, limit=limit, per_passage=per_passage))
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

    async def main() -> None:
        teacher = _teacher(settings, api_key, base_url)
        try:
            absorb(await batches.collect(store, families, teacher, settings))
            submitted = await batches.submit(store, families, teacher, settings, family=family)
            out.submitted = submitted.submitted
            absorb(submitted)
            out.pending = store.open_batch_ids()
            while out.pending and wait and not cancel.is_set():
                await asyncio.sleep(poll)
                absorb(await batches.collect(store, families, teacher, settings))
        finally:
            await teacher.close()

    asyncio.run(main())
    return out


def procedural(store: Store, family: Family, settings: Settings, *, limit: int, progress: Progress | None = None,
               cancel: Cancel = NEVER) -> RunReport:
    """Plan and run jobs of a math or tool family with the built-in generators (no API key).
    ValueError for a family without a generator."""
    return run_procedural(store, family, settings, limit=limit, progress=progress, cancel=cancel)


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
