"""The jobs one generation run takes on: `--limit N` is a count for this run, in every mode.

A run takes the family's jobs already queued first (those a stopped or paused run left, or `A` and the
Passages screen queued), oldest first, then plans new ones to make up N: a count to add, never a
total. So `--limit 1` never sends five jobs, running the same command twice makes twice the work, and
running it again after a kill resumes what the kill left before adding anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from curator.config import Settings
from curator.evalguard import Collision
from curator.families import Family
from curator.jobs.plan import FewShot, plan_generation
from curator.jobs.runner import RunReport
from curator.models import Job
from curator.store import Store
from curator.store.jobs import Recovered
from curator.display.wording import counted


@dataclass
class Taken:
    """This run's jobs: `queued` (ids of those queued before it) then `new` (ids of those it planned).
    A dry run stores nothing: its `planned` holds the jobs (the queued ones, then the new, unsaved)."""

    family: str
    limit: int
    queued: list[int] = field(default_factory=list)
    new: list[int] = field(default_factory=list)
    planned: list[Job] = field(default_factory=list)
    collisions: list[Collision] = field(default_factory=list)
    resume: bool = False  # queued jobs only, nothing new
    recovered: Recovered = field(default_factory=lambda: Recovered(0))  # jobs of stopped runners taken back first

    def merge_recovery(self, report: RunReport) -> None:
        """Count the jobs this run took back from stopped runners (and those that failed then) in its report."""
        total = Recovered(int(report.recovered) + int(self.recovered))
        total.failed = getattr(report.recovered, "failed", 0) + self.recovered.failed
        report.recovered = total
        report.failed += self.recovered.failed

    @property
    def ids(self) -> list[int]:
        return self.queued + self.new

    def summary(self) -> str:
        count = len(self.queued) + len(self.new)
        text = f"this run: {counted(count, 'job')} ({len(self.queued)} queued before, {len(self.new)} new)"
        if self.resume:
            text += "; --resume: nothing new is planned"
        elif count < self.limit:
            text += f"; only {count} of --limit {self.limit}: {self.family} has nothing more to plan"
        return "\n".join([text, *(f"  {c.describe()}" for c in self.collisions)])


def take_jobs(store: Store, family: Family, settings: Settings, *, limit: int | None, per_passage: int = 1,
              kind: str = "generate", dry_run: bool = False, fewshot: FewShot | None = None,
              resume: bool = False) -> Taken:
    """The family's queued jobs (up to `limit`), then new jobs planned to make up `limit` (stored,
    unless `dry_run`); with `resume`, the queued ones only (all of them without a limit). A job
    another process plans at the same moment is not taken twice: only the jobs this call stored are
    its new ones, and it plans further until it has enough or the family has no more slots."""
    if not dry_run:  # the jobs of a stopped runner are queued again first: this run resumes them
        recovered = store.recover_jobs(max_attempts=settings.teacher.max_job_attempts,
                                       max_lost=settings.teacher.max_lost_leases)
    fewshot = fewshot or FewShot.load(store)
    queued = store.queued_job_ids(kind=kind, family=family.name, limit=limit)  # (oldest first)
    taken = Taken(family.name, len(queued) if limit is None else limit, queued=queued, resume=resume)
    if dry_run:
        found = store.jobs_by_id(queued)
        taken.planned = [found[i] for i in queued]
    else:
        taken.recovered = recovered
    want = 0 if resume else taken.limit - len(taken.queued)
    window = store.count_jobs(kind=kind, family=family.name) + want  # the first slots hold every stored job
    while want > 0:
        plan = plan_generation(store, family, settings, limit=window, per_passage=per_passage, kind=kind,
                               dry_run=True, fewshot=fewshot)
        taken.collisions = plan.collisions
        stored = store.stored_job_keys([j.idem_key for j in plan.jobs])
        fresh = [j for j in plan.jobs if j.idem_key not in stored][:want]
        if dry_run:
            taken.planned += fresh
            break
        ids = store.add_new_jobs(fresh)
        taken.new += ids
        want -= len(ids)
        if len(plan.jobs) < window:
            break  # the family has no more slots (passages × per_passage)
        window += want
    if not taken.collisions:
        taken.collisions = fewshot.collisions_of(family.name)
    return taken
