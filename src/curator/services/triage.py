"""Triage: queues, filters, the card for one candidate, decisions, undo and edits.

Decisions are an append-only log; undo is a decision that names the one it undoes. A candidate's
state follows from its effective (not undone) accept/reject decisions. Every decision commits in
one transaction before the caller shows the next candidate, and every read on that path uses an
index (nothing scans the decision history). An edit saves a revision that supersedes its original:
the original leaves every queue and can no longer be decided; the revision keeps its lineage.
"""

from __future__ import annotations

import json
import random
import re
import statistics
from dataclasses import dataclass, field
from typing import Any

from curator.errors import CuratorError
from curator.services.gating.runner import PER_EXAMPLE, check_example, update_status
from curator.models import Decision, Example, Message, now_iso
from curator.policy import exclusion_reason
from curator.gates.evidence import matches, word_diff
from curator.gates.evidence import summary as evidence_summary
from curator.store import BadRow, Store
from curator.store.decisions import STATE_OF

QUEUES = {
    "pending": "Pending review",
    "flagged": "Flagged by a gate",
    "mine": "Flagged by me",
    "failed": "Failed by a gate",
    "judge": "Judge disagrees with the rule gates",
    "audit": "Audit: a sample of rejected candidates",
    "accepted": "Accepted",
}
ACTIONS = ("accept", "reject", "skip", "flag", "note")
AUDIT_SAMPLE = 50


class TriageError(CuratorError, ValueError):
    """A decision that cannot be made: an unknown id, or a row that is not (or no longer) decidable."""


Range = tuple[float | None, float | None]
# The keys a filter takes (`KEY=VALUE`), as the CLI's --where and the app's filter bar write them.
FILTER_KEYS = {
    "family": "a task family",
    "state": "new, gated, accepted or rejected",
    "verdict": "the gates' status: pass, flag or fail",
    "gate": "a gate that does not pass it (gate or gate:fail / gate:flag)",
    "reason": "the reason a gate gives, e.g. paraphrase_of_eval",
    "tag": "a tag of the source passage",
    "search": "text in the conversation",
    "cluster": "a near-duplicate cluster (a number)",
    "judge": "the judge's score: 0.8, 0.5..0.8, ..0.4 or 0.7..",
    "predicted": "the predictor's guess: accept, reject, or a P(reject) range such as 0.9..",
}
ORDERS = {"review": "review order", "uncertain": "most uncertain first", "reject": "likeliest reject first"}


@dataclass(frozen=True)
class Filters:
    family: str | None = None
    verdict: str | None = None  # gate status: pass | flag | fail
    tag: str | None = None  # a tag of the source passage
    search: str | None = None  # text in the conversation
    state: str | None = None  # new | gated | accepted | rejected
    gate: tuple[str, str | None] | None = None  # a gate that does not pass (with the verdict, if one is named)
    reason: str | None = None  # a non-passing gate's reason
    cluster: int | None = None  # a near-duplicate cluster
    judge: Range | None = None  # the judge's score, inclusive
    predicted: Range | None = None  # the predictor's P(reject), inclusive

    def replace(self, **changes: Any) -> "Filters":
        return Filters(**{**self.__dict__, **changes})

    @classmethod
    def parse(cls, pairs: list[str] | tuple[str, ...] | str) -> "Filters":
        """`KEY=VALUE` pairs (a list, or one string of them split on spaces; quote a value with spaces in
        the app as search="two words") as a filter; TriageError names the pair that is wrong."""
        if isinstance(pairs, str):
            pairs = _split_pairs(pairs)
        found: dict[str, Any] = {}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            key, value = key.strip().lower(), value.strip()
            if not sep or key not in FILTER_KEYS:
                raise TriageError(f"{pair!r}: a filter is KEY=VALUE with KEY one of {', '.join(FILTER_KEYS)}")
            if not value:
                raise TriageError(f"{pair!r}: {key} needs a value ({FILTER_KEYS[key]})")
            if key in found:
                raise TriageError(f"{pair!r}: {key} is given twice")
            found[key] = _filter_value(key, value, pair)
        return cls(**found)

    def text(self) -> str:
        """The filter as `KEY=VALUE` pairs (what `parse` reads back)."""
        parts = []
        for key in FILTER_KEYS:
            value = getattr(self, key)
            if value is None:
                continue
            if key == "gate":
                value = value[0] + (f":{value[1]}" if value[1] else "")
            elif key in ("judge", "predicted"):
                value = _range_text(value)
            elif key == "search" and (" " in value or '"' in value):
                value = json.dumps(value, ensure_ascii=False)
            parts.append(f"{key}={value}")
        return " ".join(parts)

    def store_args(self) -> dict[str, Any]:
        return {"family": self.family, "gate_status": self.verdict, "tag": self.tag, "search": self.search,
                "state": self.state, "gate": self.gate, "reason": self.reason, "cluster": self.cluster,
                "judge": self.judge, "predicted": self.predicted}


def _split_pairs(text: str) -> list[str]:
    pairs, current, quoted = [], "", False
    for ch in text.strip():
        if ch == '"':
            quoted = not quoted
        elif ch.isspace() and not quoted:
            if current:
                pairs.append(current)
            current = ""
        else:
            current += ch
    if quoted:
        raise TriageError(f"{text.strip()!r}: a quote is not closed")
    return pairs + ([current] if current else [])


def _range_text(bounds: Range) -> str:
    low, high = bounds
    if low == high:
        return f"{low:g}"
    return ("" if low is None else f"{low:g}") + ".." + ("" if high is None else f"{high:g}")


def _parse_range(value: str, pair: str) -> Range:
    low, sep, high = value.partition("..")
    try:
        if not sep:
            return float(value), float(value)
        bounds = (float(low) if low.strip() else None, float(high) if high.strip() else None)
    except ValueError:
        raise TriageError(f"{pair!r}: a score or a range of them (0.8, 0.5..0.8, ..0.4, 0.7..)") from None
    if bounds == (None, None) or (None not in bounds and bounds[0] > bounds[1]):
        raise TriageError(f"{pair!r}: the range is empty")
    return bounds


def _filter_value(key: str, value: str, pair: str) -> Any:
    if key == "state" and value not in ("new", "gated", "accepted", "rejected"):
        raise TriageError(f"{pair!r}: state is new, gated, accepted or rejected")
    if key == "verdict" and value not in ("pass", "flag", "fail"):
        raise TriageError(f"{pair!r}: verdict is pass, flag or fail")
    if key == "gate":
        name, _, verdict = value.partition(":")
        if verdict and verdict not in ("pass", "flag", "fail"):
            raise TriageError(f"{pair!r}: gate:VERDICT takes pass, flag or fail")
        return name, verdict or None
    if key == "cluster":
        if not value.isdigit():
            raise TriageError(f"{pair!r}: a cluster is a number")
        return int(value)
    if key == "judge":
        return _parse_range(value, pair)
    if key == "predicted":
        if value == "reject":
            return 0.5, None
        if value == "accept":
            return None, 0.5 - 1e-9
        return _parse_range(value, pair)
    return value


def queue_ids(store: Store, queue: str = "pending", filters: Filters = Filters(), *, seed: int = 0,
              order: str = "review") -> list[int]:
    """The ids of a queue (`QUEUES`, or "all": every decidable candidate), in review order or by the
    predictor's estimate (`ORDERS`)."""
    if queue not in QUEUES and queue != "all":
        raise TriageError(f"unknown queue {queue!r} (one of {', '.join(QUEUES)})")
    if order not in ORDERS:
        raise TriageError(f"unknown order {order!r} (one of {', '.join(ORDERS)})")
    if queue == "mine":  # the curator's own flags, still undecided
        flagged = store.curator_flagged_ids()
        if filters == Filters() or not flagged:
            return flagged
        kept = set(store.triage_queue_ids("pending", **filters.store_args()))
        return [i for i in flagged if i in kept]
    ids = store.triage_queue_ids(queue, **filters.store_args(), order=order)
    if queue == "judge" and ids:
        verdicts = store.current_verdicts(ids)
        ids = [i for i in ids if _judge_disagrees(verdicts.get(i, {}))]
    if queue == "audit":
        ids = sorted(random.Random(seed).sample(ids, min(len(ids), AUDIT_SAMPLE)))
    return ids


def _judge_disagrees(gates: dict[str, dict]) -> bool:
    judge = gates.get("judge", {}).get("verdict")
    rules_ok = all(g["verdict"] == "pass" for name, g in gates.items() if name != "judge")
    return (judge == "pass") != rules_ok


def filter_families(store: Store) -> list[str]:
    """The families a triage filter can pick."""
    return store.decidable_families()


def filter_tags(store: Store) -> list[str]:
    """The passage tags a triage filter can pick."""
    return store.passage_tags()


@dataclass
class Card:
    """Everything the triage screen shows for one candidate."""

    example: Example
    verdicts: dict[str, dict]
    passage_text: str | None
    passage_tags: list[str] = field(default_factory=list)
    decisions: list[tuple[Decision, bool]] = field(default_factory=list)  # oldest first, with "undone"
    export_verdicts: dict[str, dict] = field(default_factory=dict)  # the gates' own verdicts (what export reads)
    predicted: float | None = None  # the predictor's P(reject), if it has estimated this candidate

    @property
    def decided(self) -> bool:
        """Whether the curator has accepted or rejected it (an undone decision does not count)."""
        return any(d.action in STATE_OF and not undone for d, undone in self.decisions)

    def history(self) -> list[str]:
        """The card's notes, flags and earlier decisions, oldest first, one short line each."""
        lines = []
        for d, undone in self.decisions:
            if d.action == "undo":
                continue
            what = d.action + (f" ({d.reason})" if d.reason else "") + (f": {d.note}" if d.note else "")
            lines.append(f"{d.created_at[5:16].replace('T', ' ')} {what}{' (undone)' if undone else ''}")
        return lines

    def accept_warnings(self) -> list[str]:
        """Why accepting this candidate deserves a second look: a gate fails it, or export would drop it."""
        warnings = []
        failed = [line.gate for line in gate_lines(self.verdicts) if line.verdict.startswith("fail")]
        if failed:
            warnings.append("fails " + ", ".join(failed))
        row = {"kind": self.example.kind, "role": self.example.role, "tools": self.example.tools,
               "messages": [m.model_dump(exclude_none=True) for m in self.example.messages]}
        if dropped := exclusion_reason(row, self.export_verdicts):
            warnings.append(f"export drops it ({dropped.removeprefix('excluded: ')})")
        if self.example.superseded_by is not None:
            warnings.append(f"export drops it (replaced by #{self.example.superseded_by})")
        return warnings


def load_card(store: Store, example_id: int) -> Card:
    """One candidate with its current verdicts (after audits), passage and decisions. A stored row
    that no longer validates raises `BadRow`."""
    example = store.example(example_id)
    passage_text, tags = None, []
    if example.passage_id is not None:
        passage = store.passage(example.passage_id)
        passage_text, tags = passage.text, passage.tags
    verdicts = store.current_verdicts([example_id], with_audits=True).get(example_id, {})
    export_verdicts = {gate: {**v, "verdict": v.get("gate_verdict", v["verdict"])} for gate, v in verdicts.items()}
    return Card(example=example, verdicts=verdicts, passage_text=passage_text, passage_tags=tags,
                decisions=store.decisions_with_undone(example_id), export_verdicts=export_verdicts,
                predicted=store.predictions([example_id]).get(example_id))


def accept_warnings(store: Store, example_id: int) -> list[str]:
    """Why accepting a candidate deserves a second look (a gate fails it, or export would drop it), as the
    triage screen's second `a` asks; empty when nothing does. A row that no longer validates cannot train."""
    try:
        return load_card(store, example_id).accept_warnings()
    except BadRow as exc:
        return [f"export drops it (cannot train: {exc.problem})"]


def _require_decidable(store: Store, example_id: int) -> None:
    if store.is_decidable(example_id):
        return
    try:
        row = store.example(example_id)
    except KeyError:
        raise TriageError(f"no candidate #{example_id}") from None
    if row.superseded_by is not None:
        raise TriageError(f"#{example_id} cannot be decided: #{row.superseded_by}, its revision, replaced it "
                          f"(decide #{row.superseded_by})")
    raise TriageError(f"#{example_id} cannot be decided: it is a {row.kind.replace('_', ' ')}, not a candidate")


def unknown_ids(store: Store, example_ids: list[int]) -> list[int]:
    """The ids with no example behind them."""
    known = store.existing_ids(example_ids)
    return [i for i in example_ids if i not in known]


def check_decidable(store: Store, example_ids: list[int]) -> None:
    """Raise `TriageError` naming every id that is unknown or not decidable."""
    unknown = unknown_ids(store, example_ids)
    if unknown:
        raise TriageError("no candidate " + ", ".join(f"#{i}" for i in unknown))
    for example_id in example_ids:
        _require_decidable(store, example_id)


def reason_code(text: str) -> str:
    """A typed reason as a reason code (lowercase, spaces as _), the form the curation log counts;
    TriageError when it cannot be one."""
    code = "_".join(text.strip().lower().split())
    if not re.fullmatch(r"[a-z0-9_]{1,32}", code):
        raise TriageError(f"a reason code is up to 32 lowercase letters, digits and _ (not {text.strip()!r})")
    return code


def decide(store: Store, example_id: int, action: str, *, seconds: float | None = None, note: str | None = None,
           reason: str | None = None) -> int:
    """Record a decision (accept, reject, skip, flag, note), with an optional reason code, and the
    state it implies, in one transaction; returns the decision's id."""
    if action not in ACTIONS:
        raise TriageError(f"unknown action {action!r} (one of {', '.join(ACTIONS)})")
    if reason is not None:
        reason = reason_code(reason)
    with store.transaction():
        _require_decidable(store, example_id)
        decision_id = store.add_decision(Decision(example_id=example_id, action=action, seconds=seconds, note=note,
                                                  reason=reason))
        if action in STATE_OF:
            store.set_example_state(example_id, STATE_OF[action])
    return decision_id


def undo(store: Store, decision_id: int | None = None, *, example_id: int | None = None) -> Decision | None:
    """Undo a decision by appending an undo; the example's state follows. Which one: `decision_id`,
    else the latest effective decision of `example_id`, else the latest of all. Returns the decision
    undone, or None when there is nothing to undo. When the latest of all is part of a bulk, the whole
    bulk is undone (`services.bulk.undo`, in short transactions) and its decision is returned."""
    if decision_id is None and example_id is None:
        latest = store.last_undoable()
        if latest is not None and latest.bulk is not None:
            from curator.services import bulk

            bulk.undo(store, latest.bulk)
            return latest
    with store.transaction():
        if decision_id is not None:
            found = store.decision(decision_id)
            if found is None or found[1] or found[0].action in ("undo", "edit"):
                return None
            target = found[0]
        else:
            target = store.last_undoable(example_id)
            if target is None:
                return None
        store.add_decision(Decision(example_id=target.example_id, action="undo", undoes=target.id))
        store.set_example_state(target.example_id, store.effective_state(target.example_id))
    return target


def recent_decisions(store: Store, limit: int = 8) -> list[tuple[Decision, bool]]:
    """The latest decisions, newest first, each with whether it has been undone."""
    return store.recent_decisions(limit)


def save_revision(store: Store, example_id: int, messages: list[Message], families: dict[str, Any] | None = None) -> int:
    """Store an edited conversation as a revision that supersedes the original (same lineage, a new
    uid), with its cheap gates' verdicts and status, in one transaction; returns the revision's id."""
    _require_decidable(store, example_id)
    original = store.example(example_id)
    revision = original.copy_with(**{
        "id": None, "uid": None, "lineage": original.lineage, "version": original.version + 1, "superseded_by": None,
        "kind": "revision", "source_type": "revision", "parent_id": example_id, "messages": messages,
        "state": "new", "gate_status": None, "created_at": now_iso(),
        "metadata": {**original.metadata, "revised_by": "curator"},
    })
    passage_text = store.passage(original.passage_id).text if original.passage_id is not None else None
    verdicts = check_example(revision, (families or {}).get(original.family), passage_text)
    with store.transaction():
        _require_decidable(store, example_id)  # again: another writer may have edited it meanwhile
        revision_id = store.add_example(revision)
        store.supersede(example_id, revision_id)
        store.add_decision(Decision(example_id=example_id, action="edit", note=f"revision #{revision_id}"))
        store.insert_verdicts([(revision_id, name, PER_EXAMPLE[name].version, v.verdict, v.reason, v.score, v.detail)
                               for name, v in verdicts.items()])
        update_status(store, [revision_id])
    return revision_id


@dataclass(frozen=True)
class GateLine:
    """One gate's verdict in one line: the reason and its key evidence, not the raw detail."""

    gate: str
    verdict: str  # pass | flag | fail, with " (audited)" when the curator overruled it
    summary: str


# The evidence that names the problem best, per detail key, in order of preference.
_EVIDENCE = ("eval_item", "eval_items", "keeper", "text", "phrase", "word", "computation", "stated", "tool", "field",
             "characters", "finglish_words", "unsupported_words", "problem", "why", "error", "expected", "language")


def _evidence(detail: dict[str, Any]) -> str:
    for key in _EVIDENCE:
        value = detail.get(key)
        if value in (None, "", []):
            continue
        if key in ("eval_item", "keeper"):
            return f"#{value}"
        if key == "eval_items":
            return " ".join(f"#{v}" for v in value[:3]) + (f" +{len(value) - 3}" if len(value) > 3 else "")
        if key == "stated":
            return f"{value} ≠ {detail.get('expected')}"
        if key == "computation":
            return f"{value} (correct {detail.get('correct')})"
        if isinstance(value, list):
            return "«" + "، ".join(map(str, value[:4])) + "»"
        return f"«{value}»" if key in ("text", "phrase", "word", "why") else str(value)
    return ""


def gate_lines(verdicts: dict[str, dict], *, blind: bool = False) -> list[GateLine]:
    """One line per gate, failures first: e.g. `decontam_meaning fail paraphrase_of_eval #812 (0.94)`.
    Blind: the judge's line and every verdict are hidden (the gates that ran are still named)."""
    order = {"fail": 0, "flag": 1, "pass": 2}
    if blind:
        return [GateLine(gate, "?", "hidden until you decide (blind mode)") for gate in sorted(verdicts)]
    lines = []
    for gate, v in sorted(verdicts.items(), key=lambda kv: (order.get(kv[1]["verdict"], 3), kv[0])):
        summary = v["reason"] or ""
        if v["verdict"] != "pass":
            evidence = _evidence(v.get("detail") or {})
            summary += f" {evidence}" if evidence else ""
            if v.get("score") is not None:
                summary += f" ({v['score']:.2f})"
        lines.append(GateLine(gate, v["verdict"] + (" (audited)" if v.get("audited") else ""), summary))
    return lines


@dataclass(frozen=True)
class Evidence:
    """A duplicate's or a leak's evidence, side by side: the one-line summary, this candidate's text, the
    matched item's text with its label, and the word diff of the two (`gates.evidence`)."""

    summary: str
    this: str
    other: str
    other_label: str
    diff: dict[str, list[str]]


def _said(messages: list) -> str:
    return "\n".join(m.content for m in messages if m.role in ("user", "assistant") and m.content)


def evidence(store: Store, card: Card, *, blind: bool = False) -> list[Evidence]:
    """For each failing dedup or decontamination gate of a card: the matched item and what they share."""
    if blind and not card.decided:
        return []
    this = _said(card.example.messages)
    found = []
    for match in matches(card.verdicts):
        try:
            other = _said(store.example(int(match["matched"])).messages)
        except (BadRow, KeyError, TypeError, ValueError):
            other = "(the matched item can no longer be read)"
        found.append(Evidence(evidence_summary(match), this, other, f"{match['against']} #{match['matched']}",
                              word_diff(this, other)))
    return found


def gate_details(verdicts: dict[str, dict], *, blind: bool = False) -> str:
    """Every gate's full verdict: reason, score and the whole evidence as indented JSON."""
    if blind:
        return "Blind mode: the verdicts are shown once you have decided."
    parts = []
    for line in gate_lines(verdicts):
        v = verdicts[line.gate]
        parts.append(f"{line.gate}: {line.verdict} · {v['reason']}"
                     + (f" · score {v['score']:.3f}" if v.get("score") is not None else "")
                     + "\n" + json.dumps(v.get("detail") or {}, ensure_ascii=False, indent=2))
    return "\n\n".join(parts) or "(not gated yet)"


@dataclass
class Session:
    """The accepts and rejects made on cards since the app opened (what leaves the queue): how many, and the
    median seconds each took."""

    seconds: dict[int, float] = field(default_factory=dict)  # decision id -> seconds on the card

    def record(self, decision_id: int, seconds: float | None) -> None:
        self.seconds[decision_id] = seconds if seconds is not None else 0.0

    def forget(self, decision_id: int) -> None:
        """An undone decision no longer counts."""
        self.seconds.pop(decision_id, None)

    @property
    def count(self) -> int:
        return len(self.seconds)

    @property
    def median_seconds(self) -> float | None:
        return statistics.median(self.seconds.values()) if self.seconds else None
