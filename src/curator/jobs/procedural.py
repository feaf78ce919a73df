"""Procedural jobs: candidates written exactly as the teacher's, with source_type=procedural.

They run through the same jobs table (kind `procedural`), idempotency keys and commit path, so a
curator without an API key can use the whole pipeline end to end.
"""

from __future__ import annotations

import hashlib
from typing import Any

from curator.config import Settings
from curator.families import Family
from curator.families.schemas import SCHEMAS
from curator.generators import math as math_gen
from curator.generators import tools as tools_gen
from curator.jobs.take import take_jobs
from curator.jobs.results import Finished, LeaseLost, candidates_from, store_candidates
from curator.jobs.runner import Progress, RunReport
from curator.progress import NEVER, Cancel
from curator.store import Store
from curator.store.base import lease_owner
from curator.teacher.client import Usage

SUPPORTED = {"MathBatch": math_gen.VERSION, "ToolBatch": tools_gen.VERSION}


def _seed(idem: str, index: int) -> int:
    return int(hashlib.sha256(f"{idem}:{index}".encode()).hexdigest()[:12], 16)


def _items(family: Family, params: dict[str, Any], idem: str) -> list[dict[str, Any]]:
    items = []
    for i in range(params.get("n", family.items_per_request)):
        seed = _seed(idem, i)
        if family.schema == "MathBatch":
            task = params.get("task_type")
            item = math_gen.generate(seed, task if task in math_gen.GENERATORS else None,
                                     params.get("difficulty") if params.get("difficulty") in math_gen.BANDS else None).item()
        else:
            task = params.get("task_type")
            task = task if task in tools_gen.TASK_TYPES else "tool_needed"
            tool = params.get("topic") if params.get("topic") in tools_gen.TOOLS else None
            item = tools_gen.generate(seed, task, tool)
        items.append(item)
    return items


def require_procedural(family: Family) -> None:
    """ValueError for a family without a built-in generator."""
    if family.schema not in SUPPORTED:
        raise ValueError(f"family {family.name!r} has no procedural generator (only {', '.join(SUPPORTED)} schemas)")


def run_procedural(store: Store, family: Family, settings: Settings, *, limit: int, progress: Progress | None = None,
                   cancel: Cancel = NEVER) -> RunReport:
    """Take this run's `limit` procedural jobs of a math or tool family (those queued before, then new
    ones: a count to add, not a total) and run them (leased like any job)."""
    require_procedural(family)
    report = RunReport()
    owner = lease_owner()
    max_attempts = settings.teacher.max_job_attempts
    taken = take_jobs(store, family, settings, limit=limit, kind="procedural")
    taken.merge_recovery(report)
    report.taken = taken.summary()
    model = f"procedural:{SUPPORTED[family.schema]}"
    todo = taken.ids
    for done, job_id in enumerate(todo, start=1):
        if cancel.is_set():
            break
        attempt = store.claim_job(job_id, owner, max_attempts=max_attempts)
        if attempt is None:
            continue
        job = store.job(job_id)
        items = _items(family, job.params, job.idem_key)
        output = SCHEMAS[family.schema].model_validate({"items": items})
        examples = candidates_from(family, job, output, model, Usage(), None, source_type="procedural")
        for example, item in zip(examples, items):
            example.metadata["params"] = item.get("params", {})
            example.metadata["verified"] = True
        try:
            report.candidates += store_candidates(store, job, examples, Finished(model, "", Usage(), 0.0, owner, attempt))
        except LeaseLost as exc:
            report.errors.append(str(exc))
            continue
        report.done += 1
        if progress:
            progress(done, len(todo))
    report.failed_total = store.count_jobs(state="failed", kind="procedural", family=family.name)
    return report
