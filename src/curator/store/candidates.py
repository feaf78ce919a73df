"""Candidate listings for scripts (`curator candidates list`) and candidates from elsewhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from curator.models import Example, Passage
from curator.store.stats import COUNTED

_LISTED = ("id", "uid", "kind", "family", "state", "gate_status", "superseded_by", "metadata")


class CandidateQueries:
    def candidate_rows(self, *, state: str | None = None, family: str | None = None) -> Iterator[dict[str, Any]]:
        """Candidates and revisions (superseded ones too, which say so), in id order, without their
        conversations: id, uid, kind, family, state, gate_status, superseded_by, metadata."""
        sql = f"SELECT {', '.join(_LISTED)} FROM examples WHERE kind IN ('candidate', 'revision')"
        params: list[Any] = []
        if state is not None:
            sql += " AND state = ?"
            params.append(state)
        if family is not None:
            sql += " AND family = ?"
            params.append(family)
        for row in self.conn.execute(sql + " ORDER BY id", params):
            out = dict(zip(_LISTED, row))
            out["metadata"] = json.loads(out["metadata"])
            yield out

    def failing_gates(self, example_ids: list[int], gates: tuple[str, ...]) -> dict[int, list[str]]:
        """example id -> which of `gates` currently fail it (the gates' own verdicts, audits aside:
        what export reads)."""
        out: dict[int, list[str]] = {}
        marks = ",".join("?" * len(gates))
        for start in range(0, len(example_ids), 500):
            part = example_ids[start:start + 500]
            for example_id, gate in self.conn.execute(
                    f"SELECT example_id, gate FROM current_verdicts WHERE example_id IN ({','.join('?' * len(part))}) "
                    f"AND gate IN ({marks}) AND verdict = 'fail' ORDER BY example_id, gate", (*part, *gates)):
                out.setdefault(example_id, []).append(gate)
        return out

    def counted_failing_rows(self, gates: tuple[str, ...]) -> Iterator[dict[str, Any]]:
        """The coverage fields of every example coverage counts that one of `gates` currently fails."""
        marks = ",".join("?" * len(gates))
        return self._coverage_rows(
            f"{COUNTED} AND id IN (SELECT example_id FROM current_verdicts WHERE gate IN ({marks}) "
            "AND verdict = 'fail')", gates)

    def passage_exists(self, passage_id: int) -> bool:
        return self.conn.execute("SELECT 1 FROM passages WHERE id = ?", (passage_id,)).fetchone() is not None

    def add_imported(self, items: list[tuple[Passage | None, Example]]) -> int:
        """Candidates from elsewhere, each with the passage it came with (stored once per match key and
        linked), in one transaction (keep batches ≤ 500). A candidate whose uid is stored already is
        skipped; returns how many were added."""
        added = 0
        with self.transaction():
            for passage, example in items:
                if passage is not None:
                    self.insert_passages([passage])
                    passage_id = self.conn.execute("SELECT id FROM passages WHERE key_hash = ?",
                                                   (passage.key_hash,)).fetchone()[0]
                    example = example.model_copy(update={"passage_id": passage_id})
                added += self.add_example(example, ignore_existing=True) is not None
        return added
