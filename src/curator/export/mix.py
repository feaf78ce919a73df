"""Choosing the training mix from accepted examples, deterministically for a given seed.

Prefers hand-written examples, then higher judge scores; respects each cell's target as a cap;
never includes a contaminated candidate, a duplicate, or a private eval item.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from curator.coverage import CoverageMap
from curator.store import Store

_COLS = ("id", "kind", "role", "family", "task_type", "difficulty", "topic", "source_type", "passage_id", "messages",
         "tools", "answer", "metadata", "model", "template_hash", "job_id", "parent_id", "state", "gate_status")


@dataclass
class Row:
    """One example as the export sees it (plain data: no per-row model validation on the hot path)."""

    data: dict[str, Any]
    verdicts: dict[str, dict] = field(default_factory=dict)

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


def load_rows(store: Store, where: str, params: tuple = ()) -> list[Row]:
    rows = []
    for values in store.conn.execute(f"SELECT {', '.join(_COLS)} FROM examples WHERE {where} ORDER BY id", params):
        data = dict(zip(_COLS, values))
        data["messages"] = orjson.loads(data["messages"])
        data["tools"] = orjson.loads(data["tools"]) if data["tools"] else None
        data["metadata"] = orjson.loads(data["metadata"]) if data["metadata"] else {}
        rows.append(Row(data))
    return rows


def attach_verdicts(store: Store, rows: list[Row]) -> None:
    """The latest verdict of every gate for each row, in one query."""
    by_id = {r.id: r for r in rows}
    sql = ("SELECT v.example_id, v.gate, v.verdict, v.score, v.reason, v.detail FROM gate_verdicts v JOIN "
           "(SELECT max(id) AS id FROM gate_verdicts GROUP BY example_id, gate) m ON v.id = m.id")
    for example_id, gate, verdict, score, reason, detail in store.conn.execute(sql):
        row = by_id.get(example_id)
        if row is not None:
            row.verdicts[gate] = {"verdict": verdict, "score": score, "reason": reason, "detail": orjson.loads(detail)}


def _tiebreak(seed: int, example_id: int) -> str:
    return hashlib.sha256(f"{seed}:{example_id}".encode()).hexdigest()


@dataclass
class Mix:
    selected: list[Row]
    reasons: dict[int, str]  # why each considered row was or was not exported


def exclusion_reason(row: Row) -> str | None:
    """Why a row can never be exported, or None."""
    if row.kind == "eval_item" or row.role == "eval":
        return "excluded: private eval item"
    if row.failed("decontam"):
        return f"excluded: contaminated (eval items {(row.verdicts['decontam']['detail'] or {}).get('eval_items', [])})"
    if row.failed("dedup"):
        return f"excluded: duplicate of #{(row.verdicts['dedup']['detail'] or {}).get('keeper')}"
    return None


def build_mix(pool: list[Row], cmap: CoverageMap, *, seed: int = 0) -> Mix:
    """Fill every cell up to its target, best rows first; explain every choice."""
    reasons: dict[int, str] = {}
    eligible = []
    for row in pool:
        if reason := exclusion_reason(row):
            reasons[row.id] = reason
        else:
            eligible.append(row)
    eligible.sort(key=lambda r: (not r.hand_written, -r.judge_score, _tiebreak(seed, r.id)))
    used: dict[tuple, int] = {}
    selected = []
    for row in eligible:
        keys = cmap.keys_of(row.data)
        full = next((k for k in keys if k in cmap.targets and used.get(k, 0) >= cmap.targets[k]), None)
        if full is not None:
            reasons[row.id] = f"not selected: cell {full[0]}/{full[1]}={full[2]} is full ({cmap.targets[full]})"
            continue
        for k in keys:
            used[k] = used.get(k, 0) + 1
        selected.append(row)
        reasons[row.id] = "exported"
    selected.sort(key=lambda r: r.id)
    return Mix(selected, reasons)
