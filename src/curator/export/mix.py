"""Choosing the training mix from accepted examples, deterministically for a given seed.

At most one example per lineage (an original and its revision never both: the newest accepted
wins, and a row replaced by a revision or a newer seed version never goes). Prefers hand-written
examples, then higher judge scores; respects each cell's target as a cap; never includes a
contaminated candidate, a duplicate, or a private eval item.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from curator.gates.evidence import SET_LEVEL
from curator.policy import EXCLUDING_GATES, exclusion_reason
from curator.store import Store

if TYPE_CHECKING:
    from curator.target_mix import CoverageMap


@dataclass
class Row:
    """One example as the export sees it (plain data: no per-row model validation on the hot path)."""

    data: dict[str, Any]
    verdicts: dict[str, dict] = field(default_factory=dict)  # (a verdict may be one dict shared by rows: never changed)
    verdict_ids: tuple[int, ...] = ()  # its current verdicts' ids, in gate order (read with its verdicts)

    # The attributes read row by row on the hot paths, without `__getattr__`'s failed lookup first.
    id = property(lambda self: self.data["id"])
    family = property(lambda self: self.data["family"])
    messages = property(lambda self: self.data["messages"])
    role = property(lambda self: self.data["role"])
    superseded_by = property(lambda self: self.data["superseded_by"])
    passage_id = property(lambda self: self.data["passage_id"])

    def __getattr__(self, name: str) -> Any:
        try:
            return self.data[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    @property
    def hand_written(self) -> bool:
        return self.data["source_type"] == "manual_seed"

    @property
    def judge_score(self) -> float:
        return (self.verdicts.get("judge") or {}).get("score") or 0.0

    def failed(self, gate: str) -> bool:
        return (self.verdicts.get(gate) or {}).get("verdict") == "fail"


def stream_rows(store: Store, part: str, *, verdicts: bool = True, for_log: bool = False, light: bool = False,
                ids: list[int] | None = None, gates: tuple[str, ...] | None = None) -> Iterator[Row]:
    """One part of what an export reads, in id order, streamed: `considered` (candidates and revisions),
    `mixable` (those of them accepted or replaced), `unmixable` (the others), `seeds` (every version) or
    `eval` (the private eval set, every version); each row with the current verdict of every gate (two
    cursors, merged by id; a verdict's detail only for the set-level gates, the only ones an export reads
    it of). `for_log`: only what the curation log reads; `light`: without messages and tools (see
    `Store.export_rows`); `ids` (ascending): only those rows of the part; `gates`: only those gates'
    verdicts (default all)."""
    if not verdicts:
        yield from (Row(data) for data in store.export_rows(part, for_log=for_log, light=light, ids=ids))
        return
    found = store.export_verdicts(part, details=SET_LEVEL, ids=ids, gates=gates)
    upcoming = next(found, None)
    for data in store.export_rows(part, for_log=for_log, light=light, ids=ids):
        while upcoming is not None and upcoming[0] < data["id"]:
            upcoming = next(found, None)
        if upcoming is not None and upcoming[0] == data["id"]:
            yield Row(data, upcoming[1], upcoming[2])
            upcoming = next(found, None)
        else:
            yield Row(data)


# The gates whose verdicts the mix, the leak checks and the data files read of a row (the policy's, the
# judge's score for the ranking, math and tools for `verified`); the curation log reads them all.
MIX_GATES = (*EXCLUDING_GATES, "judge", "math", "tools")


def load_rows(store: Store, part: str) -> list[Row]:
    """One part of what an export reads (see `stream_rows`), without verdicts."""
    return list(stream_rows(store, part, verdicts=False))


def attach_verdicts(store: Store, rows: list[Row]) -> None:
    """The current verdict of every gate for each row (kept by the store)."""
    by_id = {r.data["id"]: r for r in rows}
    for part in ("considered", "seeds"):
        for example_id, gates, ids in store.export_verdicts(part):
            row = by_id.get(example_id)
            if row is not None:
                row.verdicts, row.verdict_ids = {**row.verdicts, **gates}, ids


def trainable(considered: Iterable[Row], seeds: list[Row]) -> tuple[list[Row], dict[int, str]]:
    """What the mix may choose from: the newest accepted row of each lineage of candidates and
    revisions (`considered` in id order, streamed: only those rows are kept), and the current few-shot
    seeds; with why each other accepted row or seed is left out."""
    reasons: dict[int, str] = {}
    newest: dict[str, Row] = {}
    for row in considered:  # in id order: a later row of a lineage is newer
        d = row.data
        if d["superseded_by"] is not None:  # accepted or not: the log names what replaced it
            reasons[d["id"]] = f"not exported: superseded by #{d['superseded_by']} (its revision)"
            continue
        if d["state"] != "accepted":
            continue
        lineage = d["lineage"] or f"#{d['id']}"
        older = newest.get(lineage)
        if older is not None:
            reasons[older.data["id"]] = f"not exported: #{d['id']}, a newer accepted version of it, is used"
        newest[lineage] = row
    pool = list(newest.values())
    for seed in seeds:
        if seed.superseded_by is not None:
            reasons[seed.id] = f"not exported: replaced by version #{seed.superseded_by}"
        elif seed.role == "fewshot":
            pool.append(seed)
    return pool, reasons


@dataclass
class Mix:
    selected: list[Row]
    reasons: dict[int, str]  # why each considered row was or was not exported
    cells: dict[tuple, int] = field(default_factory=dict)  # how many selected rows each cell holds


def build_mix(pool: list[Row], cmap: CoverageMap, *, seed: int = 0, reasons: dict[int, str] | None = None) -> Mix:
    """Fill every cell up to its target, best rows first (hand-written, then by judge score, ties broken by
    the hash of the seed and the id); explain every choice (adding to `reasons`)."""
    reasons = dict(reasons or {})
    ranked = []
    sha256 = hashlib.sha256
    for row in pool:
        d, verdicts = row.data, row.verdicts
        if reason := exclusion_reason(d, verdicts):
            reasons[d["id"]] = reason
            continue
        judge = verdicts.get("judge")
        score = (judge.get("score") if judge else None) or 0.0
        # ties: sha256 of "seed:id" (compared as bytes: the order of its hex digest, as before)
        ranked.append((d["source_type"] != "manual_seed", -score, sha256(b"%d:%d" % (seed, d["id"])).digest(), row))
    ranked.sort(key=lambda entry: entry[:3])
    targets, keys_of = cmap.targets, cmap.remembered_keys()
    used: dict[tuple, int] = {}
    selected = []
    for *_, row in ranked:
        keys = keys_of(row.data)
        full = None
        for k in keys:
            target = targets.get(k)
            if target is not None and used.get(k, 0) >= target:
                full = k
                break
        if full is not None:
            reasons[row.data["id"]] = f"not selected: cell {full[0]}/{full[1]}={full[2]} is full ({targets[full]})"
            continue
        for k in keys:
            used[k] = used.get(k, 0) + 1
        selected.append(row)
        reasons[row.data["id"]] = "exported"
    selected.sort(key=lambda r: r.data["id"])
    return Mix(selected, reasons, used)
