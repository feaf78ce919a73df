"""Jobs for every kind (generate, classify, judge, procedural...): queue, claim with a lease,
attempts (each with its raw response), finish. Only expired leases (or leases whose owner process
on this host is gone) are recovered, and the attempt count stays honest across kills."""

from __future__ import annotations

import json
from typing import Any

from curator.models import Job, now_iso
from curator.store.base import decode, encode, lease_until, owner_is_dead

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

    def _jobs(self, where: str, params: list[Any] | tuple = (), suffix: str = "ORDER BY id") -> list[Job]:
        cur = self.conn.execute(f"SELECT * FROM jobs WHERE {where} {suffix}", params)
        cols = [c[0] for c in cur.description]
        return [Job(**decode("jobs", dict(zip(cols, r)))) for r in cur]

    def job(self, job_id: int) -> Job:
        rows = self._jobs("id = ?", (job_id,))
        if not rows:
            raise KeyError(job_id)
        return rows[0]

    def job_by_key(self, idem_key: str) -> Job | None:
        rows = self._jobs("idem_key = ?", (idem_key,))
        return rows[0] if rows else None

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

    def spent_usd(self) -> float:
        return self.conn.execute("SELECT coalesce(sum(cost_usd), 0) FROM jobs").fetchone()[0]

    def job_summary(self) -> list[dict[str, Any]]:
        """Per kind, family and state: jobs, attempts, tokens, cost."""
        rows = self.conn.execute(
            "SELECT kind, family, state, count(*), sum(attempts), sum(input_tokens), sum(output_tokens), sum(cost_usd) "
            "FROM jobs GROUP BY kind, family, state ORDER BY kind, family, state").fetchall()
        keys = ("kind", "family", "state", "jobs", "attempts", "input_tokens", "output_tokens", "cost_usd")
        return [dict(zip(keys, r)) for r in rows]

    # -- leases and attempts ------------------------------------------------------------------

    def claim_job(self, job_id: int, owner: str, *, max_attempts: int, lease_s: float = LEASE_S) -> int | None:
        """Take a queued job for one attempt: state running, a lease for `owner`, an attempt row.
        Returns the attempt number, or None if another runner has it (or it has no attempts left)."""
        with self.transaction():
            cur = self.conn.execute(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, lease_expires = ?, "
                "updated_at = ? WHERE id = ? AND state = 'queued' AND attempts < ?",
                (owner, lease_until(lease_s), now_iso(), job_id, max_attempts))
            if cur.rowcount != 1:
                self.conn.execute("UPDATE jobs SET state = 'failed', updated_at = ?, last_error = coalesce(last_error, "
                                  "'no attempts left') WHERE id = ? AND state = 'queued' AND attempts >= ?",
                                  (now_iso(), job_id, max_attempts))
                return None
            attempt = self.conn.execute("SELECT attempts FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]
            self.conn.execute("INSERT INTO job_attempts (job_id, attempt, owner, started_at) VALUES (?,?,?,?)",
                              (job_id, attempt, owner, now_iso()))
            return attempt

    def renew_leases(self, owner: str, lease_s: float = LEASE_S) -> int:
        with self.transaction():
            return self.conn.execute("UPDATE jobs SET lease_expires = ? WHERE lease_owner = ? AND state = 'running'",
                                     (lease_until(lease_s), owner)).rowcount

    def finish_attempt(self, job_id: int, *, state: str, error: str | None = None, raw: str | None = None,
                       input_tokens: int = 0, output_tokens: int = 0, cache_write_tokens: int = 0,
                       cache_read_tokens: int = 0, cost: float = 0.0, owner: str | None = None,
                       detail: dict[str, Any] | None = None) -> bool:
        """Close the job's latest attempt and set the job's state (queued to retry, done or failed),
        adding the attempt's usage and cost. Call inside the transaction that stores the attempt's
        results. With `owner`, only a job this owner still leases is changed (returns False if not)."""
        with self.transaction():
            guard, params = ("AND lease_owner = ?", [owner]) if owner is not None else ("", [])
            cur = self.conn.execute(
                "UPDATE jobs SET state = ?, last_error = coalesce(?, last_error), raw_response = coalesce(?, raw_response),"
                " input_tokens = input_tokens + ?, output_tokens = output_tokens + ?,"
                " cache_write_tokens = cache_write_tokens + ?, cache_read_tokens = cache_read_tokens + ?,"
                " cost_usd = cost_usd + ?, lease_owner = NULL, lease_expires = NULL, updated_at = ? "
                f"WHERE id = ? {guard}",
                [state, error, raw, input_tokens, output_tokens, cache_write_tokens, cache_read_tokens, cost, now_iso(),
                 job_id, *params])
            self.conn.execute(
                "UPDATE job_attempts SET finished_at = ?, outcome = ?, error = ?, raw_response = ?, input_tokens = ?, "
                "output_tokens = ?, cost_usd = ?, detail = ? WHERE id = (SELECT max(id) FROM job_attempts WHERE job_id = ?)",
                (now_iso(), state if state != "queued" else "retry", error, raw, input_tokens, output_tokens, cost,
                 json.dumps(detail or {}, ensure_ascii=False, sort_keys=True), job_id))
            return cur.rowcount == 1

    def recover_jobs(self, *, max_attempts: int) -> int:
        """Jobs whose runner is gone (lease expired, or its process on this host died) go back to the
        queue, or fail if they have used every attempt. Batch jobs are left to batch collection."""
        rows = self.conn.execute("SELECT id, attempts, lease_owner, lease_expires FROM jobs "
                                 "WHERE state = 'running' AND batch_id IS NULL").fetchall()
        stamp = now_iso()
        lost = [(job_id, attempts) for job_id, attempts, owner, expires in rows
                if (expires or "") < stamp or owner_is_dead(owner)]
        if not lost:
            return 0
        with self.transaction():
            for job_id, attempts in lost:
                state = "queued" if attempts < max_attempts else "failed"
                self.conn.execute(
                    "UPDATE jobs SET state = ?, lease_owner = NULL, lease_expires = NULL, updated_at = ?, "
                    "last_error = CASE WHEN ? = 'failed' THEN 'the runner stopped during the last attempt' "
                    "ELSE last_error END WHERE id = ? AND state = 'running'", (state, stamp, state, job_id))
                self.conn.execute("UPDATE job_attempts SET finished_at = ?, outcome = 'lost', "
                                  "error = 'the runner stopped before the attempt finished' "
                                  "WHERE job_id = ? AND finished_at IS NULL", (stamp, job_id))
        return len(lost)

    def attempts_of(self, job_id: int) -> list[dict[str, Any]]:
        cur = self.conn.execute("SELECT * FROM job_attempts WHERE job_id = ? ORDER BY attempt", (job_id,))
        cols = [c[0] for c in cur.description]
        return [decode("job_attempts", dict(zip(cols, r))) for r in cur]

    # -- batches ------------------------------------------------------------------------------

    def mark_batch_submitted(self, job_ids: list[int], batch_id: str, owner: str) -> None:
        with self.transaction():
            for job_id in job_ids:
                self.conn.execute("UPDATE jobs SET state = 'running', batch_id = ?, attempts = attempts + 1, "
                                  "updated_at = ? WHERE id = ?", (batch_id, now_iso(), job_id))
                attempt = self.conn.execute("SELECT attempts FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]
                self.conn.execute("INSERT OR IGNORE INTO job_attempts (job_id, attempt, owner, started_at, detail) "
                                  "VALUES (?,?,?,?,?)", (job_id, attempt, owner, now_iso(),
                                                         json.dumps({"batch_id": batch_id})))

    def open_batch_ids(self) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT DISTINCT batch_id FROM jobs WHERE state = 'running' AND batch_id IS NOT NULL ORDER BY batch_id")]

    def release_from_batch(self, job_id: int) -> None:
        """A job sent back to the queue from a batch may go into a later batch or run directly."""
        with self.transaction():
            self.conn.execute("UPDATE jobs SET batch_id = NULL WHERE id = ? AND state = 'queued'", (job_id,))

    def fail_job(self, job_id: int, error: str) -> None:
        """A job that must never be sent (say, it would carry private eval text)."""
        with self.transaction():
            self.conn.execute("UPDATE jobs SET state = 'failed', last_error = ?, lease_owner = NULL, "
                              "lease_expires = NULL, updated_at = ? WHERE id = ?", (error, now_iso(), job_id))
