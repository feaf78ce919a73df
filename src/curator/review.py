"""Triage in the core: queues, filters, the card for one candidate, decisions, undo and edits.

Decisions are an append-only log; undo is a decision that names the one it undoes. A candidate's
state follows from its effective (not undone) accept/reject decisions. Every decision commits in
one transaction before the caller shows the next candidate.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from curator.models import Decision, Example, Message, conversation_text, now_iso
from curator.store import Store
from curator.text.normalize import key_hash

QUEUES = {
    "pending": "Pending review",
    "flagged": "Flagged by a gate",
    "failed": "Failed by a gate",
    "judge": "Judge disagrees with the rule gates",
    "audit": "Audit: a sample of rejected candidates",
    "accepted": "Accepted",
}
DECIDABLE = "kind IN ('candidate', 'revision')"
STATE_OF = {"accept": "accepted", "reject": "rejected"}


@dataclass(frozen=True)
class Filters:
    family: str | None = None
    verdict: str | None = None  # pass | flag | fail
    tag: str | None = None  # a tag of the source passage
    search: str | None = None  # text in the conversation

    def sql(self) -> tuple[str, list[Any]]:
        parts, params = [], []
        if self.family:
            parts.append("family = ?")
            params.append(self.family)
        if self.verdict:
            parts.append("gate_status = ?")
            params.append(self.verdict)
        if self.tag:
            parts.append("passage_id IN (SELECT p.id FROM passages p, json_each(p.tags) t WHERE t.value = ?)")
            params.append(self.tag)
        if self.search:
            parts.append("messages LIKE ?")
            params.append(f"%{self.search}%")
        return (" AND ".join(parts), params)


def queue_ids(store: Store, queue: str = "pending", filters: Filters = Filters(), *, seed: int = 0) -> list[int]:
    """The ids of a queue, in review order."""
    where = {
        "pending": "state IN ('new', 'gated')",
        "flagged": "state IN ('new', 'gated') AND gate_status = 'flag'",
        "failed": "state IN ('new', 'gated') AND gate_status = 'fail'",
        "accepted": "state = 'accepted'",
        "audit": "state = 'rejected' OR gate_status = 'fail'",
        "judge": "id IN (SELECT j.example_id FROM gate_verdicts j WHERE j.gate = 'judge' AND j.id IN "
                 "(SELECT max(id) FROM gate_verdicts GROUP BY example_id, gate)) AND state IN ('new', 'gated')",
    }[queue]
    extra, params = filters.sql()
    sql = f"SELECT id FROM examples WHERE {DECIDABLE} AND ({where})" + (f" AND {extra}" if extra else "")
    order = " ORDER BY CASE state WHEN 'gated' THEN 0 ELSE 1 END, id" if queue == "pending" else " ORDER BY id"
    ids = [r[0] for r in store.conn.execute(sql + order, params)]
    if queue == "judge" and ids:
        from curator.gates.runner import latest_verdicts

        verdicts = latest_verdicts(store, ids)  # one query for the whole queue
        ids = [i for i in ids if _judge_disagrees(verdicts.get(i, {}))]
    if queue == "audit":
        rng = random.Random(seed)
        ids = sorted(rng.sample(ids, min(len(ids), 50)))
    return ids


def _judge_disagrees(gates: dict[str, dict]) -> bool:
    judge = gates.get("judge", {}).get("verdict")
    rules = [g["verdict"] for name, g in gates.items() if name != "judge"]
    rules_ok = all(v == "pass" for v in rules)
    return (judge == "pass") != rules_ok


@dataclass
class Card:
    """Everything the triage screen shows for one candidate."""

    example: Example
    verdicts: dict[str, dict]
    passage_text: str | None
    passage_tags: list[str] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)


def load_card(store: Store, example_id: int) -> Card:
    from curator.gates.runner import latest_verdicts

    example = store.example(example_id)
    passage_text, tags = None, []
    if example.passage_id is not None:
        passage = store.passage(example.passage_id)
        passage_text, tags = passage.text, passage.tags
    return Card(example=example, verdicts=latest_verdicts(store, [example_id], with_audits=True).get(example_id, {}),
                passage_text=passage_text, passage_tags=tags, decisions=store.decisions(example_id))


def _undone_ids(store: Store) -> set[int]:
    return {r[0] for r in store.conn.execute("SELECT undoes FROM decisions WHERE action = 'undo'")}


def effective_state(store: Store, example_id: int) -> str:
    """The state an example's log implies: its last effective accept or reject, else gated/new."""
    undone = _undone_ids(store)
    rows = store.conn.execute(
        "SELECT id, action FROM decisions WHERE example_id = ? AND action IN ('accept', 'reject') ORDER BY id DESC",
        (example_id,)).fetchall()
    for decision_id, action in rows:
        if decision_id not in undone:
            return STATE_OF[action]
    has_verdicts = store.conn.execute("SELECT 1 FROM gate_verdicts WHERE example_id = ? LIMIT 1", (example_id,)).fetchone()
    return "gated" if has_verdicts else "new"


def decide(store: Store, example_id: int, action: str, *, seconds: float | None = None, note: str | None = None) -> int:
    """Record a decision (accept, reject, skip, flag, note) and the state it implies, in one transaction."""
    if action not in ("accept", "reject", "skip", "flag", "note"):
        raise ValueError(f"unknown action {action!r}")
    with store.transaction():
        decision_id = store.add_decision(Decision(example_id=example_id, action=action, seconds=seconds, note=note))
        if action in STATE_OF:
            store.conn.execute("UPDATE examples SET state = ? WHERE id = ?", (STATE_OF[action], example_id))
    return decision_id


def last_undoable(store: Store) -> Decision | None:
    """The latest decision that is neither an undo nor undone."""
    return next((d for d, undone in recent_decisions(store, 200) if not undone), None)


def undo(store: Store, decision_id: int | None = None) -> Decision | None:
    """Undo a decision (default: the latest one) by appending an undo; the example's state follows."""
    target = store.conn.execute("SELECT id, example_id, action FROM decisions WHERE id = ?", (decision_id,)).fetchone() \
        if decision_id is not None else None
    if decision_id is None:
        last = last_undoable(store)
        if last is None:
            return None
        target = (last.id, last.example_id, last.action)
    if target is None or target[2] == "undo" or target[0] in _undone_ids(store):
        return None
    with store.transaction():
        store.add_decision(Decision(example_id=target[1], action="undo", undoes=target[0]))
        store.conn.execute("UPDATE examples SET state = ? WHERE id = ?", (effective_state(store, target[1]), target[1]))
    return Decision(id=target[0], example_id=target[1], action=target[2])


def recent_decisions(store: Store, limit: int = 8) -> list[tuple[Decision, bool]]:
    """The latest decisions, newest first, each with whether it has been undone."""
    undone = _undone_ids(store)
    cols = [c[0] for c in store.conn.execute("SELECT * FROM decisions LIMIT 0").description]
    rows = store.conn.execute("SELECT * FROM decisions WHERE action != 'undo' ORDER BY id DESC LIMIT ?", (limit,))
    return [(Decision(**dict(zip(cols, r))), r[0] in undone) for r in rows]


def save_revision(store: Store, example_id: int, messages: list[Message], families: dict[str, Any] | None = None) -> int:
    """Store an edited conversation as a revision linked to the original, and run the cheap gates on it."""
    from curator.gates.runner import PER_EXAMPLE, insert_verdict, check_example, update_status

    original = store.example(example_id)
    revision = original.model_copy(update={
        "id": None, "uid": None, "lineage": original.lineage, "superseded_by": None, "kind": "revision", "source_type": "revision", "parent_id": example_id, "messages": messages,
        "state": "new", "gate_status": None, "created_at": now_iso(),
        "metadata": {**original.metadata, "revised_by": "curator"},
    })
    revision.key_hash = key_hash(conversation_text(messages))
    passage_text = store.passage(original.passage_id).text if original.passage_id is not None else None
    family = (families or {}).get(original.family)
    with store.transaction():
        revision_id = store.add_example(revision)
        store.add_decision(Decision(example_id=example_id, action="edit", note=f"revision #{revision_id}"))
        for name, verdict in check_example(revision, family, passage_text).items():
            insert_verdict(store, revision_id, name, PER_EXAMPLE[name].version, verdict)
    update_status(store, [revision_id])
    return revision_id


def verdict_lines(verdicts: dict[str, dict]) -> list[tuple[str, str, str]]:
    """(gate, verdict, reason and key evidence) for display, failures first."""
    order = {"fail": 0, "flag": 1, "pass": 2}
    lines = []
    for gate, v in sorted(verdicts.items(), key=lambda kv: (order.get(kv[1]["verdict"], 3), kv[0])):
        detail = {k: val for k, val in v["detail"].items() if k not in ("scores",)}
        evidence = json.dumps(detail, ensure_ascii=False)[:160] if v["verdict"] != "pass" else ""
        lines.append((gate, v["verdict"] + (" (audited)" if v.get("audited") else ""), f"{v['reason']} {evidence}".strip()))
    return lines
