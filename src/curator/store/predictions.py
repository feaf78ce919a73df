"""What the triage predictor reads (each decided or pending candidate's gate verdicts and scores,
family, length and sentence vector) and writes (its latest P(reject) of each pending candidate)."""

from __future__ import annotations

from typing import NamedTuple

from curator.store.predicates import DECIDABLE


class FeatureRow(NamedTuple):
    id: int
    family: str
    length: int  # characters of the conversation (as stored)
    gates: str | None  # `gate=verdict=score;...` of its current verdicts (the gates' own: audits aside)


class PredictionQueries:
    def decided_for_training(self, limit: int) -> list[tuple[int, int]]:
        """(id, 1 if rejected else 0) of up to `limit` decided candidates, the latest first."""
        return [(i, int(state == "rejected")) for i, state in self.conn.execute(
            f"SELECT id, state FROM examples WHERE {DECIDABLE} AND state IN ('accepted', 'rejected') "
            "ORDER BY id DESC LIMIT ?", (limit,))]

    def pending_for_prediction(self) -> list[int]:
        """Every undecided candidate (new or gated), in id order."""
        return [r[0] for r in self.conn.execute(
            f"SELECT id FROM examples WHERE {DECIDABLE} AND state IN ('new', 'gated') ORDER BY id")]

    def decision_mark(self) -> tuple[int, int]:
        """(accepted, rejected) decidable candidates: the predictor retrains when these move."""
        row = self.conn.execute(
            f"SELECT sum(state = 'accepted'), sum(state = 'rejected') FROM examples WHERE {DECIDABLE}").fetchone()
        return row[0] or 0, row[1] or 0

    def feature_rows(self, example_ids: list[int]) -> list[FeatureRow]:
        """What the predictor knows of each example, in the order given."""
        found = {r[0]: FeatureRow(*r) for r in self.rows_in(
            "SELECT e.id, e.family, length(e.messages), (SELECT group_concat(c.gate || '=' || c.verdict || '=' || "
            "coalesce(v.score, ''), ';') FROM current_verdicts c JOIN gate_verdicts v ON v.id = c.verdict_id "
            "WHERE c.example_id = e.id) FROM examples e WHERE e.id IN ({in})", example_ids)}
        return [found[i] for i in example_ids if i in found]

    def main_vectors(self, example_ids: list[int]) -> dict[int, bytes]:
        """example id -> its sentence vector (float16) from the model most examples were embedded with."""
        row = self.conn.execute("SELECT model FROM embeddings GROUP BY model ORDER BY count(*) DESC LIMIT 1").fetchone()
        if row is None:
            return {}
        return dict(self.rows_in("SELECT example_id, whole FROM embeddings WHERE model = ? AND example_id IN ({in})",
                                 example_ids, (row[0],)))

    def put_predictions(self, model: str, rows: list[tuple[int, float]], *, drop: list[int] = ()) -> None:
        """Write these (example id, P(reject)) estimates and drop those of `drop` (candidates decided since),
        500 rows a transaction (a writer deciding meanwhile never waits long), then name the model."""
        for start in range(0, len(rows), 500):
            with self.transaction():
                self.conn.executemany(
                    "INSERT INTO predictions (example_id, p_reject, model) VALUES (?,?,?) ON CONFLICT(example_id) "
                    "DO UPDATE SET p_reject = excluded.p_reject, model = excluded.model",
                    [(i, p, model) for i, p in rows[start:start + 500]])
        for start in range(0, len(drop), 500):
            with self.transaction():
                self.conn.executemany("DELETE FROM predictions WHERE example_id = ?",
                                      [(i,) for i in drop[start:start + 500]])
        with self.transaction():
            self.conn.execute("INSERT OR REPLACE INTO gate_marks (name, value) VALUES ('predictor.model', ?)", (model,))

    def predictions(self, example_ids: list[int] | None = None) -> dict[int, float]:
        """example id -> the latest P(reject)."""
        if example_ids is None:
            return dict(self.conn.execute("SELECT example_id, p_reject FROM predictions"))
        return dict(self.rows_in("SELECT example_id, p_reject FROM predictions WHERE example_id IN ({in})",
                                 example_ids))

    def count_predictions(self) -> int:
        return self.conn.execute("SELECT count(*) FROM predictions").fetchone()[0]

    def prediction_model(self) -> str | None:
        """The model whose estimates the table holds (the latest refresh), or None before the first."""
        row = self.conn.execute("SELECT value FROM gate_marks WHERE name = 'predictor.model'").fetchone()
        return row[0] if row else None

