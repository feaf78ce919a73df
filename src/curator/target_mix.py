"""Coverage: the target mix (prompts/coverage.toml) as cells, and live counts of accepted examples.

A cell is a family as a whole, or one value of one of its dimensions (task type, difficulty, topic,
source type, or a custom metadata key). Coverage counts accepted candidates and revisions and the
trainable seeds, current versions only (a superseded row never counts), and only what export would
take: a row a contamination or duplicate gate fails (`policy.EXCLUDING_GATES`) never counts. Counts update per decision
(`LiveCoverage.sync`) without recounting everything; `recount` does it from scratch with one
grouped query.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass, field
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from curator.display.cell import cut
from curator.errors import CuratorError
from curator.policy import EXCLUDING_GATES
from curator.store import Store

CellKey = tuple[str, str, str]  # (family, dimension, value); the family total is (family, "family", family)
_COLUMN_DIMENSIONS = ("task_type", "difficulty", "topic", "source_type")  # (the others are metadata keys)


class CoverageError(CuratorError):
    """The coverage file is invalid; the message names the file and the setting."""


@dataclass
class Cell:
    family: str
    dimension: str
    value: str
    target: int
    count: int = 0

    @property
    def key(self) -> CellKey:
        return (self.family, self.dimension, self.value)

    @property
    def share(self) -> float:
        return self.count / self.target if self.target else 1.0

    def state(self, thin_share: float) -> str:
        """full, THIN (under `thin_share` of its target), ok, or no target (never full nor thin)."""
        if not self.target:
            return "no target"
        return "full" if self.count >= self.target else "THIN" if self.share < thin_share else "ok"


@dataclass
class CoverageMap:
    targets: dict[CellKey, int]
    dimensions: list[str]
    custom_keys: list[str] = field(default_factory=list)
    thin_share: float = 0.5

    @classmethod
    def load(cls, path: Path, families: dict[str, Any] | None = None) -> "CoverageMap":
        """Read the coverage file; dimension values default to those in the family prompt files."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise CoverageError(f"{path}: no coverage file") from exc
        except tomllib.TOMLDecodeError as exc:
            raise CoverageError(f"{path}: {exc}") from exc
        fam_targets = data.get("families", {})
        if not isinstance(fam_targets, dict) or not all(isinstance(v, int) and v >= 0 for v in fam_targets.values()):
            raise CoverageError(f"{path}: [families] must map family names to whole-number targets")
        dimensions = list(data.get("dimensions", ["task_type", "difficulty"]))
        custom = list(data.get("custom_keys", []))
        shares = data.get("shares", {})
        targets: dict[CellKey, int] = {}
        for family, total in fam_targets.items():
            targets[(family, "family", family)] = total
            fam = (families or {}).get(family)
            for dim in dimensions + custom:
                family_shares = (shares.get(family, {}) or {}).get(dim) or shares.get(dim) or {}
                values = list(family_shares) if family_shares else list((getattr(fam, "dimensions", {}) or {}).get(dim, ()))
                if not values:
                    continue
                for value in values:
                    share = family_shares.get(value, 1 / len(values)) if family_shares else 1 / len(values)
                    # a positive share never rounds down to a cap of zero
                    targets[(family, dim, value)] = max(1, round(total * share)) if share > 0 and total else 0
        return cls(targets=targets, dimensions=dimensions, custom_keys=custom,
                   thin_share=float(data.get("thin_share", 0.5)))

    def cells(self, counts: Counter) -> list[Cell]:
        keys = list(self.targets) + sorted(k for k in counts if k not in self.targets)
        return [Cell(*k, target=self.targets.get(k, 0), count=counts.get(k, 0)) for k in keys]

    def thin(self, counts: Counter) -> list[Cell]:
        return [c for c in self.cells(counts) if c.target and c.share < self.thin_share]

    def remembered_keys(self) -> Callable[[Mapping[str, Any]], list[CellKey]]:
        """`keys_of` for many rows (an export asks 100k times): remembered by the fields it reads, when no
        dimension is in the metadata. The lists it gives are shared: never change one."""
        if self.custom_keys or any(d not in _COLUMN_DIMENSIONS for d in self.dimensions):
            return self.keys_of
        fields = ("kind", "role", "family", *self.dimensions)
        memo: dict[tuple, list[CellKey]] = {}

        def keys(row: Mapping[str, Any]) -> list[CellKey]:
            signature = tuple([row.get(f) for f in fields])
            found = memo.get(signature)
            if found is None:
                found = self.keys_of(row)
                # (only text and None: 1, 1.0 and True are equal keys of a dict, but not the same cell)
                if all(v is None or type(v) is str for v in signature):
                    memo[signature] = found
            return found
        return keys

    def keys_of(self, row: Mapping[str, Any]) -> list[CellKey]:
        """The cells one counted example falls in."""
        family = "polish" if row.get("kind") == "seed" and row.get("role") == "polish" else row["family"]
        keys = [(family, "family", family)]
        metadata = row.get("metadata") or {}
        for dim in self.dimensions:
            value = row.get(dim) if dim in _COLUMN_DIMENSIONS else metadata.get(dim)
            if value is not None:
                keys.append((family, dim, str(value)))
        for key in self.custom_keys:
            if metadata.get(key) is not None:
                keys.append((family, key, str(metadata[key])))
        return keys


def recount(store: Store, cmap: CoverageMap) -> Counter:
    """Counts of every cell from scratch (grouped in SQL, then spread over cells; row by row only
    when a dimension lives in the metadata)."""
    counts: Counter = Counter()
    needs_metadata = any(d not in ("task_type", "difficulty", "topic", "source_type") for d in cmap.dimensions) \
        or cmap.custom_keys
    if needs_metadata:
        for row in store.counted_rows():
            counts.update(cmap.keys_of(row))
    else:
        for row, n in store.counted_groups():
            for key in cmap.keys_of(row):
                counts[key] += n
    for row in store.counted_failing_rows(EXCLUDING_GATES):  # export drops these: never counted
        counts.subtract(cmap.keys_of(row))
    return +counts


class LiveCoverage:
    """Counts kept current decision by decision."""

    def __init__(self, store: Store, cmap: CoverageMap) -> None:
        self.cmap = cmap
        self.counts = recount(store, cmap)
        self.members = store.counted_ids() - {r["id"] for r in store.counted_failing_rows(EXCLUDING_GATES)}

    def sync(self, store: Store, example_id: int) -> int:
        """After a decision on one example: +1 or -1 if it entered or left the counted set, else 0."""
        row = store.counted_row(example_id)
        if row is not None and store.failing_gates([example_id], EXCLUDING_GATES):
            row = None  # export would drop it
        if (row is not None) == (example_id in self.members):
            return 0
        if row is not None:
            delta = 1
            self.members.add(example_id)
        else:
            delta = -1
            self.members.discard(example_id)
            row = store.coverage_fields(example_id)
        for key in self.cmap.keys_of(row):
            self.counts[key] += delta
        return delta

    def cells(self) -> list[Cell]:
        return self.cmap.cells(self.counts)

    def thin(self) -> list[Cell]:
        return self.cmap.thin(self.counts)


def bar(share: float, width: int = 20) -> str:
    """A text bar readable without colour: filled blocks, a light remainder, and an end mark at 100%."""
    filled = min(width, round(width * min(share, 1.0)))
    return "█" * filled + "░" * (width - filled) + ("▶" if share > 1 else "│")


def table(cells: list[Cell], thin_share: float, *, only_thin: bool = False) -> list[str]:
    """One line per cell, each within 80 columns (a longer family or value is cut)."""
    lines = [f"{'family':<14} {'dimension':<10} {'value':<18} {'count':>5} {'target':>6}  {'':11} state"]
    for c in cells:
        if only_thin and not (c.target and c.share < thin_share):
            continue
        lines.append(f"{cut(c.family, 14):<14} {c.dimension:<10} {cut(c.value, 18):<18} {c.count:>5} {c.target:>6}  "
                     f"{bar(c.share if c.target else 0, 10)} {c.state(thin_share)}")
    return lines
