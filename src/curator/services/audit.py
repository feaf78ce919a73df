"""Auditing the gates: the curator confirms or overturns samples of passed and failed candidates.

A filter that silently throws away the wrong cases is a classic failure; the audit measures it.
Overrides are recorded in `gate_audits` (the current verdict's audit is kept by trigger) and feed
each candidate's status (not for decontamination, which no one can override). `report()`
estimates each gate's false-reject and false-accept rates.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from curator.errors import CuratorError
from curator.services.gating.runner import update_status
from curator.store import Store


class AuditError(CuratorError, ValueError):
    """The audit asked for cannot be recorded (no such verdict, a verdict that is not pass/fail)."""


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


@dataclass(frozen=True)
class AuditItem:
    example_id: int
    verdict: str
    reason: str


def sample(store: Store, gate: str, n: int, *, seed: int = 0) -> list[AuditItem]:
    """Up to n not-yet-audited candidates of a gate, half passed and half failed/flagged, by id. AuditError
    for a gate that does not exist (a misspelt name would say "nothing left to audit")."""
    from curator.families import KNOWN_GATES
    from curator.policy import EXCLUDING_GATES

    known = KNOWN_GATES | set(EXCLUDING_GATES)  # (the set-level gates, meaning ones included)
    if gate not in known and gate not in (counted := store.verdict_counts()):  # (a gate of its own: read only then)
        raise AuditError(f"no gate {gate!r} (the gates: {', '.join(sorted(known | set(counted)))})")
    rows = [AuditItem(*r) for r in store.unaudited_verdicts(gate)]
    rng = random.Random(seed)
    passed = [r for r in rows if r.verdict == "pass"]
    other = [r for r in rows if r.verdict != "pass"]
    take_other = min(len(other), max(n - n // 2, n - len(passed)))
    chosen = rng.sample(other, take_other) + rng.sample(passed, min(len(passed), n - take_other))
    return sorted(chosen, key=lambda r: r.example_id)


def record(store: Store, example_id: int, gate: str, curator_verdict: str, note: str | None = None) -> str:
    """Record the curator's verdict on a gate's current verdict, and the status it implies, in one
    transaction; returns the gate's verdict it was compared with."""
    if curator_verdict not in ("pass", "fail"):
        raise AuditError("the curator's verdict is pass or fail")
    with store.transaction():
        try:
            kind = store.example(example_id).kind
        except KeyError:
            raise AuditError(f"no candidate #{example_id}") from None
        if kind not in ("candidate", "revision"):
            raise AuditError(f"#{example_id} is a {kind.replace('_', ' ')}: an audit judges the gates on candidates")
        gate_verdict = store.current_verdict_of(example_id, gate)
        if gate_verdict is None:
            raise AuditError(f"candidate #{example_id} has no {gate!r} verdict to audit")
        store.add_audit(example_id, gate, gate_verdict, curator_verdict, note)
        update_status(store, [example_id])
    return gate_verdict


def report(store: Store) -> list[GateAgreement]:
    """Per gate: current verdict counts and how the curator's latest audits agree with them."""
    counts = store.verdict_counts()
    audits: dict[str, list[tuple[str, str]]] = {}
    for gate, gate_verdict, curator in store.latest_audits():
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


def report_lines(rows: list[GateAgreement]) -> list[str]:
    """The agreement table as both shells print it (`curator gate report`, the palette's Gate report):
    fits 80 columns."""
    if not rows:
        return ["no verdicts yet"]

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x:.0%}"

    return [f"{'gate':<16} {'pass':>7} {'flag':>5} {'fail':>6} {'audited':>7} {'agree':>5} {'f-rej':>5} {'f-acc':>5}"] + [
        f"{r.gate:<16} {r.passed:>7} {r.flagged:>5} {r.failed:>6} {r.audited:>7} {pct(r.agreement):>5} "
        f"{pct(r.false_reject):>5} {pct(r.false_accept):>5}" for r in rows]


def gate_report(store: Store, settings) -> list[str]:  # settings: config.Settings
    """The whole gate report: the agreement table, then the calibration with the project's settings."""
    from curator.services.calibration import report_lines as calibration_lines

    return [*report_lines(report(store)), "", *calibration_lines(settings.meaning, settings.gates)]
