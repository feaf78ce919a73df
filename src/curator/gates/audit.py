"""Auditing the gates: the curator confirms or overturns samples of passed and failed candidates.

A filter that silently throws away the wrong cases is a classic failure; the audit measures it.
Overrides are recorded in `gate_audits` and feed each candidate's status (not for decontamination,
which no one can override). `report()` estimates each gate's false-reject and false-accept rates.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from curator.models import now_iso
from curator.store import Store


@dataclass
class GateAgreement:
    gate: str
    passed: int
    flagged: int
    failed: int
    audited: int
    agree: int
    audited_fail: int
    curator_pass_of_fail: int
    audited_pass: int
    curator_fail_of_pass: int

    @property
    def agreement(self) -> float | None:
        return self.agree / self.audited if self.audited else None

    @property
    def false_reject(self) -> float | None:
        """Share of the gate's fails (and flags) that the curator would have kept."""
        return self.curator_pass_of_fail / self.audited_fail if self.audited_fail else None

    @property
    def false_accept(self) -> float | None:
        """Share of the gate's passes that the curator would have thrown away."""
        return self.curator_fail_of_pass / self.audited_pass if self.audited_pass else None


def sample(store: Store, gate: str, n: int, *, seed: int = 0) -> list[tuple[int, str, str]]:
    """Up to n not-yet-audited candidates for a gate, half passed and half failed/flagged:
    (example id, verdict, reason)."""
    rows = store.conn.execute(
        "SELECT v.example_id, v.verdict, v.reason FROM gate_verdicts v JOIN (SELECT max(id) AS id "
        "FROM gate_verdicts WHERE gate = ? GROUP BY example_id) m ON v.id = m.id "
        "WHERE v.example_id NOT IN (SELECT example_id FROM gate_audits WHERE gate = ?) ORDER BY v.example_id",
        (gate, gate)).fetchall()
    rng = random.Random(seed)
    passed = [r for r in rows if r[1] == "pass"]
    other = [r for r in rows if r[1] != "pass"]
    take_other = min(len(other), max(n - n // 2, n - len(passed)))
    chosen = rng.sample(other, take_other) + rng.sample(passed, min(len(passed), n - take_other))
    return sorted(chosen)


def record(store: Store, example_id: int, gate: str, curator_verdict: str, note: str | None = None) -> str:
    """Record the curator's verdict on a gate's decision; returns the gate's verdict it was compared with."""
    if curator_verdict not in ("pass", "fail"):
        raise ValueError("the curator's verdict is pass or fail")
    row = store.conn.execute(
        "SELECT verdict FROM gate_verdicts WHERE example_id = ? AND gate = ? ORDER BY id DESC LIMIT 1",
        (example_id, gate)).fetchone()
    if row is None:
        raise ValueError(f"candidate #{example_id} has no {gate!r} verdict to audit")
    with store.transaction():
        store.conn.execute(
            "INSERT INTO gate_audits (example_id, gate, gate_verdict, curator_verdict, note, created_at) "
            "VALUES (?,?,?,?,?,?)", (example_id, gate, row[0], curator_verdict, note, now_iso()))
    from curator.gates.runner import update_status

    update_status(store, [example_id])
    return row[0]


def report(store: Store) -> list[GateAgreement]:
    counts: dict[str, dict[str, int]] = {}
    for gate, verdict, n in store.conn.execute(
            "SELECT v.gate, v.verdict, count(*) FROM gate_verdicts v JOIN (SELECT max(id) AS id FROM gate_verdicts "
            "GROUP BY example_id, gate) m ON v.id = m.id GROUP BY v.gate, v.verdict"):
        counts.setdefault(gate, {})[verdict] = n
    audits: dict[str, list[tuple[str, str]]] = {}
    for gate, gate_verdict, curator in store.conn.execute(
            "SELECT a.gate, a.gate_verdict, a.curator_verdict FROM gate_audits a JOIN (SELECT max(id) AS id "
            "FROM gate_audits GROUP BY example_id, gate) m ON a.id = m.id"):
        audits.setdefault(gate, []).append((gate_verdict, curator))
    out = []
    for gate in sorted(set(counts) | set(audits)):
        rows = audits.get(gate, [])
        fails = [(g, c) for g, c in rows if g != "pass"]
        passes = [(g, c) for g, c in rows if g == "pass"]
        c = counts.get(gate, {})
        out.append(GateAgreement(
            gate=gate, passed=c.get("pass", 0), flagged=c.get("flag", 0), failed=c.get("fail", 0),
            audited=len(rows), agree=sum((g == "pass") == (cv == "pass") for g, cv in rows),
            audited_fail=len(fails), curator_pass_of_fail=sum(cv == "pass" for _, cv in fails),
            audited_pass=len(passes), curator_fail_of_pass=sum(cv == "fail" for _, cv in passes)))
    return out
