"""What a job's validated output becomes, per job kind: a registry of result handlers.

generate and procedural jobs write candidates, classify jobs write passage labels; other kinds
register their own handler (the judge does, in `services/judge.py`), so the job engine never imports
the code that builds on it. A handler stores its results and closes the attempt (`Finished.close`)
in ONE transaction: if the runner lost its lease meanwhile, everything rolls back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from curator.families import Family
from curator.families.schemas import SCHEMAS, MathItem, PassageLabels, ToolItem
from curator.models import Example, Job
from curator.store import Store
from curator.teacher.client import OutputError, Reply, Usage, extract_json


class LeaseLost(Exception):
    """The job was recovered by another runner while this attempt ran: its results are not stored."""


@dataclass
class Finished:
    """One attempt that got a usable reply: who ran it, and what it cost."""

    model: str
    raw: str
    usage: Usage
    cost: float
    owner: str | None = None
    attempt: int | None = None
    batch_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def close(self, store: Store, job: Job) -> None:
        """Mark the job done with this attempt (inside the handler's transaction); LeaseLost if it
        is no longer this runner's."""
        u = self.usage
        if not store.finish_attempt(job.id, state="done", attempt=self.attempt, raw=self.raw,  # type: ignore[arg-type]
                                    input_tokens=u.input_tokens, output_tokens=u.output_tokens,
                                    cache_write_tokens=u.cache_write_tokens, cache_read_tokens=u.cache_read_tokens,
                                    cost=self.cost, owner=self.owner, batch_id=self.batch_id, detail=self.detail):
            raise LeaseLost(f"job {job.id}: another runner took it over; this reply was kept as a late attempt")


Handler = Callable[[Store, Family, Job, BaseModel, Finished], int]
HANDLERS: dict[str, Handler] = {}


def register(*kinds: str) -> Callable[[Handler], Handler]:
    """Register the handler of one or more job kinds (it returns how many rows it added)."""

    def decorate(handler: Handler) -> Handler:
        for kind in kinds:
            HANDLERS[kind] = handler
        return handler

    return decorate


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
        out.append(example)
    return out


def store_candidates(store: Store, job: Job, examples: list[Example], finished: Finished) -> int:
    """Commit the candidates and the job's `done` state together; returns candidates added."""
    added = 0
    with store.transaction():
        for index, example in enumerate(examples):
            if store.add_example(example, job_item=index, ignore_existing=True) is not None:
                added += 1
        finished.close(store, job)
    return added


@register("generate")
def record_candidates(store: Store, family: Family, job: Job, output: BaseModel, finished: Finished) -> int:
    span = None
    if job.passage_id is not None:
        passage = store.passage(job.passage_id)
        span = (passage.start, passage.end)
    return store_candidates(store, job, candidates_from(family, job, output, finished.model, finished.usage, span),
                            finished)


@register("classify")
def record_labels(store: Store, family: Family, job: Job, output: BaseModel, finished: Finished) -> int:
    """Apply the teacher's passage labels (the heuristic rules stay, the LLM's reason is added)."""
    assert isinstance(output, PassageLabels)
    passage = store.passage(job.passage_id)  # type: ignore[arg-type]
    rules = passage.rules + [f"llm {finished.model}: {output.quality}; {output.reason}".strip()]
    with store.transaction():
        store.update_passage(passage.id, tags=output.tags, quality=output.quality,  # type: ignore[arg-type]
                             families=output.families, rules=rules)
        finished.close(store, job)
    return 1
