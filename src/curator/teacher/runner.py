"""Running queued jobs: request, validate, and commit each response with its candidates in one transaction.

Crash safety: a job is `running` only while its request is in flight. On start, jobs left `running`
by a crash go back to `queued`. A response and its candidates commit together with the job's `done`
state, and candidates are unique on (job, item), so a restart never loses or duplicates a candidate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from curator.config import Settings
from curator.models import Example, Job, conversation_text, now_iso
from curator.store import Store
from curator.teacher.client import OutputError, Reply, Teacher, TeacherError, Usage, extract_json
from curator.teacher.families import Family
from curator.teacher.plan import EvalGuard, EvalLeak, body_input_tokens, build_request, fewshot_seeds
from curator.teacher.procedural.tools import tools_prompt_text
from curator.teacher.schemas import SCHEMAS, JudgeVerdict, MathItem, PassageLabels, ToolItem
from curator.text.normalize import key_hash


@dataclass
class RunReport:
    done: int = 0
    failed: int = 0
    retried: int = 0
    candidates: int = 0
    requests: int = 0
    cost_usd: float = 0.0
    usage: Usage = field(default_factory=Usage)
    budget_reached: bool = False
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"{self.done} jobs done, {self.failed} failed, {self.retried} to retry; {self.candidates} candidates; "
                f"{self.requests} requests, {self.usage.input_tokens} input + {self.usage.output_tokens} output tokens, "
                f"${self.cost_usd:.4f}")
        return text + ("; stopped: budget reached" if self.budget_reached else "")


Progress = Callable[[RunReport], None]


def recover_running(store: Store) -> int:
    """Jobs left `running` by a crash (outside a batch) go back to the queue."""
    with store.transaction():
        cur = store.conn.execute(
            "UPDATE jobs SET state = 'queued', updated_at = ? WHERE state = 'running' AND batch_id IS NULL",
            (now_iso(),))
    return cur.rowcount


def spent_usd(store: Store) -> float:
    return store.conn.execute("SELECT coalesce(sum(cost_usd), 0) FROM jobs").fetchone()[0]


def parse_reply(family: Family, reply: Reply) -> BaseModel:
    """The validated output of a reply, or OutputError saying why it cannot be used."""
    if reply.stop_reason == "max_tokens":
        raise OutputError("truncated", "the reply hit max_tokens before it ended")
    if reply.stop_reason == "refusal":
        raise OutputError("refusal", reply.text[:200] or "the model refused")
    data = extract_json(reply.text)
    try:
        return SCHEMAS[family.schema].model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise OutputError("schema-invalid", f"{'.'.join(map(str, first['loc']))}: {first['msg']} "
                          f"({exc.error_count()} errors)") from exc


def candidates_from(family: Family, job: Job, output: BaseModel, model: str, usage: Usage,
                    passage_span: tuple[int, int] | None, source_type: str = "generated") -> list[Example]:
    """One candidate per output item, each with its full lineage."""
    items = getattr(output, "items", [])
    out = []
    for item in items:
        example = Example(
            kind="candidate", family=family.name, task_type=item.task_type,
            difficulty=item.difficulty or job.params.get("difficulty"), topic=item.topic or job.params.get("topic"),
            source_type=source_type, passage_id=job.passage_id,
            passage_start=passage_span[0] if passage_span else None,
            passage_end=passage_span[1] if passage_span else None,
            messages=item.messages,
            tools=[t.model_dump() for t in item.tools] if isinstance(item, ToolItem) else None,
            answer=item.answer if isinstance(item, MathItem) else None,
            metadata={"notes": item.notes, "persona": job.params.get("persona"), "job_usage": usage.__dict__,
                      "items_in_job": len(items)},
            job_id=job.id, template_hash=job.template_hash, model=model,
        )
        example.key_hash = key_hash(conversation_text(example.messages))
        out.append(example)
    return out


def record_success(store: Store, job: Job, examples: list[Example], reply_raw: str, usage: Usage, cost: float) -> int:
    """Commit the candidates and the job's `done` state together; returns candidates added."""
    added = 0
    with store.transaction():
        for index, example in enumerate(examples):
            if store.add_example(example, job_item=index, ignore_existing=True) is not None:
                added += 1
        finish_job(store, job, "done", None, reply_raw, usage, cost)
    return added


def record_labels(store: Store, job: Job, labels: PassageLabels, reply_raw: str, usage: Usage, cost: float) -> None:
    """Apply the teacher's passage labels (the heuristic rules stay, the LLM's reason is added)."""
    passage = store.passage(job.passage_id)  # type: ignore[arg-type]
    rules = passage.rules + [f"llm {job.params.get('model', '')}: {labels.quality}; {labels.reason}".strip()]
    with store.transaction():
        store.update_passage(passage.id, tags=labels.tags, quality=labels.quality,  # type: ignore[arg-type]
                             families=labels.families, rules=rules)
        finish_job(store, job, "done", None, reply_raw, usage, cost)


def record_failure(store: Store, job: Job, error: str, raw: str | None, usage: Usage, cost: float,
                   max_attempts: int) -> bool:
    """A failed attempt: kept with its raw response; the job is retried until max_attempts. True if requeued."""
    attempts = store.job(job.id).attempts  # type: ignore[arg-type]
    state = "queued" if attempts < max_attempts else "failed"
    with store.transaction():
        finish_job(store, job, state, error, raw, usage, cost)
    return state == "queued"


def finish_job(store: Store, job: Job, state: str, error: str | None, raw: str | None, usage: Usage, cost: float) -> None:
    store.conn.execute(
        "UPDATE jobs SET state = ?, last_error = coalesce(?, last_error), raw_response = coalesce(?, raw_response),"
        " input_tokens = input_tokens + ?, output_tokens = output_tokens + ?,"
        " cache_write_tokens = cache_write_tokens + ?, cache_read_tokens = cache_read_tokens + ?,"
        " cost_usd = cost_usd + ?, updated_at = ? WHERE id = ?",
        (state, error, raw, usage.input_tokens, usage.output_tokens, usage.cache_write_tokens,
         usage.cache_read_tokens, cost, now_iso(), job.id),
    )


def claim(store: Store, job_id: int) -> bool:
    """Mark a queued job running (and count the attempt); False if another runner took it."""
    with store.transaction():
        cur = store.conn.execute(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, updated_at = ? WHERE id = ? AND state = 'queued'",
            (now_iso(), job_id))
    return cur.rowcount == 1


def queued_jobs(store: Store, *, kind: str = "generate", family: str | None = None, limit: int | None = None) -> list[int]:
    sql = "SELECT id FROM jobs WHERE state = 'queued' AND kind = ? AND batch_id IS NULL"
    params: list[Any] = [kind]
    if family:
        sql += " AND family = ?"
        params.append(family)
    sql += " ORDER BY id" + (f" LIMIT {int(limit)}" if limit else "")
    return [r[0] for r in store.conn.execute(sql, params).fetchall()]


def handle_reply(store: Store, family: Family, job: Job, reply: Reply, settings: Settings, report: RunReport,
                 *, batch: bool = False) -> None:
    """Validate a reply and commit it (or record the failed attempt)."""
    model = reply.model or settings.teacher.model_for(family.name)
    cost = settings.price(model).cost(reply.usage.input_tokens, reply.usage.output_tokens,
                                      reply.usage.cache_write_tokens, reply.usage.cache_read_tokens, batch=batch)
    report.usage.add(reply.usage)
    report.cost_usd += cost
    try:
        output = parse_reply(family, reply)
    except OutputError as exc:
        record_failed_attempt(store, job, str(exc), reply.raw, reply.usage, cost, settings, report)
        return
    if isinstance(output, PassageLabels):
        record_labels(store, job, output, reply.raw, reply.usage, cost)
    elif isinstance(output, JudgeVerdict):
        from curator.gates.judge import record_judgement  # gates build on teacher, not the reverse

        record_judgement(store, family, job, output, model, reply.raw, reply.usage, cost)
    else:
        span = None
        if job.passage_id is not None:
            p = store.passage(job.passage_id)
            span = (p.start, p.end)
        report.candidates += record_success(store, job, candidates_from(family, job, output, model, reply.usage, span),
                                            reply.raw, reply.usage, cost)
    report.done += 1


def record_failed_attempt(store: Store, job: Job, error: str, raw: str | None, usage: Usage, cost: float, settings: Settings,
            report: RunReport) -> None:
    if record_failure(store, job, error, raw, usage, cost, settings.teacher.max_job_attempts):
        report.retried += 1
    else:
        report.failed += 1
    report.errors.append(f"job {job.id}: {error}")


async def run_jobs(store: Store, families: dict[str, Family], teacher: Teacher, settings: Settings, *,
                   kind: str = "generate", family: str | None = None, limit: int | None = None,
                   progress: Progress | None = None, stop: asyncio.Event | None = None) -> RunReport:
    """Run queued jobs with the teacher's concurrency until done, stopped, or the budget is reached."""
    report = RunReport()
    recover_running(store)
    guard = EvalGuard.load(store)
    seeds = {s.id: s for s in fewshot_seeds(store) if s.id is not None}
    budget = settings.teacher.budget_usd
    spent = spent_usd(store)
    reserved = 0.0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for job_id in queued_jobs(store, kind=kind, family=family, limit=limit):
        queue.put_nowait(job_id)

    async def worker() -> None:
        nonlocal spent, reserved
        while not queue.empty():
            if (stop is not None and stop.is_set()) or report.budget_reached:
                return
            job_id = queue.get_nowait()
            job = store.job(job_id)
            fam = families.get(job.family or "")
            if fam is None:
                report.errors.append(f"job {job_id}: family {job.family!r} is not loaded (see `curator families`)")
                continue
            body = build_request(store, fam, job, settings, structured=teacher.structured, seeds=seeds,
                                 tools_text=tools_prompt_text(job.topic) if fam.schema == "ToolBatch" else "")
            estimate = settings.price(body["model"]).cost(body_input_tokens(body), body["max_tokens"])
            if budget is not None and spent + reserved + estimate > budget:
                report.budget_reached = True
                return
            if not claim(store, job_id):
                continue
            job = store.job(job_id)
            try:
                guard.check(body)
            except EvalLeak as exc:
                with store.transaction():
                    finish_job(store, job, "failed", str(exc), None, Usage(), 0.0)
                report.failed += 1
                report.errors.append(f"job {job_id}: {exc}")
                continue
            reserved += estimate
            report.requests += 1
            try:
                reply = await teacher.complete(body)
            except TeacherError as exc:
                reserved -= estimate
                if exc.status is not None and not exc.retryable:  # 4xx: the request itself is wrong
                    with store.transaction():
                        finish_job(store, job, "failed", str(exc), exc.raw, Usage(), 0.0)
                    report.failed += 1
                    report.errors.append(f"job {job_id}: {exc}")
                else:
                    record_failed_attempt(store, job, str(exc), exc.raw, Usage(), 0.0, settings, report)
                    if store.job(job_id).state == "queued":
                        queue.put_nowait(job_id)
            else:
                reserved -= estimate
                before = report.cost_usd
                handle_reply(store, fam, job, reply, settings, report)
                spent += report.cost_usd - before
                if store.job(job_id).state == "queued":
                    queue.put_nowait(job_id)
            if progress:
                progress(report)

    await asyncio.gather(*(worker() for _ in range(settings.teacher.concurrency)))
    return report


def run_blocking(store: Store, families: dict[str, Family], settings: Settings, **kwargs: Any) -> RunReport:
    """`run_jobs` from synchronous code (the CLI), with a teacher built from the environment."""

    async def main() -> RunReport:
        teacher = Teacher(settings.teacher)
        try:
            return await run_jobs(store, families, teacher, settings, **kwargs)
        finally:
            await teacher.close()

    return asyncio.run(main())


def job_summary(store: Store) -> list[dict[str, Any]]:
    """Per family and state: jobs, attempts, tokens, cost."""
    rows = store.conn.execute(
        "SELECT kind, family, state, count(*), sum(attempts), sum(input_tokens), sum(output_tokens), sum(cost_usd) "
        "FROM jobs GROUP BY kind, family, state ORDER BY kind, family, state").fetchall()
    keys = ("kind", "family", "state", "jobs", "attempts", "input_tokens", "output_tokens", "cost_usd")
    return [dict(zip(keys, r)) for r in rows]
