"""Gate verdicts (an append-only log), the current verdict of each gate per example (kept by a
trigger in the same transaction as the log), and the curator's audits of them."""

from __future__ import annotations

import json
from typing import Any

from curator.models import GateVerdict, now_iso
from curator.store.base import decode

# A contaminated candidate stays contaminated whatever anyone decides.
NEVER_AUDITED = ("decontam", "decontam_meaning")


class VerdictQueries:
    def insert_verdict(self, example_id: int, gate: str, version: str, verdict: str, reason: str,
                       score: float | None = None, detail: dict[str, Any] | None = None) -> int:
        """Append a verdict (call inside a transaction, or it commits on its own)."""
        with self.transaction():
            return self.conn.execute(
                "INSERT INTO gate_verdicts (example_id, gate, gate_version, verdict, score, reason, detail, created_at) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (example_id, gate, version, verdict, score, reason,
                 json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str), now_iso())).lastrowid

    def insert_verdicts(self, rows: list[tuple[int, str, str, str, str, float | None, dict[str, Any]]]) -> None:
        """Append many verdicts, (example id, gate, version, verdict, reason, score, detail) each, in one
        transaction (keep batches ≤ 500 rows)."""
        stamp = now_iso()
        with self.transaction():
            self.conn.executemany(
                "INSERT INTO gate_verdicts (example_id, gate, gate_version, verdict, score, reason, detail, created_at) "
                "VALUES (?,?,?,?,?,?,?,?)",
                [(ex_id, gate, version, verdict, score, reason,
                  json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str), stamp)
                 for ex_id, gate, version, verdict, reason, score, detail in rows])

    def add_verdict(self, verdict: GateVerdict) -> int:
        return self.insert_verdict(verdict.example_id, verdict.gate, verdict.gate_version, verdict.verdict,
                                   verdict.reason, verdict.score, verdict.detail)

    def verdicts(self, example_id: int) -> list[GateVerdict]:
        """Every verdict ever given to one example, oldest first."""
        cur = self.conn.execute("SELECT * FROM gate_verdicts WHERE example_id = ? ORDER BY id", (example_id,))
        cols = [c[0] for c in cur.description]
        return [GateVerdict(**decode("gate_verdicts", dict(zip(cols, r)))) for r in cur]

    def current_verdicts(self, example_ids: list[int] | None = None, *, with_audits: bool = False,
                         gates: tuple[str, ...] | None = None) -> dict[int, dict[str, dict]]:
        """example id -> gate -> its current verdict (a dict with version, verdict, score, reason, detail, id).

        With `with_audits`, a curator's audit replaces the gate's verdict (never for decontamination:
        a contaminated candidate stays contaminated whatever anyone decides).
        """
        sql = ("SELECT c.example_id, c.gate, v.gate_version, v.verdict, v.score, v.reason, v.detail, v.id, c.audit "
               "FROM current_verdicts c JOIN gate_verdicts v ON v.id = c.verdict_id")
        out: dict[int, dict[str, dict]] = {}
        conditions, params = [], []
        if gates is not None:
            conditions.append(f"c.gate IN ({','.join('?' * len(gates))})")
            params.extend(gates)
        chunks = [None] if example_ids is None else [example_ids[i:i + 900] for i in range(0, len(example_ids), 900)]
        for chunk in chunks:
            where = list(conditions)
            chunk_params = list(params)
            if chunk is not None:
                if not chunk:
                    continue
                where.append(f"c.example_id IN ({','.join('?' * len(chunk))})")
                chunk_params.extend(chunk)
            query = sql + (" WHERE " + " AND ".join(where) if where else "")
            for ex_id, gate, version, verdict, score, reason, detail, vid, audit in self.conn.execute(query, chunk_params):
                entry = {"version": version, "verdict": verdict, "score": score, "reason": reason,
                         "detail": json.loads(detail), "id": vid}
                if with_audits and audit is not None and gate not in NEVER_AUDITED:
                    entry = {**entry, "verdict": audit, "audited": True, "gate_verdict": verdict}
                out.setdefault(ex_id, {})[gate] = entry
        return out

    def effective_verdicts(self, example_ids: list[int]) -> dict[int, list[str]]:
        """example id -> the verdicts its status comes from: each gate's current one, or the curator's
        audit of it (never for decontamination). A light read: no details."""
        out: dict[int, list[str]] = {}
        for start in range(0, len(example_ids), 900):
            part = example_ids[start:start + 900]
            for ex_id, verdict in self.conn.execute(
                    "SELECT example_id, CASE WHEN audit IS NOT NULL AND gate NOT IN ('decontam', 'decontam_meaning') "
                    "THEN audit ELSE verdict END "
                    f"FROM current_verdicts WHERE example_id IN ({','.join('?' * len(part))})", part):
                out.setdefault(ex_id, []).append(verdict)
        return out

    def current_verdict_keys(self, gates: tuple[str, ...], keys: tuple[str, ...]) -> dict[int, dict[str, dict]]:
        """example id -> gate -> {verdict, reason, detail: only `keys` of it} for the current verdicts
        of `gates`: a light read of a few evidence fields (extracted by SQLite, not parsed here)."""
        fields = ", ".join(f"json_extract(v.detail, '$.{k}')" for k in keys)
        out: dict[int, dict[str, dict]] = {}
        for ex_id, gate, verdict, reason, *values in self.conn.execute(
                f"SELECT c.example_id, c.gate, v.verdict, v.reason, {fields} FROM current_verdicts c "
                f"JOIN gate_verdicts v ON v.id = c.verdict_id WHERE c.gate IN ({','.join('?' * len(gates))})", gates):
            out.setdefault(ex_id, {})[gate] = {"verdict": verdict, "reason": reason, "detail": dict(zip(keys, values))}
        return out

    def has_verdicts(self, example_id: int) -> bool:
        return self.conn.execute("SELECT 1 FROM current_verdicts WHERE example_id = ? LIMIT 1",
                                 (example_id,)).fetchone() is not None

    def current_verdict_of(self, example_id: int, gate: str) -> str | None:
        row = self.conn.execute("SELECT verdict FROM current_verdicts WHERE example_id = ? AND gate = ?",
                                (example_id, gate)).fetchone()
        return row[0] if row else None

    # -- audits -------------------------------------------------------------------------------

    def add_audit(self, example_id: int, gate: str, gate_verdict: str, curator_verdict: str,
                  note: str | None = None) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT INTO gate_audits (example_id, gate, gate_verdict, curator_verdict, note, created_at) "
                "VALUES (?,?,?,?,?,?)", (example_id, gate, gate_verdict, curator_verdict, note, now_iso()))

    def unaudited_verdicts(self, gate: str) -> list[tuple[int, str, str]]:
        """(example id, verdict, reason) of a gate's current verdicts of candidates and revisions (what an audit
        judges the gates on: never a seed) not yet audited."""
        return self.conn.execute(
            "SELECT c.example_id, c.verdict, v.reason FROM current_verdicts c JOIN gate_verdicts v ON v.id = c.verdict_id "
            "JOIN examples e ON e.id = c.example_id AND e.kind IN ('candidate', 'revision') "
            "WHERE c.gate = ? AND c.audit IS NULL AND c.example_id NOT IN "
            "(SELECT example_id FROM gate_audits WHERE gate = ?) ORDER BY c.example_id", (gate, gate)).fetchall()

    def verdict_counts(self) -> dict[str, dict[str, int]]:
        """gate -> verdict -> how many current verdicts."""
        out: dict[str, dict[str, int]] = {}
        for gate, verdict, n in self.conn.execute(
                "SELECT gate, verdict, count(*) FROM current_verdicts GROUP BY gate, verdict"):
            out.setdefault(gate, {})[verdict] = n
        return out

    def latest_audits(self) -> list[tuple[str, str, str]]:
        """(gate, gate's verdict, curator's verdict) of the latest audit per example and gate."""
        return self.conn.execute(
            "SELECT a.gate, a.gate_verdict, a.curator_verdict FROM gate_audits a JOIN (SELECT max(id) AS id "
            "FROM gate_audits GROUP BY example_id, gate) m ON a.id = m.id").fetchall()
