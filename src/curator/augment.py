"""Augmenting thin cells: targeted generation jobs for a cell's family and dimension value.

There is no side door: the new candidates come from the same job machinery and pass the same gates
and triage as everything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil
from typing import Any

from curator.config import Settings
from curator.coverage import Cell, CoverageMap
from curator.store import Store
from curator.jobs.plan import plan_generation

TARGETABLE = ("task_type", "difficulty", "topic")


@dataclass
class AugmentLine:
    cell: Cell
    jobs: int
    added: int
    note: str = ""


def plan_augmentation(store: Store, families: dict[str, Any], settings: Settings, cmap: CoverageMap,
                      counts, *, max_jobs_per_cell: int = 20, dry_run: bool = False) -> list[AugmentLine]:
    """Queue targeted jobs for every thin cell (enough to reach its target, at most max_jobs_per_cell)."""
    lines = []
    for cell in cmap.thin(counts):
        fam = families.get(cell.family)
        if fam is None:
            lines.append(AugmentLine(cell, 0, 0, "hand-written: add seeds with this role" if cell.family == "polish"
                                     else "no such family file"))
            continue
        if cell.dimension not in TARGETABLE and cell.dimension != "family":
            lines.append(AugmentLine(cell, 0, 0, f"{cell.dimension} cannot be targeted by a prompt"))
            continue
        missing = cell.target - cell.count
        jobs = min(max_jobs_per_cell, max(1, ceil(missing / max(1, fam.items_per_request))))
        overrides = {cell.dimension: cell.value} if cell.dimension != "family" else {}
        plan = plan_generation(store, fam, settings, limit=jobs, overrides=overrides, dry_run=dry_run)
        lines.append(AugmentLine(cell, len(plan.jobs), plan.added))
    return lines
