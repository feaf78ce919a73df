"""Coverage of the target mix (`curator coverage`, the dashboard): accepted examples per cell."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curator.config import Settings
from curator.coverage import Cell, CoverageError, CoverageMap, recount, table
from curator.store import Store

__all__ = ["CoverageError", "CoverageReport", "coverage", "coverage_map"]


def coverage_map(settings: Settings, families: dict[str, Any]) -> CoverageMap:
    """The coverage map of the project (prompts/coverage.toml); CoverageError names a bad setting."""
    return CoverageMap.load(Path(settings.prompts_path()) / "coverage.toml", families)


@dataclass
class CoverageReport:
    cmap: CoverageMap
    cells: list[Cell]
    thin: list[Cell]

    def lines(self, *, only_thin: bool = False) -> list[str]:
        return table(self.cells, self.cmap.thin_share, only_thin=only_thin)

    def summary(self) -> str:
        return f"{len(self.thin)} thin cells (below {self.cmap.thin_share:.0%} of their target)"


def coverage(store: Store, cmap: CoverageMap) -> CoverageReport:
    """Every cell with its count (one grouped recount) and the thin ones."""
    counts = recount(store, cmap)
    return CoverageReport(cmap, cmap.cells(counts), cmap.thin(counts))
