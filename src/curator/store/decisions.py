"""The curator's decisions: an append-only log (undo is a decision that names the one it undoes).
Every query here uses an index: nothing scans the whole history per keypress."""

from __future__ import annotations

from curator.models import Decision
from curator.store.predicates import DECIDABLE

_NOT_UNDONE = "NOT EXISTS (SELECT 1 FROM decisions u WHERE u.undoes = {d}.id)"
_COLS = ("id", "example_id", "action", "note", "seconds", "undoes", "created_at", "reason", "bulk")
STATE_OF = {"accept": "accepted", "reject": "rejected"}


class DecisionQueries:
    def add_decision(self, decision: Decision) -> int:
        with self.transaction():
            return self.conn.execute(
                "INSERT INTO decisions (example_id, action, note, seconds, undoes, created_at, reason, bulk) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (decision.example_id, decision.action, decision.note, decision.seconds, decision.undoes,
                 decision.created_at, decision.reason, decision.bulk)).lastrowid

    def _decisions(self, sql: str, params: tuple) -> list[tuple[Decision, bool]]:
        rows = self.conn.execute(
            f"SELECT {', '.join('d.' + c for c in _COLS)}, EXISTS (SELECT 1 FROM decisions u WHERE u.undoes = d.id) "
            f"FROM decisions d {sql}", params).fetchall()
        return [(Decision(**dict(zip(_COLS, r[:-1]))), bool(r[-1])) for r in rows]

    def decisions(self, example_id: int | None = None) -> list[Decision]:
        """One example's decisions (or all), oldest first."""
        if example_id is None:
            return [d for d, _ in self._decisions("ORDER BY d.id", ())]
        return [d for d, _ in self._decisions("WHERE d.example_id = ? ORDER BY d.id", (example_id,))]

    def decisions_with_undone(self, example_id: int) -> list[tuple[Decision, bool]]:
        return self._decisions("WHERE d.example_id = ? ORDER BY d.id", (example_id,))

    def decision(self, decision_id: int) -> tuple[Decision, bool] | None:
        rows = self._decisions("WHERE d.id = ?", (decision_id,))
        return rows[0] if rows else None

    def recent_decisions(self, limit: int = 8) -> list[tuple[Decision, bool]]:
        """The latest decisions that are not undos, newest first, each with whether it was undone."""
        return self._decisions("WHERE d.action != 'undo' ORDER BY d.id DESC LIMIT ?", (limit,))

    def last_undoable(self, example_id: int | None = None) -> Decision | None:
        """The latest triage decision (of one example, or of all) not undone already. Not an undo, an
        edit (a revision is a row of its own: reject it instead) or a seed's role change."""
        where = ("WHERE d.action IN ('accept', 'reject', 'skip', 'flag', 'note') "
                 "AND NOT EXISTS (SELECT 1 FROM decisions u WHERE u.undoes = d.id)")
        params: tuple = ()
        if example_id is not None:
            where += " AND d.example_id = ?"
            params = (example_id,)
        rows = self._decisions(where + " ORDER BY d.id DESC LIMIT 1", params)
        return rows[0][0] if rows else None

    def decisions_of(self, example_ids: list[int]) -> dict[int, list[tuple[Decision, bool]]]:
        """example id -> its decisions, oldest first, each with whether it was undone."""
        out: dict[int, list[tuple[Decision, bool]]] = {}
        for start in range(0, len(example_ids), 900):
            part = example_ids[start:start + 900]
            for d, undone in self._decisions(f"WHERE d.example_id IN ({','.join('?' * len(part))}) ORDER BY d.id",
                                             tuple(part)):
                out.setdefault(d.example_id, []).append((d, undone))
        return out

    def effective_state(self, example_id: int) -> str:
        """The state an example's log implies: its last effective accept or reject, else gated/new."""
        row = self.conn.execute(
            "SELECT d.action FROM decisions d WHERE d.example_id = ? AND d.action IN ('accept', 'reject') "
            "AND NOT EXISTS (SELECT 1 FROM decisions u WHERE u.undoes = d.id) ORDER BY d.id DESC LIMIT 1",
            (example_id,)).fetchone()
        if row is not None:
            return STATE_OF[row[0]]
        return "gated" if self.has_verdicts(example_id) else "new"

    def curator_flagged_ids(self) -> list[int]:
        """Undecided candidates the curator flagged (a flag not undone), in id order."""
        return [r[0] for r in self.conn.execute(
            f"SELECT id FROM examples WHERE {DECIDABLE} AND state IN ('new', 'gated') AND id IN "
            f"(SELECT d.example_id FROM decisions d WHERE d.action = 'flag' AND {_NOT_UNDONE.format(d='d')}) "
            "ORDER BY id")]

    def reject_reason_counts(self) -> dict[str, int]:
        """Reason code -> how many rejected examples it explains: each rejected example counted once,
        by the reason of its effective (not undone) reject; "" for a reject without a reason."""
        rows = self.conn.execute(
            "SELECT COALESCE(d.reason, ''), count(*) FROM examples e JOIN decisions d ON d.id = "
            "(SELECT max(x.id) FROM decisions x WHERE x.example_id = e.id AND x.action IN ('accept', 'reject') "
            f"AND {_NOT_UNDONE.format(d='x')}) "
            "WHERE e.state = 'rejected' AND d.action = 'reject' GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
        return {reason: n for reason, n in rows}
