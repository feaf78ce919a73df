"""Augmenting thin cells (`curator augment`, the dashboard's A): targeted generation jobs, which then
run, pass the gates and wait in triage like every other candidate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from curator.augment import AugmentLine, plan_augmentation
from curator.config import Settings
from curator.coverage import CoverageMap, recount
from curator.store import Store

__all__ = ["AugmentLine", "AugmentReport", "augment"]


@dataclass
class AugmentReport:
    lines: list[AugmentLine]
    dry_run: bool = False

    @property
    def queued(self) -> int:
        return sum(line.added for line in self.lines)

    def summary(self) -> str:
        return f"{self.queued} jobs {'would be ' if self.dry_run else ''}queued for {len(self.lines)} thin cells"


def augment(store: Store, cmap: CoverageMap, families: dict[str, Any], settings: Settings, *,
            max_jobs_per_cell: int = 20, dry_run: bool = False) -> AugmentReport:
    """Queue jobs for every thin cell (counted afresh): enough to reach its target, at most
    `max_jobs_per_cell` each; with `dry_run`, only say what would be queued."""
    lines = plan_augmentation(store, families, settings, cmap, recount(store, cmap),
                              max_jobs_per_cell=max_jobs_per_cell, dry_run=dry_run)
    return AugmentReport(lines, dry_run)
