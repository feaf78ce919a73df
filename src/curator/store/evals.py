"""Eval runs: the student model's answers to the private eval set and their scores. A run's answers
are asked by `eval_answer` jobs (one an eval item, leased and resumable like every job); an answer
is stored with its job's `done` in one transaction. Nothing here is ever part of a training export."""

from __future__ import annotations

import json
from typing import Any

from curator.models import Example, now_iso
from curator.store.predicates import EVAL


class EvalQueries:
    def add_eval_run(self, *, endpoint: str, model: str, api: str, export_version: str | None,
                     params: dict[str, Any]) -> int:
        with self.transaction():
            return self.conn.execute(
                "INSERT INTO eval_runs (created_at, endpoint, model, api, export_version, params) VALUES (?,?,?,?,?,?)",
                (now_iso(), endpoint, model, api, export_version, json.dumps(params, ensure_ascii=False))).lastrowid

    def eval_run(self, run_id: int) -> dict[str, Any] | None:
        found = self._eval_runs("WHERE id = ?", (run_id,))
        return found[0] if found else None

    def eval_runs(self) -> list[dict[str, Any]]:
        """Every run, oldest first."""
        return self._eval_runs("ORDER BY id")

    def _eval_runs(self, where: str, params: tuple = ()) -> list[dict[str, Any]]:
        keys = ("id", "created_at", "endpoint", "model", "api", "export_version", "params", "finished_at")
        runs = [dict(zip(keys, row)) for row in self.conn.execute(f"SELECT {', '.join(keys)} FROM eval_runs {where}",
                                                                   params)]
        for run in runs:
            run["params"] = json.loads(run["params"] or "{}")
        return runs

    def finish_eval_run(self, run_id: int) -> None:
        with self.transaction():
            self.conn.execute("UPDATE eval_runs SET finished_at = ? WHERE id = ?", (now_iso(), run_id))

    def store_eval_answer(self, run_id: int, item_id: int, job_id: int | None, answer: dict[str, Any],
                          raw: str) -> None:
        """One answer (inside the transaction that closes its job's attempt)."""
        with self.transaction():
            self.conn.execute(
                "INSERT INTO eval_answers (run_id, item_id, job_id, answer, raw, created_at) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT (run_id, item_id) DO UPDATE SET answer = excluded.answer, raw = excluded.raw, "
                "job_id = excluded.job_id, created_at = excluded.created_at",
                (run_id, item_id, job_id, json.dumps(answer, ensure_ascii=False), raw, now_iso()))

    def eval_answers(self, run_id: int) -> dict[int, dict[str, Any]]:
        """{eval item id: the student's answer message} of a run."""
        return {item: json.loads(answer) for item, answer in self.conn.execute(
            "SELECT item_id, answer FROM eval_answers WHERE run_id = ?", (run_id,))}

    def answered_eval_items(self, run_id: int) -> set[int]:
        return {r[0] for r in self.conn.execute("SELECT item_id FROM eval_answers WHERE run_id = ?", (run_id,))}

    def replace_eval_scores(self, run_id: int, scores: list[tuple[int, str, int | None, str, dict[str, Any]]]) -> None:
        """A run's scores, (item id, scorer, passed 1/0/None, reason, evidence) each, in place of its old ones."""
        stamp = now_iso()
        with self.transaction():
            self.conn.execute("DELETE FROM eval_scores WHERE run_id = ?", (run_id,))
            self.conn.executemany(
                "INSERT INTO eval_scores (run_id, item_id, scorer, passed, reason, evidence, created_at) "
                "VALUES (?,?,?,?,?,?,?)",
                [(run_id, item, scorer, passed, reason, json.dumps(evidence, ensure_ascii=False), stamp)
                 for item, scorer, passed, reason, evidence in scores])

    def eval_scores(self, run_id: int) -> list[tuple[int, str, int | None, str, dict[str, Any]]]:
        return [(item, scorer, passed, reason, json.loads(evidence or "{}")) for item, scorer, passed, reason, evidence
                in self.conn.execute("SELECT item_id, scorer, passed, reason, evidence FROM eval_scores "
                                     "WHERE run_id = ? ORDER BY item_id, scorer", (run_id,))]

    def current_eval_items(self) -> list[Example]:
        """The private eval set as it is now (the current version of each item), by id."""
        return list(self.iter_examples(f"{EVAL} AND superseded_by IS NULL"))

    def queued_eval_jobs(self, run_id: int) -> list[int]:
        """The run's `eval_answer` jobs still queued, by id."""
        return [r[0] for r in self.conn.execute(
            "SELECT id FROM jobs WHERE kind = 'eval_answer' AND state = 'queued' AND json_extract(params, '$.run') = ? "
            "ORDER BY id", (run_id,))]

    def eval_job_states(self, run_id: int) -> dict[str, int]:
        return dict(self.conn.execute(
            "SELECT state, count(*) FROM jobs WHERE kind = 'eval_answer' AND json_extract(params, '$.run') = ? "
            "GROUP BY state", (run_id,)).fetchall())

    def set_eval_score(self, run_id: int, item_id: int, scorer: str, passed: bool | None, reason: str,
                       evidence: dict[str, Any]) -> None:
        """One scorer's verdict on one item (a judge's, say), in place of the one it had."""
        with self.transaction():
            self.conn.execute(
                "INSERT INTO eval_scores (run_id, item_id, scorer, passed, reason, evidence, created_at) "
                "VALUES (?,?,?,?,?,?,?) ON CONFLICT (run_id, item_id, scorer) DO UPDATE SET passed = excluded.passed, "
                "reason = excluded.reason, evidence = excluded.evidence, created_at = excluded.created_at",
                (run_id, item_id, scorer, None if passed is None else int(passed), reason,
                 json.dumps(evidence, ensure_ascii=False), now_iso()))

    def steering_runs(self, job_ids: list[int]) -> dict[int, int]:
        """{job id: the eval run that steered it} for jobs queued by `augment --from-eval`."""
        return {job: int(run) for job, run in self.rows_in(
            "SELECT id, json_extract(params, '$.augment.eval_run') FROM jobs WHERE id IN ({in}) "
            "AND json_extract(params, '$.augment.eval_run') IS NOT NULL", job_ids)}
