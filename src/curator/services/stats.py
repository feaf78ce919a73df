"""Pipeline counts: what `curator stats` prints and the dashboard shows (the same function)."""

from __future__ import annotations

from dataclasses import dataclass

from curator.store import Store


@dataclass
class StatsReport:
    sections: dict[str, dict[str, int]]
    cost_usd: float

    @property
    def empty(self) -> bool:
        tables = self.sections.get("tables", {})
        return not tables.get("passages") and not tables.get("examples")


def stats(store: Store) -> StatsReport:
    """Counts per table, passage quality/tag/family, example kind, seed role, candidate state and
    gate status, accepted per family, and the money spent on the teacher so far."""
    return StatsReport(store.pipeline_counts(), store.spent_usd())
