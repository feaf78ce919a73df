"""Running the gates: per-candidate rule gates on what is pending, then the set-level gates
(dedup, decontamination) over everything, then each candidate's overall status.

Verdicts are appended with the gate's name and version; a set-level verdict is written again only
when it changes. A candidate's `gate_status` is the worst of its latest verdicts, and its state
moves from `new` to `gated`. Resumable: work is committed in batches.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from curator.gates.base import Gate, GateContext, Verdict, worst
from curator.gates.dedup import DedupItem, DedupSettings, dedup
from curator.gates.decontam import DecontamSettings, Text, conversation_keys, decontaminate
from curator.gates.dedup import NAME as DEDUP, VERSION as DEDUP_VERSION
from curator.gates.decontam import NAME as DECONTAM, VERSION as DECONTAM_VERSION
from curator.gates.math_tools import MathGate, ToolsGate
from curator.gates.rules import FaithfulnessGate, FormatGate, LanguageGate, LengthGate
from curator.models import Example, now_iso
from curator.store import Store

PER_EXAMPLE: dict[str, Gate] = {g.name: g for g in (FormatGate(), LanguageGate(), LengthGate(), MathGate(),
                                                     ToolsGate(), FaithfulnessGate())}
DEFAULT_GATES = ("format", "language", "length", "dedup", "decontam")
BATCH = 500
ACTIVE = "kind IN ('candidate', 'revision') AND state != 'rejected'"


@dataclass
class GateReport:
    checked: int = 0
    verdicts: dict[str, dict[str, int]] = field(default_factory=dict)
    duplicates: int = 0
    contaminated: int = 0
    paused: bool = False

    def count(self, gate: str, verdict: str) -> None:
        self.verdicts.setdefault(gate, {}).setdefault(verdict, 0)
        self.verdicts[gate][verdict] += 1

    def summary(self) -> str:
        parts = [f"{g}: " + ", ".join(f"{v} {n}" for v, n in sorted(c.items())) for g, c in sorted(self.verdicts.items())]
        text = f"{self.checked} candidates checked; " + ("; ".join(parts) if parts else "nothing to do")
        return text + ("; paused (run again to continue)" if self.paused else "")


def gates_for(family: Any) -> tuple[str, ...]:
    return tuple(family.gates) if family is not None and family.gates else DEFAULT_GATES


def latest_verdicts(store: Store, example_ids: list[int] | None = None,
                    *, with_audits: bool = False) -> dict[int, dict[str, dict]]:
    """example id -> gate -> its latest verdict (as a dict).

    With `with_audits`, a curator's audit verdict replaces the gate's (never for decontamination:
    a contaminated candidate stays contaminated whatever anyone decides).
    """
    where = ""
    params: list[Any] = []
    if example_ids is not None:
        where = f"WHERE example_id IN ({','.join('?' * len(example_ids))})"
        params = list(example_ids)
    rows = store.conn.execute(
        "SELECT v.example_id, v.gate, v.gate_version, v.verdict, v.score, v.reason, v.detail, v.id "
        "FROM gate_verdicts v JOIN (SELECT max(id) AS id FROM gate_verdicts "
        f"{where} GROUP BY example_id, gate) m ON v.id = m.id", params).fetchall()
    out: dict[int, dict[str, dict]] = {}
    for ex_id, gate, version, verdict, score, reason, detail, vid in rows:
        out.setdefault(ex_id, {})[gate] = {"version": version, "verdict": verdict, "score": score,
                                           "reason": reason, "detail": json.loads(detail), "id": vid}
    if with_audits:
        audits = store.conn.execute(
            "SELECT a.example_id, a.gate, a.curator_verdict FROM gate_audits a JOIN (SELECT max(id) AS id "
            f"FROM gate_audits {where} GROUP BY example_id, gate) m ON a.id = m.id", params).fetchall()
        for ex_id, gate, curator in audits:
            if gate != "decontam" and gate in out.get(ex_id, {}):
                out[ex_id][gate] = {**out[ex_id][gate], "verdict": curator, "audited": True}
    return out


def insert_verdict(store: Store, example_id: int, gate: str, version: str, v: Verdict) -> None:
    store.conn.execute(
        "INSERT INTO gate_verdicts (example_id, gate, gate_version, verdict, score, reason, detail, created_at) "
        "VALUES (?,?,?,?,?,?,?,?)",
        (example_id, gate, version, v.verdict, v.score, v.reason,
         json.dumps(v.detail, ensure_ascii=False, sort_keys=True, default=str), now_iso()))


def check_example(example: Example, family: Any, passage_text: str | None,
                  only: tuple[str, ...] | None = None) -> dict[str, Verdict]:
    """The per-example gates of the example's family (or `only` these), without touching the store."""
    ctx = GateContext(family=family, passage_text=passage_text)
    names = only or gates_for(family)
    return {name: PER_EXAMPLE[name].check(example, ctx) for name in names if name in PER_EXAMPLE}


def run_per_example(store: Store, families: dict[str, Any], report: GateReport,
                    progress: Callable[[int, int], None] | None = None, stop: Any = None) -> bool:
    """Run the rule gates on every active candidate that has not been gated yet, in batches.

    `stop` (anything with `is_set()`) is checked between batches; returns False when stopped early."""
    total = store.count("examples", f"{ACTIVE} AND state = 'new'")
    done = 0
    passages: dict[int, str] = {}
    while True:
        if stop is not None and stop.is_set():
            return False
        batch = store.examples(f"{ACTIVE} AND state = 'new' AND id NOT IN "
                               "(SELECT example_id FROM gate_verdicts WHERE gate = 'format')", limit=BATCH)
        if not batch:
            return True
        with store.transaction():
            for ex in batch:
                if ex.passage_id is not None and ex.passage_id not in passages:
                    passages[ex.passage_id] = store.passage(ex.passage_id).text
                fam = families.get(ex.family)
                verdicts = check_example(ex, fam, passages.get(ex.passage_id) if ex.passage_id else None)
                verdicts.setdefault("format", FormatGate().check(ex, GateContext(family=fam)))
                for name, v in verdicts.items():
                    insert_verdict(store, ex.id, name, PER_EXAMPLE[name].version, v)
                    report.count(name, v.verdict)
        done += len(batch)
        report.checked += len(batch)
        if progress:
            progress(done, total)


def _light_rows(store: Store, where: str) -> list[tuple]:
    return store.conn.execute(
        f"SELECT id, kind, role, state, gate_status, messages, family FROM examples WHERE {where} ORDER BY id"
    ).fetchall()


def _key_of(messages_json: str) -> tuple[str, str]:
    return conversation_keys(json.loads(messages_json))


def run_set_level(store: Store, report: GateReport, families: dict[str, Any] | None = None, *, dedup_settings: DedupSettings = DedupSettings(),
                  decontam_settings: DecontamSettings = DecontamSettings()) -> None:
    """Dedup over seeds and active candidates; decontamination of active candidates against eval items."""
    pool = _light_rows(store, f"({ACTIVE}) OR (kind = 'seed' AND role != 'eval')")
    keys = {row[0]: _key_of(row[5]) for row in pool}
    threshold = {name: getattr(f, "dedup_threshold", None) for name, f in (families or {}).items()}
    current = latest_verdicts(store)  # read once: judge scores, other gates' failures, verdicts to compare
    judge = {ex_id: (g.get("judge") or {}).get("score") or 0.0 for ex_id, g in current.items()}
    failed_elsewhere = {ex_id for ex_id, g in current.items()
                        if any(v["verdict"] == "fail" for name, v in g.items() if name not in (DEDUP, DECONTAM))}
    items = [DedupItem(id=r[0], key=keys[r[0]][0], seed=r[1] == "seed", accepted=r[3] == "accepted",
                       failed_elsewhere=r[0] in failed_elsewhere, judge_score=judge.get(r[0], 0.0),
                       threshold=threshold.get(r[6])) for r in pool]
    dedup_verdicts = {k: v for k, v in dedup(items, dedup_settings).items()}
    evals = _light_rows(store, "(kind = 'seed' AND role = 'eval') OR kind = 'eval_item'")
    eval_texts = [Text(r[0], *_key_of(r[5])) for r in evals]
    candidates = [Text(r[0], *keys[r[0]]) for r in pool if r[1] != "seed"]
    decontam_verdicts = decontaminate(candidates, eval_texts, decontam_settings)
    with store.transaction():
        for gate, version, verdicts in ((DEDUP, DEDUP_VERSION, dedup_verdicts),
                                        (DECONTAM, DECONTAM_VERSION, decontam_verdicts)):
            for ex_id, v in verdicts.items():
                old = current.get(ex_id, {}).get(gate)
                if old is None or old["verdict"] != v.verdict or old["reason"] != v.reason or \
                        old["detail"].get("keeper") != v.detail.get("keeper") or \
                        old["detail"].get("eval_set") != v.detail.get("eval_set"):
                    insert_verdict(store, ex_id, gate, version, v)
                report.count(gate, v.verdict)
                if v.verdict == "fail":
                    if gate == DEDUP:
                        report.duplicates += 1
                    else:
                        report.contaminated += 1


def update_status(store: Store, example_ids: list[int] | None = None) -> int:
    """Set gate_status to the worst latest verdict (after audits), and new → gated, for the given
    examples (default: all active ones and seeds). Returns how many changed."""
    latest = latest_verdicts(store, example_ids, with_audits=True)
    if example_ids is None:
        rows = store.conn.execute(
            f"SELECT id, kind, state, gate_status FROM examples WHERE {ACTIVE} OR kind = 'seed'").fetchall()
    else:
        rows = store.conn.execute(
            f"SELECT id, kind, state, gate_status FROM examples WHERE id IN ({','.join('?' * len(example_ids))})",
            list(example_ids)).fetchall()
    changed = 0
    with store.transaction():
        for ex_id, kind, state, status in rows:
            gates = latest.get(ex_id)
            if not gates:
                continue
            new_status = worst([g["verdict"] for g in gates.values()])
            new_state = "gated" if state == "new" and kind != "seed" else state
            if new_status != status or new_state != state:
                store.conn.execute("UPDATE examples SET gate_status = ?, state = ? WHERE id = ?",
                                   (new_status, new_state, ex_id))
                changed += 1
    return changed


def run_gates(store: Store, families: dict[str, Any], *, progress: Callable[[int, int], None] | None = None,
              dedup_settings: DedupSettings = DedupSettings(),
              decontam_settings: DecontamSettings = DecontamSettings(), stop: Any = None) -> GateReport:
    """Everything `curator gate` does, in order. With `stop` set, it pauses between batches (what
    was gated is kept; the next run continues) and skips the set-level gates until a full run."""
    report = GateReport()
    if not run_per_example(store, families, report, progress, stop):
        report.paused = True
        update_status(store)
        return report
    run_set_level(store, report, families, dedup_settings=dedup_settings, decontam_settings=decontam_settings)
    update_status(store)
    return report
