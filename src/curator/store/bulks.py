"""Bulk decisions: one decision over many candidates, planned whole and committed in short parts.

A bulk row keeps the ids it was planned on; each decision it makes names it. What is left of a bulk
cut short is its planned ids without a decision of it; undoing a bulk undoes each of its decisions.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from curator.models import now_iso
from curator.store.predicates import DECIDABLE


class Bulk(NamedTuple):
    id: int
    action: str
    reason: str | None
    filter: str  # the filter as the curator gave it (`KEY=VALUE ...`)
    planned: int
    skipped: dict[str, int]  # why -> how many of the filter's candidates it leaves alone
    created_at: str
    finished_at: str | None
    undone_at: str | None
    done: int  # decisions made so far (undone or not)


_BULK_COLS = "b.id, b.action, b.reason, b.filter, json_array_length(b.ids), b.skipped, b.created_at, " \
             "b.finished_at, b.undone_at, (SELECT count(*) FROM decisions d WHERE d.bulk = b.id AND d.action != 'undo')"


def _bulk(row: tuple) -> Bulk:
    return Bulk(*row[:5], orjson.loads(row[5]), *row[6:])


class BulkQueries:
    def add_bulk(self, action: str, reason: str | None, filter_text: str, ids: list[int],
                 skipped: dict[str, int]) -> int:
        """Plan a bulk (its ids, what it skips); no decision is made yet."""
        with self.transaction():
            return self.conn.execute(
                "INSERT INTO bulks (action, reason, filter, ids, skipped, created_at) VALUES (?,?,?,?,?,?)",
                (action, reason, filter_text, orjson.dumps(ids).decode(), orjson.dumps(skipped).decode(),
                 now_iso())).lastrowid

    def bulk(self, bulk_id: int) -> Bulk | None:
        row = self.conn.execute(f"SELECT {_BULK_COLS} FROM bulks b WHERE b.id = ?", (bulk_id,)).fetchone()
        return _bulk(row) if row else None

    def bulks(self, limit: int = 20) -> list[Bulk]:
        """The latest bulks, newest first."""
        return [_bulk(r) for r in self.conn.execute(f"SELECT {_BULK_COLS} FROM bulks b ORDER BY b.id DESC LIMIT ?",
                                                    (limit,))]

    def unfinished_bulks(self) -> list[Bulk]:
        """Bulks cut short (planned, not finished, not undone): what is left of them can be resumed."""
        return [_bulk(r) for r in self.conn.execute(
            f"SELECT {_BULK_COLS} FROM bulks b WHERE b.finished_at IS NULL AND b.undone_at IS NULL ORDER BY b.id")]

    def bulk_remaining(self, bulk_id: int) -> list[int]:
        """The planned ids of a bulk it has not decided yet, in plan order."""
        return [r[0] for r in self.conn.execute(
            "SELECT j.value FROM bulks b, json_each(b.ids) j WHERE b.id = ? AND NOT EXISTS "
            "(SELECT 1 FROM decisions d WHERE d.bulk = b.id AND d.example_id = j.value AND d.action != 'undo') "
            "ORDER BY j.key", (bulk_id,))]

    def decidable_ids(self, example_ids: list[int]) -> set[int]:
        """Those of `example_ids` a curator may decide on now."""
        return {r[0] for r in self.rows_in(f"SELECT id FROM examples WHERE {DECIDABLE} AND id IN ({{in}})",
                                           example_ids)}

    def states_of(self, example_ids: list[int]) -> dict[int, tuple[str, str | None]]:
        """example id -> (state, gate status)."""
        return {r[0]: (r[1], r[2]) for r in self.rows_in(
            "SELECT id, state, gate_status FROM examples WHERE id IN ({in})", example_ids)}

    def add_bulk_decisions(self, bulk_id: int, action: str, reason: str | None, example_ids: list[int],
                           state: str | None) -> None:
        """One part of a bulk: a decision of it for each id and (accept/reject) the state it implies, in the
        caller's transaction."""
        stamp = now_iso()
        self.conn.executemany(
            "INSERT INTO decisions (example_id, action, reason, created_at, bulk) VALUES (?,?,?,?,?)",
            [(i, action, reason, stamp, bulk_id) for i in example_ids])
        if state is not None:
            self.conn.executemany("UPDATE examples SET state = ? WHERE id = ?", [(state, i) for i in example_ids])

    def finish_bulk(self, bulk_id: int) -> None:
        with self.transaction():
            self.conn.execute("UPDATE bulks SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
                              (now_iso(), bulk_id))

    def bulk_undoable(self, bulk_id: int, limit: int) -> list[tuple[int, int]]:
        """Up to `limit` (decision id, example id) of a bulk not undone yet."""
        return self.conn.execute(
            "SELECT d.id, d.example_id FROM decisions d WHERE d.bulk = ? AND d.action != 'undo' AND NOT EXISTS "
            "(SELECT 1 FROM decisions u WHERE u.undoes = d.id) ORDER BY d.id LIMIT ?", (bulk_id, limit)).fetchall()

    def undo_bulk_part(self, bulk_id: int, part: list[tuple[int, int]]) -> None:
        """Undo these decisions of a bulk, each example's state following its log, in the caller's transaction."""
        stamp = now_iso()
        self.conn.executemany(
            "INSERT INTO decisions (example_id, action, undoes, created_at, bulk) VALUES (?, 'undo', ?, ?, ?)",
            [(example_id, decision_id, stamp, bulk_id) for decision_id, example_id in part])
        for _, example_id in part:
            self.set_example_state(example_id, self.effective_state(example_id))

    def mark_bulk_undone(self, bulk_id: int) -> None:
        with self.transaction():
            self.conn.execute("UPDATE bulks SET undone_at = ? WHERE id = ?", (now_iso(), bulk_id))

    def bulk_detail(self, bulk_id: int) -> dict[str, Any]:
        """How many of a bulk's decisions stand and how many were undone."""
        made, undone = self.conn.execute(
            "SELECT count(*), sum(EXISTS (SELECT 1 FROM decisions u WHERE u.undoes = d.id)) FROM decisions d "
            "WHERE d.bulk = ? AND d.action != 'undo'", (bulk_id,)).fetchone()
        return {"made": made, "undone": undone or 0}
