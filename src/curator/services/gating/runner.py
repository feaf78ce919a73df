"""Running the gates: per-candidate rule gates on what is pending, then the set-level gates
(dedup, decontamination) over everything, then each candidate's overall status.

Verdicts are appended with the gate's name and version; a set-level verdict is written again only
when it changes. A candidate's `gate_status` is the worst of its current verdicts (after audits),
and its state moves from `new` to `gated`. Every write is a short transaction of at most `BATCH`
examples, so the app and other commands never wait long; a run is resumable. The use case that
strings these together is `curator.services.gate.run_gates`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from curator.gates.base import Gate, GateContext, Verdict, worst
from curator.gates.decontam import NAME as DECONTAM
from curator.gates.decontam import DecontamSettings
from curator.gates.dedup import NAME as DEDUP
from curator.gates.dedup import DedupSettings
from curator.services.gating.lexical import run_lexical
from curator.gates.defects import ContentGate
from curator.gates.math_tools import MathGate, ToolsGate
from curator.gates.language import LanguageGate
from curator.gates.language import warm as warm_language
from curator.gates.rules import FaithfulnessGate, FormatGate, LengthGate
from curator.models import Example
from curator.progress import NEVER, Cancel, Progress
from curator.store import BadRow, Store

PER_EXAMPLE: dict[str, Gate] = {g.name: g for g in (FormatGate(), ContentGate(), LanguageGate(), LengthGate(),
                                                     MathGate(), ToolsGate(), FaithfulnessGate())}
DEFAULT_GATES = ("format", "content", "language", "length", "dedup", "decontam")
BATCH = 500  # examples per write transaction


@dataclass
class GateReport:
    checked: int = 0
    verdicts: dict[str, dict[str, int]] = field(default_factory=dict)
    duplicates: int = 0
    contaminated: int = 0
    invalid: int = 0  # stored rows that no longer validate (each got a format fail)
    paused: bool = False
    paraphrases: int = 0  # failed by semantic dedup
    paraphrased_evals: int = 0  # failed by semantic decontamination
    meaning: str = ""  # what the meaning gates did, or why they did not run
    lexical: str = ""  # what the lexical set-level gates looked at


    def count(self, gate: str, verdict: str) -> None:
        self.verdicts.setdefault(gate, {}).setdefault(verdict, 0)
        self.verdicts[gate][verdict] += 1

    def summary(self) -> str:
        parts = [f"{g}: " + ", ".join(f"{v} {n}" for v, n in sorted(c.items())) for g, c in sorted(self.verdicts.items())]
        new = f"{self.checked} new candidate{'' if self.checked == 1 else 's'} checked"
        text = f"{new}; " + ("; ".join(parts) if parts else "nothing to do")
        if self.invalid:
            text += f"; {self.invalid} stored rows no longer valid (format fail: invalid_row)"
        if self.lexical:
            text += f"\nlexical set-level gates: {self.lexical}"
        if self.meaning:
            text += f"\nmeaning: {self.meaning}"
        return text + ("; paused (run again to continue)" if self.paused else "")


def gates_for(family: Any) -> tuple[str, ...]:
    return tuple(family.gates) if family is not None and family.gates else DEFAULT_GATES


def insert_verdict(store: Store, example_id: int, gate: str, version: str, v: Verdict) -> None:
    """Append one verdict (inside the caller's transaction, if any)."""
    store.insert_verdict(example_id, gate, version, v.verdict, v.reason, v.score, v.detail)


def check_example(example: Example, family: Any, passage_text: str | None,
                  only: tuple[str, ...] | None = None) -> dict[str, Verdict]:
    """The per-example gates of the example's family (or `only` these), without touching the store."""
    ctx = GateContext(family=family, passage_text=passage_text)
    names = only or gates_for(family)
    return {name: PER_EXAMPLE[name].check(example, ctx) for name in names if name in PER_EXAMPLE}


def run_per_example(store: Store, families: dict[str, Any], report: GateReport, progress: Progress | None = None,
                    cancel: Cancel = NEVER) -> bool:
    """Run the rule gates on every active candidate not gated yet, a batch per transaction. A stored
    row that no longer validates gets a `format` fail naming its problem, and the run goes on.
    `cancel` is checked between batches; returns False when it stopped early."""
    total = store.count_ungated()
    done = 0
    passages: dict[int, str] = {}
    while not cancel.is_set():
        bad: list[BadRow] = []
        batch = store.ungated_examples(BATCH, bad)
        if not batch and not bad:
            return True
        rows: list[tuple] = []
        warm_language([m.content for ex in batch for m in ex.messages if m.content and m.role in ("user", "assistant")])
        for ex in batch:
            if ex.passage_id is not None and ex.passage_id not in passages:
                passages[ex.passage_id] = store.passage(ex.passage_id).text
            fam = families.get(ex.family)
            verdicts = check_example(ex, fam, passages.get(ex.passage_id) if ex.passage_id else None)
            verdicts.setdefault("format", FormatGate().check(ex, GateContext(family=fam)))
            for name, v in verdicts.items():
                rows.append((ex.id, name, PER_EXAMPLE[name].version, v.verdict, v.reason, v.score, v.detail))
                report.count(name, v.verdict)
        for row in bad:
            rows.append((row.example_id, "format", PER_EXAMPLE["format"].version, "fail", "invalid_row", 0.0,
                         {"problem": row.problem}))
            report.count("format", "fail")
        store.insert_verdicts(rows)
        done += len(batch) + len(bad)
        report.checked += len(batch) + len(bad)
        report.invalid += len(bad)
        if progress:
            progress(done, max(total, done))
    return False


def run_set_level(store: Store, report: GateReport, families: dict[str, Any] | None = None, *,
                  dedup_settings: DedupSettings = DedupSettings(),
                  decontam_settings: DecontamSettings = DecontamSettings(), cancel: Cancel = NEVER) -> bool:
    """Dedup over current seeds and active candidates, decontamination of active candidates against
    every eval item, doing only new work (`gates.lexical`). Changed verdicts are written a batch at a
    time; `cancel` is checked between batches (what is written stays; the next run does the rest).
    Returns False when stopped early."""
    found, finished = run_lexical(store, families, dedup_settings=dedup_settings,
                                  decontam_settings=decontam_settings, cancel=cancel)
    for gate, counts in found.counts.items():
        for verdict, n in counts.items():
            report.verdicts.setdefault(gate, {}).setdefault(verdict, 0)
            report.verdicts[gate][verdict] += n
    report.duplicates += found.counts.get(DEDUP, {}).get("fail", 0)
    report.contaminated += found.counts.get(DECONTAM, {}).get("fail", 0)
    report.lexical = found.summary()
    return finished


def update_changed_status(store: Store) -> int:
    """`update_status` for the examples given a verdict or an audit since the last time (all of them
    the first time); returns how many changed."""
    marks, now = store.gate_marks(), store.change_marks()
    ids = store.verdicts_since(int(marks.get("status.verdict", 0)), int(marks.get("status.audit", 0)))
    changed = update_status(store, ids) if ids else 0
    store.set_gate_marks({"status.verdict": now["verdict"], "status.audit": now["audit"]})
    return changed


def update_status(store: Store, example_ids: list[int]) -> int:
    """Set gate_status to the worst current verdict (after audits), and new → gated, for the given
    examples, `BATCH` rows per transaction. Returns how many changed."""
    rows = store.status_rows(example_ids)
    changed = 0
    for start in range(0, len(rows), BATCH):
        part = rows[start:start + BATCH]
        effective = store.effective_verdicts([r[0] for r in part])
        changes = []
        for ex_id, kind, state, status in part:
            verdicts = effective.get(ex_id)
            if not verdicts:
                continue
            new_status = worst(verdicts)
            new_state = "gated" if state == "new" and kind != "seed" else state
            if new_status != status or new_state != state:
                changes.append((new_status, new_state, ex_id))
        if changes:
            store.set_gate_status(changes)
            changed += len(changes)
    return changed

