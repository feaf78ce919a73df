"""Augmenting thin cells (`curator augment`, the dashboard's A): targeted generation jobs, which then
run, pass the gates and wait in triage like every other candidate. One plan serves the dry run, the
confirmation (job count and worst-case cost) and the real run, so they agree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from curator.augment_plan import AugmentLine, plan_augmentation, plan_from_failures, queue_augmentation
from curator.config import Settings
from curator.target_mix import CoverageMap, recount
from curator.jobs.plan import FewShot
from curator.services.generate import request_cost
from curator.store import Store
from curator.display.wording import counted, dollars

__all__ = ["AugmentLine", "AugmentPlan", "AugmentReport", "augment", "plan", "plan_from_eval", "queue"]


@dataclass
class AugmentPlan:
    lines: list[AugmentLine]
    cost_usd: float  # every new job sent once, each answer at max_tokens
    max_attempts: int

    @property
    def jobs(self) -> int:
        """New jobs the real run queues."""
        return sum(line.added for line in self.lines)

    @property
    def worst_cost_usd(self) -> float:
        """Every new job on every attempt it may get."""
        return self.cost_usd * self.max_attempts

    @property
    def cells(self) -> str:
        """The cells it plans for, counted: failing cells (`--from-eval`) or thin ones."""
        kind = "failing cell" if any(line.cell.dimension == "eval" for line in self.lines) else "thin cell"
        return counted(len(self.lines), kind)

    def summary(self) -> str:
        return (f"{counted(self.jobs, 'job')} for {self.cells}; worst case {dollars(self.worst_cost_usd)} "
                f"({dollars(self.cost_usd)} if each is sent once, up to {self.max_attempts} attempts each)")


@dataclass
class AugmentReport:
    plan: AugmentPlan
    queued: int  # jobs stored by this run (0 for a dry run)
    dry_run: bool = False

    @property
    def lines(self) -> list[AugmentLine]:
        return self.plan.lines

    def summary(self) -> str:
        if self.dry_run:
            return f"dry run: {counted(self.plan.jobs, 'job')} would be queued for {self.plan.cells}; " \
                   f"worst case {dollars(self.plan.worst_cost_usd)}; nothing was stored"
        return (f"{counted(self.queued, 'job')} queued for {self.plan.cells}; "
                f"worst case {dollars(self.plan.worst_cost_usd)}")


def plan(store: Store, cmap: CoverageMap, families: dict[str, Any], settings: Settings, *,
         max_jobs_per_cell: int = 20) -> AugmentPlan:
    """The jobs every thin cell (counted afresh) needs, at most `max_jobs_per_cell` each, and their
    cost; writes nothing."""
    fewshot = FewShot.load(store)
    lines = plan_augmentation(store, families, settings, cmap, recount(store, cmap),
                              max_jobs_per_cell=max_jobs_per_cell, fewshot=fewshot)
    cost = sum(request_cost(store, families[line.cell.family], line.new_jobs, settings, fewshot=fewshot)[2]
               for line in lines if line.new_jobs)
    return AugmentPlan(lines, cost, settings.teacher.max_job_attempts)


def plan_from_eval(store: Store, families: dict[str, Any], settings: Settings, *, run: int | None = None,
                   jobs_per_failure: int = 2, max_jobs_per_cell: int = 20) -> AugmentPlan:
    """The jobs for the cells where the student failed in eval run `run` (the latest by default), in
    proportion to its failures there, and their cost; writes nothing. A run's judge-pending items are
    not failures."""
    from curator.services.evaluation import scorecard

    card = scorecard(store, run)
    fewshot = FewShot.load(store)
    lines = plan_from_failures(store, families, settings, card.failing(), jobs_per_failure=jobs_per_failure,
                               max_jobs_per_cell=max_jobs_per_cell, run=card.run, fewshot=fewshot)
    cost = sum(request_cost(store, families[line.cell.family], line.new_jobs, settings, fewshot=fewshot)[2]
               for line in lines if line.new_jobs)
    return AugmentPlan(lines, cost, settings.teacher.max_job_attempts)


def queue(store: Store, planned: AugmentPlan) -> AugmentReport:
    """Queue exactly the planned new jobs (a job queued meanwhile elsewhere is not added twice)."""
    return AugmentReport(planned, queue_augmentation(store, planned.lines))


def augment(store: Store, cmap: CoverageMap, families: dict[str, Any], settings: Settings, *,
            max_jobs_per_cell: int = 20, dry_run: bool = False) -> AugmentReport:
    """Plan, then queue the plan (with `dry_run`, only say what would be queued)."""
    planned = plan(store, cmap, families, settings, max_jobs_per_cell=max_jobs_per_cell)
    return AugmentReport(planned, 0, dry_run=True) if dry_run else queue(store, planned)
