"""Examples: candidates, revisions, seeds (with versions) and private eval items."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import ValidationError

from curator.errors import CuratorError
from curator import trainable
from curator.models import Example
from curator.store.base import decode, encode, new_uid
from curator.store.predicates import ACTIVE, CURRENT_SEED, DECIDABLE, EVAL, FEWSHOT, SET_POOL

# Columns that are not the model's: the job item a row answers, and what its conversation says of its
# training (`trainable.facts`, kept when it is written: FACT_COLUMNS).
FACT_COLUMNS = ("untrainable", "prompt_chars", "response_chars", "turns", "facts_rules")
_NOT_MODEL = ("job_item", *FACT_COLUMNS)
# Active candidates the per-example gates have not seen (every gated row has a format verdict).
_UNGATED = (f"{ACTIVE} AND state = 'new' AND NOT EXISTS "
            "(SELECT 1 FROM current_verdicts c WHERE c.example_id = examples.id AND c.gate = 'format')")
# What the triage queues hold (over DECIDABLE rows).
_QUEUES = {
    "pending": "state IN ('new', 'gated')",
    "flagged": "state IN ('new', 'gated') AND gate_status = 'flag'",
    "failed": "state IN ('new', 'gated') AND gate_status = 'fail'",
    "accepted": "state = 'accepted'",
    "audit": "(state = 'rejected' OR gate_status = 'fail')",
    "judge": "state IN ('new', 'gated') AND EXISTS "
             "(SELECT 1 FROM current_verdicts c WHERE c.example_id = examples.id AND c.gate = 'judge')",
}


class BadRow(CuratorError):
    """A stored row that no longer validates (say, written by an older version)."""

    def __init__(self, example_id: int, problem: str, row: dict[str, Any]) -> None:
        super().__init__(f"example #{example_id}: {problem}")
        self.example_id = example_id
        self.problem = problem
        self.row = row


def _problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    return f"{'.'.join(map(str, first['loc'])) or '(row)'}: {first['msg']}"


class ExampleQueries:
    def add_example(self, example: Example, *, job_item: int | None = None, ignore_existing: bool = False) -> int | None:
        """Insert an example (a uid and lineage are given if it has none); with `ignore_existing`, a
        row that breaks a uniqueness rule (the same seed, the same job item) is skipped: returns None."""
        dumped = example.model_dump(mode="json", exclude={"id"}, exclude_none=False)
        found = trainable.facts(dumped["messages"], dumped.get("tools"))  # (of the conversation as stored)
        row = encode("examples", dumped)
        row.update(zip(FACT_COLUMNS, (*found, trainable.RULES)))
        row["uid"] = row.get("uid") or new_uid()
        row["lineage"] = row.get("lineage") or row["uid"]
        row["job_item"] = job_item
        columns = ", ".join(f'"{c}"' for c in row)
        verb = "INSERT OR IGNORE" if ignore_existing else "INSERT"
        with self.transaction():
            cur = self.conn.execute(
                f"{verb} INTO examples ({columns}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
            return cur.lastrowid if cur.rowcount else None

    def refresh_facts(self, batch: int = 2000) -> int:
        """Keep `trainable.facts` of every example whose kept facts are missing (written before schema 13,
        or by a writer that left them out) or were made by other rules; returns how many were made (a row
        whose conversation does not parse gets none). Once done under the current rules (a mark), only the
        rows with none are looked for."""
        mark = "facts.rules"
        where, params = (("facts_rules IS NULL", ()) if self.gate_marks().get(mark) == trainable.RULES
                         else ("facts_rules IS NOT ?", (trainable.RULES,)))
        ids = [r[0] for r in self.conn.execute(f"SELECT id FROM examples WHERE {where} ORDER BY id", params)]
        count = 0
        for start in range(0, len(ids), batch):
            made = []
            for example_id, messages, tools in self.rows_in("SELECT id, messages, tools FROM examples WHERE id IN "
                                                            "({in})", ids[start:start + batch]):
                try:
                    found = trainable.facts(json.loads(messages), json.loads(tools) if tools else None)
                except (TypeError, ValueError, KeyError, AttributeError):
                    continue  # (a damaged row keeps none: the gates report it, the export reads it whole)
                made.append((*found, trainable.RULES, example_id))
            count += len(made)
            with self.transaction():
                self.conn.executemany(
                    f"UPDATE examples SET {', '.join(c + ' = ?' for c in FACT_COLUMNS)} WHERE id = ?", made)
        self.set_gate_marks({mark: trainable.RULES})
        return count

    def _example_rows(self, where: str, params: Iterable[Any] = (), limit: int | None = None) -> Iterator[dict]:
        cur = self.conn.execute(f"SELECT * FROM examples WHERE {where} ORDER BY id LIMIT ?",
                                [*params, -1 if limit is None else limit])
        cols = [c[0] for c in cur.description]
        for values in cur:
            yield dict(zip(cols, values))

    @staticmethod
    def _to_example(row: dict[str, Any]) -> Example:
        data = {k: v for k, v in row.items() if k not in _NOT_MODEL}
        try:
            return Example(**decode("examples", data))
        except (ValidationError, ValueError) as exc:
            problem = _problem(exc) if isinstance(exc, ValidationError) else str(exc)
            raise BadRow(row["id"], problem, row) from exc

    def example(self, example_id: int) -> Example:
        rows = list(self._example_rows("id = ?", [example_id]))
        if not rows:
            raise KeyError(example_id)
        return self._to_example(rows[0])

    def iter_examples(self, where: str, params: Iterable[Any] = (), *, limit: int | None = None,
                      bad: list[BadRow] | None = None) -> Iterator[Example]:
        """Examples matching a store predicate (see `predicates`); rows that fail validation are
        collected in `bad` (or raise BadRow when no list is given)."""
        for row in self._example_rows(where, params, limit):
            try:
                yield self._to_example(row)
            except BadRow as exc:
                if bad is None:
                    raise
                bad.append(exc)

    def seeds(self, *, role: str | None = None, family: str | None = None) -> list[Example]:
        """Current seed versions (of one role or family)."""
        where, params = CURRENT_SEED, []
        if role is not None:
            where += " AND role = ?"
            params.append(role)
        if family is not None:
            where += " AND family = ?"
            params.append(family)
        return list(self.iter_examples(where, params))

    def fewshot_seeds(self, family: str | None = None) -> list[Example]:
        """Seeds that may be shown to the teacher: role fewshot, current version, never eval."""
        if family is None:
            return list(self.iter_examples(FEWSHOT))
        return list(self.iter_examples(f"{FEWSHOT} AND family = ?", [family]))

    def eval_examples(self) -> list[Example]:
        """Every private eval item (imported items and eval seeds, every version)."""
        return list(self.iter_examples(EVAL))

    def decidable_families(self) -> list[str]:
        return sorted(r[0] for r in self.conn.execute(f"SELECT DISTINCT family FROM examples WHERE {DECIDABLE}"))

    def set_example_state(self, example_id: int, state: str) -> None:
        self.conn.execute("UPDATE examples SET state = ? WHERE id = ?", (state, example_id))

    def supersede(self, old_id: int, new_id: int) -> None:
        """`new_id` replaces `old_id` (a revision, a new seed version): the old one leaves queues and rotations."""
        self.conn.execute("UPDATE examples SET superseded_by = ? WHERE id = ?", (new_id, old_id))

    def is_decidable(self, example_id: int) -> bool:
        """A candidate or revision not superseded: a curator may decide on it."""
        return self.conn.execute(f"SELECT 1 FROM examples WHERE id = ? AND {DECIDABLE}", (example_id,)).fetchone() is not None

    def existing_ids(self, example_ids: list[int]) -> set[int]:
        return {r[0] for r in self.rows_in("SELECT id FROM examples WHERE id IN ({in})", example_ids)}

    # -- the gates' reads and writes --------------------------------------------------------------

    def ungated_examples(self, limit: int, bad: list[BadRow]) -> list[Example]:
        """Up to `limit` active candidates the per-example gates have not seen; rows that no longer
        validate go to `bad` (they count toward `limit`)."""
        return list(self.iter_examples(_UNGATED, limit=limit, bad=bad))

    def count_ungated(self) -> int:
        return self.conn.execute(f"SELECT count(*) FROM examples WHERE {_UNGATED}").fetchone()[0]

    def dedup_pool(self) -> list[tuple[int, str, str, str, str]]:
        """(id, kind, state, family, messages JSON) of active candidates and current non-eval seeds:
        what dedup compares (and, less the seeds, what decontamination checks)."""
        return self.conn.execute(f"SELECT id, kind, state, family, messages FROM examples WHERE {SET_POOL} "
                                 "ORDER BY id").fetchall()

    def eval_messages(self) -> list[tuple[int, str]]:
        """(id, messages JSON) of every private eval item."""
        return self.conn.execute(f"SELECT id, messages FROM examples WHERE {EVAL} ORDER BY id").fetchall()

    def status_rows(self, example_ids: list[int]) -> list[tuple[int, str, str, str | None]]:
        """(id, kind, state, gate_status) of the given examples."""
        return list(self.rows_in("SELECT id, kind, state, gate_status FROM examples WHERE id IN ({in})", example_ids))

    def set_gate_status(self, changes: list[tuple[str | None, str, int]]) -> None:
        """(gate_status, state, id) for each example, in one transaction (keep batches ≤ 500)."""
        with self.transaction():
            self.conn.executemany("UPDATE examples SET gate_status = ?, state = ? WHERE id = ?", changes)

    # -- triage ------------------------------------------------------------------------------------

    def triage_queue_ids(self, queue: str, *, family: str | None = None, gate_status: str | None = None,
                         tag: str | None = None, search: str | None = None, state: str | None = None,
                         gate: tuple[str, str | None] | None = None, reason: str | None = None,
                         cluster: int | None = None, judge: tuple[float | None, float | None] | None = None,
                         predicted: tuple[float | None, float | None] | None = None,
                         order: str = "review") -> list[int]:
        """Decidable ids of a triage queue (see `_QUEUES`; "all" is every decidable row) with optional
        filters, in review order (pending: gated before new, then by id) or by the predictor's estimate
        (`order`: "uncertain" nearest 0.5 first, "reject" likeliest reject first; rows without one last).

        `gate` is (gate, verdict or None for "not pass"), `reason` a non-passing gate's reason, `cluster` a
        near-duplicate cluster, `judge` and `predicted` (P(reject)) inclusive ranges with open ends."""
        sql = f"SELECT id FROM examples WHERE {DECIDABLE} AND {_QUEUES.get(queue, '1')}"
        params: list[Any] = []
        if family:
            sql += " AND family = ?"
            params.append(family)
        if gate_status:
            sql += " AND gate_status = ?"
            params.append(gate_status)
        if state:
            sql += " AND state = ?"
            params.append(state)
        if tag:
            sql += " AND passage_id IN (SELECT p.id FROM passages p, json_each(p.tags) t WHERE t.value = ?)"
            params.append(tag)
        if search:
            sql += " AND messages LIKE ?"
            params.append(f"%{search}%")
        if gate:
            name, verdict = gate
            sql += (" AND id IN (SELECT c.example_id FROM current_verdicts c WHERE c.gate = ? AND "
                    + ("c.verdict = ?)" if verdict else "c.verdict != 'pass')"))
            params += [name, verdict] if verdict else [name]
        if reason:
            sql += (" AND id IN (SELECT c.example_id FROM current_verdicts c JOIN gate_verdicts v ON v.id = c.verdict_id "
                    "WHERE c.verdict != 'pass' AND v.reason = ?)")
            params.append(reason)
        if cluster is not None:
            sql += " AND id IN (SELECT example_id FROM sketches WHERE cluster = ?)"
            params.append(cluster)
        for column, bounds in (("judge", judge), ("predicted", predicted)):
            if bounds is None:
                continue
            low, high = bounds
            if column == "judge":
                sql += (" AND id IN (SELECT c.example_id FROM current_verdicts c JOIN gate_verdicts v ON "
                        "v.id = c.verdict_id WHERE c.gate = 'judge' AND v.score BETWEEN ? AND ?)")
            else:
                sql += " AND id IN (SELECT example_id FROM predictions WHERE p_reject BETWEEN ? AND ?)"
            params += [-1e9 if low is None else low, 1e9 if high is None else high]
        if order in ("uncertain", "reject"):
            key = "abs(p.p_reject - 0.5)" if order == "uncertain" else "-p.p_reject"
            sql = (f"SELECT s.id FROM ({sql}) s LEFT JOIN predictions p ON p.example_id = s.id "
                   f"ORDER BY p.p_reject IS NULL, {key}, s.id")
        elif queue == "pending":
            sql += " ORDER BY CASE state WHEN 'gated' THEN 0 ELSE 1 END, id"
        else:
            sql += " ORDER BY id"
        return [r[0] for r in self.conn.execute(sql, params)]
