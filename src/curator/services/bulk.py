"""Bulk decisions: accept, reject (with a reason) or flag every candidate a filter selects.

A bulk is planned whole first (which ids it decides, and what it skips: a candidate a gate fails is
never bulk-accepted; one already in the state asked for is left alone), then committed in parts of
`PART` decisions, each part one short transaction. A bulk cut short (a kill, a crash, a cancel) keeps
the parts it committed and names itself as unfinished: `resume` decides the rest, `undo` takes the
whole bulk back (also in short parts, and resumable the same way).
"""

from __future__ import annotations

from dataclasses import dataclass

from curator.progress import NEVER, Cancel, Progress
from curator.services.triage import Filters, TriageError, queue_ids, reason_code
from curator.store import Store
from curator.store.bulks import Bulk
from curator.store.decisions import STATE_OF

ACTIONS = ("accept", "reject", "flag")
PART = 500  # decisions a transaction (10,000 decisions: 20 transactions of a few ms each)


@dataclass(frozen=True)
class BulkPlan:
    """What a bulk would do: the ids it decides and, per reason, how many of the filter's it skips."""

    action: str
    reason: str | None
    filters: Filters
    queue: str
    ids: list[int]
    skipped: dict[str, int]

    @property
    def selected(self) -> int:
        return len(self.ids) + sum(self.skipped.values())

    def question(self) -> str:
        """The confirmation: the count, what it does and what it skips."""
        what = f"{self.action} {len(self.ids):,} candidate{'s' if len(self.ids) != 1 else ''}"
        if self.reason:
            what += f" (reason {self.reason})"
        filt = self.filters.text() or "no filter"
        skips = "; ".join(f"{n:,} {why}" for why, n in self.skipped.items())
        return (what[0].upper() + what[1:] + f" — {filt}, queue {self.queue}"
                + (f". Skipped: {skips}" if skips else "") + ".")


def plan(store: Store, action: str, filters: Filters = Filters(), *, queue: str = "pending",
         reason: str | None = None) -> BulkPlan:
    """The bulk `action` over the candidates of `queue` the filter selects (nothing is written)."""
    if action not in ACTIONS:
        raise TriageError(f"a bulk decision is one of {', '.join(ACTIONS)} (not {action!r})")
    if reason is not None:
        reason = reason_code(reason)
    if reason is not None and action != "reject":
        raise TriageError("a reason goes with reject")
    ids = queue_ids(store, queue, filters)
    skipped: dict[str, int] = {}
    if ids and action in STATE_OF:
        states = store.states_of(ids)
        same = {i for i, (state, _) in states.items() if state == STATE_OF[action]}
        failed = {i for i, (_, status) in states.items() if status == "fail"} - same if action == "accept" else set()
        if same:
            skipped[f"already {STATE_OF[action]}"] = len(same)
        if failed:
            skipped["failed by a gate (never bulk-accepted)"] = len(failed)
        ids = [i for i in ids if i not in same and i not in failed]
    return BulkPlan(action, reason, filters, queue, ids, skipped)


def start(store: Store, bulk_plan: BulkPlan) -> int:
    """Record the plan; returns the bulk's id (nothing is decided yet: `resume` decides)."""
    if not bulk_plan.ids:
        raise TriageError("the filter selects nothing to decide")
    filt = bulk_plan.filters.text()
    return store.add_bulk(bulk_plan.action, bulk_plan.reason, (f"queue={bulk_plan.queue} " + filt).strip(),
                          bulk_plan.ids, bulk_plan.skipped)


def resume(store: Store, bulk_id: int, *, progress: Progress | None = None, cancel: Cancel = NEVER) -> Bulk:
    """Decide what is left of a bulk, `PART` ids a transaction; a candidate that is no longer decidable
    (a revision replaced it) is passed over. Returns the bulk as it stands (finished unless cancelled)."""
    bulk = _known(store, bulk_id)
    if bulk.undone_at is not None:
        raise TriageError(f"bulk #{bulk_id} was undone")
    remaining = store.bulk_remaining(bulk_id)
    done = bulk.planned - len(remaining)
    state = STATE_OF.get(bulk.action)
    for start_at in range(0, len(remaining), PART):
        if cancel.is_set():
            return _known(store, bulk_id)
        part = remaining[start_at:start_at + PART]
        with store.transaction():
            decidable = store.decidable_ids(part)
            store.add_bulk_decisions(bulk_id, bulk.action, bulk.reason, [i for i in part if i in decidable], state)
        done += len(part)
        if progress:
            progress(done, bulk.planned)
    store.finish_bulk(bulk_id)
    return _known(store, bulk_id)


def run(store: Store, bulk_plan: BulkPlan, *, progress: Progress | None = None, cancel: Cancel = NEVER) -> Bulk:
    """Record a plan and decide it whole (see `resume`)."""
    return resume(store, start(store, bulk_plan), progress=progress, cancel=cancel)


def undo(store: Store, bulk_id: int, *, progress: Progress | None = None, cancel: Cancel = NEVER) -> Bulk:
    """Take a bulk back: an undo for each of its decisions still standing, `PART` a transaction, each
    candidate's state following its log. Run again after a cut, it undoes the rest."""
    bulk = _known(store, bulk_id)
    undone = 0
    while part := store.bulk_undoable(bulk_id, PART):
        if cancel.is_set():
            return _known(store, bulk_id)
        with store.transaction():
            store.undo_bulk_part(bulk_id, part)
        undone += len(part)
        if progress:
            progress(undone, bulk.done)
    store.mark_bulk_undone(bulk_id)
    return _known(store, bulk_id)


def unfinished(store: Store) -> list[Bulk]:
    """Bulks cut short: resume or undo them."""
    return store.unfinished_bulks()


def recent(store: Store, limit: int = 20) -> list[Bulk]:
    return store.bulks(limit)


def describe(bulk: Bulk) -> str:
    """One line: `bulk #3 reject (off_topic) 4,500 of 10,000 · family=qa · stopped`."""
    what = bulk.action + (f" ({bulk.reason})" if bulk.reason else "")
    status = ("undone" if bulk.undone_at else "done" if bulk.finished_at
              else "stopped: resume or undo it")
    return f"bulk #{bulk.id} {what} {bulk.done:,} of {bulk.planned:,} · {bulk.filter} · {status}"


def _known(store: Store, bulk_id: int) -> Bulk:
    bulk = store.bulk(bulk_id)
    if bulk is None:
        raise TriageError(f"no bulk #{bulk_id}")
    return bulk
