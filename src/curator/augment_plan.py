"""Augmenting thin cells: targeted generation jobs for a cell's family and dimension value.

There is no side door: the new candidates come from the same job machinery and pass the same gates
and triage as everything else. Planning writes nothing; queueing stores exactly the planned jobs, so
a dry run counts what the real run queues.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil
from typing import Any

from curator.config import Settings
from curator.target_mix import Cell, CoverageMap
from curator.jobs.plan import FewShot, plan_generation
from curator.models import Job
from curator.store import Store

TARGETABLE = ("task_type", "difficulty", "topic")


@dataclass
class AugmentLine:
    cell: Cell
    jobs: int  # jobs this cell's plan holds (queued before or new)
    added: int  # of them, new: not queued yet
    note: str = ""
    new_jobs: list[Job] = field(default_factory=list, repr=False)


def plan_augmentation(store: Store, families: dict[str, Any], settings: Settings, cmap: CoverageMap,
                      counts, *, max_jobs_per_cell: int = 20, fewshot: FewShot | None = None) -> list[AugmentLine]:
    """The targeted jobs for every thin cell (enough to reach its target, at most max_jobs_per_cell),
    with those not queued yet; writes nothing."""
    fewshot = fewshot or FewShot.load(store)
    lines: list[AugmentLine] = []
    planned: set[str] = set()  # a job two cells would plan is counted once
    for cell in cmap.thin(counts):
        fam = families.get(cell.family)
        if fam is None:
            lines.append(AugmentLine(cell, 0, 0, "add polish seeds" if cell.family == "polish"
                                     else "no such family file"))
            continue
        if cell.dimension not in TARGETABLE and cell.dimension != "family":
            lines.append(AugmentLine(cell, 0, 0, f"{cell.dimension} cannot be targeted by a prompt"))
            continue
        missing = cell.target - cell.count
        jobs = min(max_jobs_per_cell, max(1, ceil(missing / max(1, fam.items_per_request))))
        overrides = {cell.dimension: cell.value} if cell.dimension != "family" else {}
        lines.append(_targeted(store, fam, settings, cell, jobs, overrides, fewshot, planned))
    return lines


def _targeted(store: Store, fam: Any, settings: Settings, cell: Cell, jobs: int, overrides: dict[str, str],
              fewshot: FewShot, planned: set[str]) -> AugmentLine:
    """A cell's line: `jobs` jobs of its family with `overrides`, those not stored nor planned for
    another cell yet being new (`planned` grows by them)."""
    plan = plan_generation(store, fam, settings, limit=jobs, overrides=overrides, dry_run=True, fewshot=fewshot)
    stored = store.stored_job_keys([j.idem_key for j in plan.jobs])
    new = [j for j in plan.jobs if j.idem_key not in stored and j.idem_key not in planned]
    planned.update(j.idem_key for j in new)
    return AugmentLine(cell, len(plan.jobs), len(new), new_jobs=new)


def queue_augmentation(store: Store, lines: list[AugmentLine]) -> int:
    """Store the planned new jobs (in short batches); returns how many were added."""
    return store.add_jobs([job for line in lines for job in line.new_jobs])


def plan_from_failures(store: Store, families: dict[str, Any], settings: Settings,
                       failures: dict[tuple[str, str], int], *, jobs_per_failure: int = 2, max_jobs_per_cell: int = 20,
                       run: int | None = None, fewshot: FewShot | None = None) -> list[AugmentLine]:
    """Targeted jobs for the cells where the student failed its eval items, in proportion: each failed
    item of a cell ("task_type/difficulty") asks for `jobs_per_failure` jobs (at most
    `max_jobs_per_cell`); the jobs carry the eval run that steered them. Writes nothing."""
    fewshot = fewshot or FewShot.load(store)
    lines: list[AugmentLine] = []
    planned: set[str] = set()
    for (family, cell_name), failed in sorted(failures.items(), key=lambda kv: (-kv[1], kv[0])):
        cell = Cell(family, "eval", cell_name, failed)
        fam = families.get(family)
        if fam is None:
            lines.append(AugmentLine(cell, 0, 0, "no such family file"))
            continue
        task_type, _, difficulty = cell_name.partition("/")
        overrides = {k: v for k, v in (("task_type", task_type), ("difficulty", difficulty)) if v and v != "-"}
        if run is not None:
            overrides["eval_run"] = str(run)
        jobs = min(max_jobs_per_cell, max(1, failed * jobs_per_failure))
        lines.append(_targeted(store, fam, settings, cell, jobs, overrides, fewshot, planned))
    return lines
