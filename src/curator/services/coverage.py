"""Coverage of the target mix (`curator coverage`, the dashboard): per cell, the accepted examples
export would take; and why candidates were rejected (reason codes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curator.config import Settings
from curator.target_mix import Cell, CoverageError, CoverageMap, LiveCoverage, bar, recount, table
from curator.store import Store

__all__ = ["CoverageError", "CoverageReport", "bar", "coverage", "coverage_map", "live_coverage"]


def coverage_map(settings: Settings, families: dict[str, Any]) -> CoverageMap:
    """The coverage map of the project (prompts/coverage.toml); CoverageError names a bad setting."""
    return CoverageMap.load(Path(settings.prompts_path()) / "coverage.toml", families)


@dataclass
class CoverageReport:
    cmap: CoverageMap
    cells: list[Cell]
    thin: list[Cell]
    reject_reasons: dict[str, int] = field(default_factory=dict)  # reason code -> rejected examples

    def lines(self, *, only_thin: bool = False) -> list[str]:
        lines = table(self.cells, self.cmap.thin_share, only_thin=only_thin)
        if self.reject_reasons and not only_thin:
            lines += ["", "rejected: " + ", ".join(f"{reason or '(no reason)'} {n}"
                                                   for reason, n in self.reject_reasons.items())]
        return lines

    def summary(self) -> str:
        return f"{len(self.thin)} thin cells (below {self.cmap.thin_share:.0%} of their target)"


def live_coverage(store: Store, cmap: CoverageMap) -> LiveCoverage:
    """Coverage counted once, then kept current one decision at a time (the app's dashboard)."""
    return LiveCoverage(store, cmap)


def coverage(store: Store, cmap: CoverageMap) -> CoverageReport:
    """Every cell with its count (one grouped recount) and the thin ones, and the reject reasons."""
    counts = recount(store, cmap)
    return CoverageReport(cmap, cmap.cells(counts), cmap.thin(counts), store.reject_reason_counts())
