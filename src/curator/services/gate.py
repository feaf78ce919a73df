"""Running the gates (`curator gate`, the jobs screen's G): rule gates on what is pending, then
dedup and decontamination over everything, then each candidate's status."""

from __future__ import annotations

from typing import Any

from curator.gates.decontam import DecontamSettings
from curator.gates.dedup import DedupSettings
from curator.gates.runner import GateReport, run_per_example, run_set_level, update_status
from curator.progress import NEVER, Cancel, Progress
from curator.store import Store

__all__ = ["GateReport", "pending_count", "run_gates"]


def pending_count(store: Store) -> int:
    """Active candidates the rule gates have not seen yet."""
    return store.count_ungated()


def run_gates(store: Store, families: dict[str, Any], *, progress: Progress | None = None, cancel: Cancel = NEVER,
              dedup_settings: DedupSettings = DedupSettings(),
              decontam_settings: DecontamSettings = DecontamSettings()) -> GateReport:
    """Everything `curator gate` does, in order, in short transactions. With `cancel` set it pauses
    between batches (what was gated is kept; the next run continues); the set-level gates run only
    once every pending candidate has its rule verdicts."""
    report = GateReport()
    if not run_per_example(store, families, report, progress, cancel):
        report.paused = True
    elif not run_set_level(store, report, families, dedup_settings=dedup_settings,
                           decontam_settings=decontam_settings, cancel=cancel):
        report.paused = True
    update_status(store)
    return report
