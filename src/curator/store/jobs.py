"""Jobs for every kind (generate, classify, judge, procedural...): queue, claim with a lease,
attempts (each with its raw response), finish. Only expired leases (or leases whose owner process
on this host is gone) are recovered, and the attempt count stays honest across kills."""

from __future__ import annotations

import json
from typing import Any

from curator.models import Job, now_iso
from curator.store.base import decode, encode, lease_until, owner_is_dead
from curator.store.predicates import DECIDABLE

LEASE_S = 300.0  # a runner renews its leases every LEASE_S / 3 while it runs


class JobQueries:
    def add_job(self, job: Job) -> int | None:
        """Queue a job; a job whose idempotency key is already stored is not added again (returns None)."""
        row = encode("jobs", job.model_dump(exclude={"id"}))
        columns = ", ".join(row)
        with self.transaction():
            cur = self.conn.execute(
                f"INSERT OR IGNORE INTO jobs ({columns}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
            return cur.lastrowid if cur.rowcount else None

    def add_jobs(self, jobs: list[Job], *, batch: int = 300) -> int:
        """Queue many jobs, `batch` per transaction (short writes); stored keys are skipped. Returns how many were added."""
        added = 0
        for start in range(0, len(jobs), batch):
            with self.transaction():
                for job in jobs[start:start + batch]:
                    row = encode("jobs", job.model_dump(exclude={"id"}))
                    added += self.conn.execute(
                        f"INSERT OR IGNORE INTO jobs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                        list(row.values())).rowcount
        return added

    def stored_job_keys(self, keys: list[str]) -> set[str]:
        """Which of these idempotency keys are already queued (in any state)."""
        return {r[0] for r in self.rows_in("SELECT idem_key FROM jobs WHERE idem_key IN ({in})", keys)}

    def _jobs(self, where: str, params: list[Any] | tuple = (), suffix: str = "ORDER BY id") -> list[Job]:
        cur = self.conn.execute(f"SELECT * FROM jobs WHERE {where} {suffix}", params)
        cols = [c[0] for c in cur.description]
        return [Job(**decode("jobs", dict(zip(cols, r)))) for r in cur]

    def job(self, job_id: int) -> Job:
        rows = self._jobs("id = ?", (job_id,))
        if not rows:
            raise KeyError(job_id)
        return rows[0]

    def done_job_keys(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT idem_key FROM jobs WHERE state = 'done'")}

    def jobs_with_errors(self, limit: int = 200) -> list[Job]:
        """Jobs that failed or had a failed attempt, newest first."""
        return self._jobs("state = 'failed' OR last_error IS NOT NULL", (), f"ORDER BY id DESC LIMIT {int(limit)}")

    def queued_job_ids(self, *, kind: str = "generate", family: str | None = None, limit: int | None = None) -> list[int]:
        sql = "kind = ? AND state = 'queued' AND batch_id IS NULL"
        params: list[Any] = [kind]
        if family:
            sql += " AND family = ?"
            params.append(family)
        return [r[0] for r in self.conn.execute(f"SELECT id FROM jobs WHERE {sql} ORDER BY id LIMIT ?",
                                                [*params, -1 if limit is None else limit])]

    def count_jobs(self, *, state: str | None = None, kind: str | None = None, family: str | None = None) -> int:
        conditions, params = [], []
        for column, value in (("state", state), ("kind", kind), ("family", family)):
            if value is not None:
                conditions.append(f"{column} = ?")
                params.append(value)
        where = " AND ".join(conditions) or "1"
        return self.conn.execute(f"SELECT count(*) FROM jobs WHERE {where}", params).fetchone()[0]

    def measured_jobs(self, family: str, *, limit: int = 200) -> list[tuple[Job, dict[str, Any]]]:
        """The latest jobs of a family done in one attempt, each with that attempt's detail: what one
        request's prompt measured (input, cache reads and writes) and answered (output), to calibrate
        estimates on."""
        cur = self.conn.execute(
            "SELECT j.*, a.detail AS attempt_detail FROM jobs j JOIN job_attempts a ON a.job_id = j.id AND a.attempt = 1 "
            "WHERE j.family = ? AND j.state = 'done' AND j.attempts = 1 "
            "AND j.input_tokens + j.cache_read_tokens + j.cache_write_tokens > 0 ORDER BY j.id DESC LIMIT ?",
            (family, limit))
        cols = [c[0] for c in cur.description]
        out = []
        for row in cur:
            values = dict(zip(cols, row))
            detail = decode("job_attempts", {"detail": values.pop("attempt_detail")})["detail"]
            out.append((Job(**decode("jobs", values)), detail or {}))
        return out

    def spent_usd(self) -> float:
        return self.conn.execute("SELECT coalesce(sum(cost_usd), 0) FROM jobs").fetchone()[0]

    def job_summary(self) -> list[dict[str, Any]]:
        """Per kind, family and state: jobs, attempts, tokens (input not cached, output, read from and
        written to the prompt cache), cost."""
        rows = self.conn.execute(
            "SELECT kind, family, state, count(*), sum(attempts), sum(input_tokens), sum(output_tokens), "
            "sum(cache_read_tokens), sum(cache_write_tokens), sum(cost_usd) "
            "FROM jobs GROUP BY kind, family, state ORDER BY kind, family, state").fetchall()
        keys = ("kind", "family", "state", "jobs", "attempts", "input_tokens", "output_tokens", "cache_read_tokens",
                "cache_write_tokens", "cost_usd")
        return [dict(zip(keys, r)) for r in rows]

    # -- leases and attempts ------------------------------------------------------------------

    def claim_job(self, job_id: int, owner: str, *, max_attempts: int, lease_s: float = LEASE_S,
                  detail: dict[str, Any] | None = None) -> int | None:
        """Take a queued job for one attempt: state running, a lease for `owner`, an attempt row
        (with `detail`, say the few-shot seed ids the request shows). Returns the attempt number, or
        None if another runner has it (or it has no attempts left: then it is failed)."""
        with self.transaction():
            cur = self.conn.execute(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, lease_expires = ?, "
                "updated_at = ? WHERE id = ? AND state = 'queued' AND batch_id IS NULL AND attempts < ?",
                (owner, lease_until(lease_s), now_iso(), job_id, max_attempts))
            if cur.rowcount != 1:
                self.conn.execute("UPDATE jobs SET state = 'failed', updated_at = ?, last_error = coalesce(last_error, "
                                  "'no attempts left') WHERE id = ? AND state = 'queued' AND attempts >= ?",
                                  (now_iso(), job_id, max_attempts))
                return None
            attempt = self.conn.execute("SELECT attempts FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]
            self.conn.execute("INSERT INTO job_attempts (job_id, attempt, owner, started_at, detail) VALUES (?,?,?,?,?)",
                              (job_id, attempt, owner, now_iso(), _json(detail)))
            return attempt

    def renew_leases(self, owner: str, lease_s: float = LEASE_S) -> int:
        """Push back the expiry of every job `owner` runs; returns how many."""
        with self.transaction():
            return self.conn.execute("UPDATE jobs SET lease_expires = ? WHERE lease_owner = ? AND state = 'running'",
                                     (lease_until(lease_s), owner)).rowcount

    def finish_attempt(self, job_id: int, *, state: str, attempt: int | None = None, error: str | None = None,
                       raw: str | None = None, input_tokens: int = 0, output_tokens: int = 0,
                       cache_write_tokens: int = 0, cache_read_tokens: int = 0, cost: float = 0.0,
                       owner: str | None = None, batch_id: str | None = None,
                       detail: dict[str, Any] | None = None) -> bool:
        """Close an attempt (`attempt`, else the job's latest) with its raw response, usage and
        outcome, and move the running job to `state` (queued to retry, done or failed), adding the
        usage and cost. Call inside the transaction that stores the attempt's results.

        With `owner` (or `batch_id`), only a job still leased by that owner (or still waiting in
        that batch) is changed; if it is not, the attempt is kept as `late` and False is returned,
        so the caller rolls its results back."""
        with self.transaction():
            guard, params = "", []
            if owner is not None:
                guard, params = guard + " AND lease_owner = ?", params + [owner]
            if batch_id is not None:
                guard, params = guard + " AND batch_id = ?", params + [batch_id]
            cur = self.conn.execute(
                "UPDATE jobs SET state = ?, last_error = coalesce(?, last_error), raw_response = coalesce(?, raw_response),"
                " input_tokens = input_tokens + ?, output_tokens = output_tokens + ?,"
                " cache_write_tokens = cache_write_tokens + ?, cache_read_tokens = cache_read_tokens + ?,"
                " cost_usd = cost_usd + ?, lease_owner = NULL, lease_expires = NULL, updated_at = ?,"
                " batch_id = CASE WHEN ? = 'queued' THEN NULL ELSE batch_id END "
                f"WHERE id = ? AND state = 'running'{guard}",
                [state, error, raw, input_tokens, output_tokens, cache_write_tokens, cache_read_tokens, cost, now_iso(),
                 state, job_id, *params])
            finished = cur.rowcount == 1
            outcome = ("retry" if state == "queued" else state) if finished else "late"
            if cache_read_tokens or cache_write_tokens:  # the attempt's prompt cache use, beside what it showed
                detail = {**(detail or {}), "cache_read_tokens": cache_read_tokens,
                          "cache_write_tokens": cache_write_tokens}
            which = "attempt = ?" if attempt is not None else "id = (SELECT max(id) FROM job_attempts WHERE job_id = ?)"
            self.conn.execute(
                "UPDATE job_attempts SET finished_at = ?, outcome = ?, error = ?, raw_response = ?, input_tokens = ?, "
                f"output_tokens = ?, cost_usd = ?, detail = json_patch(detail, ?) WHERE job_id = ? AND {which}",
                [now_iso(), outcome, error, raw, input_tokens, output_tokens, cost, _json(detail), job_id,
                 *([attempt] if attempt is not None else [job_id])])
            return finished

    def recover_jobs(self, *, max_attempts: int) -> int:
        """Jobs whose runner is gone (lease expired, or its process on this host died) go back to the
        queue, or fail if they have used every attempt; their open attempt is closed as `lost`. A job
        another runner still leases is never touched. Batch jobs are left to batch collection."""
        stamp = now_iso()
        with self.transaction():
            rows = self.conn.execute("SELECT id, attempts, lease_owner, lease_expires FROM jobs "
                                     "WHERE state = 'running' AND batch_id IS NULL").fetchall()
            lost = [(job_id, attempts, owner) for job_id, attempts, owner, expires in rows
                    if (expires or "") < stamp or owner_is_dead(owner)]
            for job_id, attempts, owner in lost:
                state = "queued" if attempts < max_attempts else "failed"
                self.conn.execute(
                    "UPDATE jobs SET state = ?, lease_owner = NULL, lease_expires = NULL, updated_at = ?, "
                    "last_error = CASE WHEN ? = 'failed' THEN 'the runner stopped during the last attempt' "
                    "ELSE last_error END WHERE id = ? AND state = 'running' AND lease_owner IS ?",
                    (state, stamp, state, job_id, owner))
                self.conn.execute("UPDATE job_attempts SET finished_at = ?, outcome = 'lost', "
                                  "error = 'the runner stopped before the attempt finished' "
                                  "WHERE job_id = ? AND finished_at IS NULL", (stamp, job_id))
        return len(lost)

    def attempts_of(self, job_id: int) -> list[dict[str, Any]]:
        """Every attempt of a job, oldest first, each with its raw response, usage and outcome."""
        cur = self.conn.execute("SELECT * FROM job_attempts WHERE job_id = ? ORDER BY attempt", (job_id,))
        cols = [c[0] for c in cur.description]
        return [decode("job_attempts", dict(zip(cols, r))) for r in cur]

    # -- batches ------------------------------------------------------------------------------

    def attach_batch(self, job_ids: list[int], batch_id: str, owner: str) -> None:
        """Claimed jobs now wait in a submitted batch: batch collection (not a lease) finishes them."""
        with self.transaction():
            for job_id in job_ids:
                self.conn.execute("UPDATE jobs SET batch_id = ?, lease_owner = NULL, lease_expires = NULL, "
                                  "updated_at = ? WHERE id = ? AND state = 'running' AND lease_owner = ?",
                                  (batch_id, now_iso(), job_id, owner))
                self.conn.execute("UPDATE job_attempts SET detail = json_patch(detail, ?) WHERE id = "
                                  "(SELECT max(id) FROM job_attempts WHERE job_id = ?)",
                                  (_json({"batch_id": batch_id}), job_id))

    def open_batch_ids(self) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT DISTINCT batch_id FROM jobs WHERE state = 'running' AND batch_id IS NOT NULL ORDER BY batch_id")]

    def fail_job(self, job_id: int, error: str) -> bool:
        """A queued job that must never be sent (say, it would carry private eval text)."""
        with self.transaction():
            return self.conn.execute("UPDATE jobs SET state = 'failed', last_error = ?, updated_at = ? "
                                     "WHERE id = ? AND state = 'queued'", (error, now_iso(), job_id)).rowcount == 1

    # -- what planning reads ------------------------------------------------------------------

    def unjudged_candidate_ids(self, rubric_hash: str, *, limit: int) -> list[int]:
        """Gated candidates and revisions (not failed) with no judge verdict under this rubric."""
        return [r[0] for r in self.conn.execute(
            f"SELECT id FROM examples WHERE {DECIDABLE} AND state = 'gated' AND coalesce(gate_status, 'pass') != 'fail' "
            "AND id NOT IN (SELECT example_id FROM gate_verdicts WHERE gate = 'judge' AND gate_version = ?) "
            "ORDER BY id LIMIT ?", (rubric_hash, limit))]


def _json(value: dict[str, Any] | None) -> str:
    return json.dumps(value or {}, ensure_ascii=False, sort_keys=True)
