"""Jobs for every kind (generate, classify, judge, procedural...): queue, claim with a lease,
attempts (each with its raw response), finish. Only expired leases (or leases whose owner process
on this host is gone) are recovered, and the attempt count stays honest across kills: an attempt
counts once its request was sent (`mark_sent`); a lease lost before that gives the job back without
using one (`lost_leases`, capped apart). Batch chunks: a batch run's requests, sent chunk by chunk."""

from __future__ import annotations

import json

import orjson
from typing import Any

from curator.models import Job, now_iso
from curator.store.base import decode, encode, lease_until, owner_is_dead
from curator.store.predicates import DECIDABLE

LEASE_S = 300.0  # a runner renews its leases every LEASE_S / 3 while it runs
GROUP = 500  # jobs per transaction when a batch chunk is claimed, attached or released (short writes)


class Recovered(int):
    """How many jobs of stopped runners were taken back; `failed`: how many of them failed for good."""

    failed: int = 0


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

    def add_new_jobs(self, jobs: list[Job], *, batch: int = 300) -> list[int]:
        """Queue the jobs whose idempotency key is not stored yet, `batch` per transaction; the ids of
        those this call added (a key another process stored meanwhile is skipped)."""
        ids: list[int] = []
        for start in range(0, len(jobs), batch):
            with self.transaction():
                for job in jobs[start:start + batch]:
                    row = encode("jobs", job.model_dump(exclude={"id"}))
                    cur = self.conn.execute(
                        f"INSERT OR IGNORE INTO jobs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                        list(row.values()))
                    if cur.rowcount:
                        ids.append(cur.lastrowid)  # type: ignore[arg-type]
        return ids

    def stored_job_keys(self, keys: list[str]) -> set[str]:
        """Which of these idempotency keys are already queued (in any state)."""
        return {r[0] for r in self.rows_in("SELECT idem_key FROM jobs WHERE idem_key IN ({in})", keys)}

    def _jobs(self, where: str, params: list[Any] | tuple = (), suffix: str = "ORDER BY id") -> list[Job]:
        cur = self.conn.execute(f"SELECT * FROM jobs WHERE {where} {suffix}", params)
        cols = [c[0] for c in cur.description]
        return [Job(**decode("jobs", dict(zip(cols, r)))) for r in cur]

    def jobs_by_id(self, ids: list[int]) -> dict[int, Job]:
        """Many jobs at once (900 per query)."""
        out: dict[int, Job] = {}
        for start in range(0, len(ids), 900):
            part = ids[start:start + 900]
            out.update((j.id, j) for j in self._jobs(f"id IN ({','.join('?' * len(part))})", part))  # type: ignore[misc]
        return out

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
        """The latest jobs of a family done in one attempt (one request sent), each with that attempt's
        detail: what one request's prompt measured (input, cache reads and writes) and answered
        (output), to calibrate estimates on."""
        cur = self.conn.execute(
            "SELECT j.*, a.detail AS attempt_detail FROM jobs j "
            "JOIN job_attempts a ON a.job_id = j.id AND a.outcome = 'done' "
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
                  detail: dict[str, Any] | None = None, sent: bool = True, max_lost: int | None = None) -> int | None:
        """Take a queued job for one attempt: state running, a lease for `owner`, an attempt row
        (with `detail`, say the few-shot seed ids the request shows). Returns the attempt row's number,
        or None if another runner has it (or it has no attempts left: then it is failed).

        With `sent` (work without a request: procedural jobs, or a caller that does not tell) the
        attempt counts at once; without it, it counts when `mark_sent` says its request went out.
        `max_lost`: the job fails instead once that many leases were lost before sending."""
        lost_cap = max_lost if max_lost is not None else 2 ** 31
        with self.transaction():
            cur = self.conn.execute(
                "UPDATE jobs SET state = 'running', attempts = attempts + ?, lease_owner = ?, lease_expires = ?, "
                "updated_at = ? WHERE id = ? AND state = 'queued' AND batch_id IS NULL AND chunk_id IS NULL "
                "AND attempts < ? AND lost_leases < ?",
                (1 if sent else 0, owner, lease_until(lease_s), now_iso(), job_id, max_attempts, lost_cap))
            if cur.rowcount != 1:
                self.conn.execute("UPDATE jobs SET state = 'failed', updated_at = ?, last_error = coalesce(last_error, "
                                  "'no attempts left') WHERE id = ? AND state = 'queued' AND attempts >= ?",
                                  (now_iso(), job_id, max_attempts))
                self.conn.execute("UPDATE jobs SET state = 'failed', updated_at = ?, last_error = ? "
                                  "WHERE id = ? AND state = 'queued' AND lost_leases >= ?",
                                  (now_iso(), _lost_error(lost_cap), job_id, lost_cap))
                return None
            return self._open_attempt(job_id, owner, detail, sent)

    def _open_attempt(self, job_id: int, owner: str, detail: dict[str, Any] | None, sent: bool) -> int:
        attempt = self.conn.execute("SELECT coalesce(max(attempt), 0) + 1 FROM job_attempts WHERE job_id = ?",
                                    (job_id,)).fetchone()[0]
        stamp = now_iso()
        self.conn.execute("INSERT INTO job_attempts (job_id, attempt, owner, started_at, sent_at, detail) "
                          "VALUES (?,?,?,?,?,?)", (job_id, attempt, owner, stamp, stamp if sent else None,
                                                   _json(detail)))
        return attempt

    def mark_sent(self, job_id: int, attempt: int) -> bool:
        """The attempt's request is going out now: from here on it counts as one of the job's attempts
        (once, however many HTTP retries it takes). False if it was marked before."""
        with self.transaction():
            cur = self.conn.execute("UPDATE job_attempts SET sent_at = ? WHERE job_id = ? AND attempt = ? "
                                    "AND sent_at IS NULL", (now_iso(), job_id, attempt))
            if cur.rowcount != 1:
                return False
            self.conn.execute("UPDATE jobs SET attempts = attempts + 1, updated_at = ? WHERE id = ?",
                              (now_iso(), job_id))
            return True

    def renew_leases(self, owner: str, lease_s: float = LEASE_S) -> int:
        """Push back the expiry of every job (and batch chunk being sent) `owner` runs; returns how many jobs."""
        with self.transaction():
            self.conn.execute("UPDATE batch_chunks SET lease_expires = ? WHERE lease_owner = ? "
                              "AND state IN ('forming', 'sending')", (lease_until(lease_s), owner))
            return self.conn.execute("UPDATE jobs SET lease_expires = ? WHERE lease_owner = ? AND state = 'running'",
                                     (lease_until(lease_s), owner)).rowcount

    def finish_attempt(self, job_id: int, *, state: str, attempt: int | None = None, error: str | None = None,
                       raw: str | None = None, input_tokens: int = 0, output_tokens: int = 0,
                       cache_write_tokens: int = 0, cache_read_tokens: int = 0, cost: float = 0.0,
                       owner: str | None = None, batch_id: str | None = None,
                       detail: dict[str, Any] | None = None, outcome: str | None = None) -> bool:
        """Close an attempt (`attempt`, else the job's latest) with its raw response, usage and
        outcome, and move the running job to `state` (queued to retry, done or failed), adding the
        usage and cost. Call inside the transaction that stores the attempt's results.

        With `owner` (or `batch_id`), only a job still leased by that owner (or still waiting in
        that batch) is changed; if it is not, the attempt is kept as `late` and False is returned,
        so the caller rolls its results back. `outcome` names the attempt's end when it is not the
        state's (say `unsent`: the job goes back to the queue without having used an attempt)."""
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
                " batch_id = CASE WHEN ? = 'queued' THEN NULL ELSE batch_id END,"
                " chunk_id = CASE WHEN ? = 'queued' THEN NULL ELSE chunk_id END "
                f"WHERE id = ? AND state = 'running'{guard}",
                [state, error, raw, input_tokens, output_tokens, cache_write_tokens, cache_read_tokens, cost, now_iso(),
                 state, state, job_id, *params])
            finished = cur.rowcount == 1
            outcome = (outcome or ("retry" if state == "queued" else state)) if finished else "late"
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

    def recover_jobs(self, *, max_attempts: int, max_lost: int | None = None) -> Recovered:
        """Jobs whose runner is gone (lease expired, or its process on this host died) go back to the
        queue. An attempt whose request was sent counts (the job fails if it has used every attempt)
        and is closed as `lost`; one that was never sent uses no attempt, is closed as `unsent`, and
        adds to the job's lost leases (it fails once it has lost `max_lost`). A job another runner
        still leases is never touched. Batch jobs are left to batch collection and chunk resolution."""
        stamp = now_iso()
        lost_cap = max_lost if max_lost is not None else 2 ** 31
        failed = 0
        with self.transaction():
            rows = self.conn.execute(
                "SELECT j.id, j.attempts, j.lost_leases, j.lease_owner, j.lease_expires, "
                "(SELECT a.sent_at IS NOT NULL FROM job_attempts a WHERE a.job_id = j.id AND a.finished_at IS NULL "
                " ORDER BY a.id DESC LIMIT 1) FROM jobs j "
                "WHERE j.state = 'running' AND j.batch_id IS NULL AND j.chunk_id IS NULL").fetchall()
            lost = [row for row in rows if (row[4] or "") < stamp or owner_is_dead(row[3])]
            for job_id, attempts, lost_leases, owner, _expires, sent in lost:
                if sent is None or sent:  # (no open attempt row: an old database; count it)
                    state = "queued" if attempts < max_attempts else "failed"
                    error = "the runner stopped during the last attempt"
                    attempt_error, outcome, more = "the runner stopped before the attempt finished", "lost", 0
                else:
                    state = "queued" if lost_leases + 1 < lost_cap else "failed"
                    error = _lost_error(lost_cap)
                    attempt_error, outcome, more = "the runner stopped before sending the request", "unsent", 1
                self.conn.execute(
                    "UPDATE jobs SET state = ?, lease_owner = NULL, lease_expires = NULL, updated_at = ?, "
                    "lost_leases = lost_leases + ?, last_error = CASE WHEN ? = 'failed' THEN ? ELSE last_error END "
                    "WHERE id = ? AND state = 'running' AND lease_owner IS ?",
                    (state, stamp, more, state, error, job_id, owner))
                self.conn.execute("UPDATE job_attempts SET finished_at = ?, outcome = ?, error = ? "
                                  "WHERE job_id = ? AND finished_at IS NULL", (stamp, outcome, attempt_error, job_id))
                failed += state == "failed"
        recovered = Recovered(len(lost))
        recovered.failed = failed
        return recovered

    def attempts_of(self, job_id: int) -> list[dict[str, Any]]:
        """Every attempt of a job, oldest first, each with its raw response, usage and outcome."""
        cur = self.conn.execute("SELECT * FROM job_attempts WHERE job_id = ? ORDER BY attempt", (job_id,))
        cols = [c[0] for c in cur.description]
        return [decode("job_attempts", dict(zip(cols, r))) for r in cur]

    # -- batches ------------------------------------------------------------------------------

    # chunks: a batch run is sent as chunks, each one batch within the API's limits. A chunk is
    # `forming` while its jobs are claimed, `sending` while its batch is being created, `submitted`
    # once the batch id is known (then its jobs are attached: batch id, the attempt counted),
    # `collected` when its results are in; `refused` (the API said no) and `abandoned` (never
    # created) give their jobs back without using an attempt.

    def open_chunk(self, token: str, kind: str, family: str | None, owner: str, lease_s: float = LEASE_S) -> int:
        with self.transaction():
            return self.conn.execute(
                "INSERT INTO batch_chunks (token, kind, family, state, lease_owner, lease_expires, created_at) "
                "VALUES (?, ?, ?, 'forming', ?, ?, ?)",
                (token, kind, family, owner, lease_until(lease_s), now_iso())).lastrowid  # type: ignore[return-value]

    def claim_for_chunk(self, chunk_id: int, items: list[tuple[int, dict[str, Any]]], owner: str, *,
                        max_attempts: int, lease_s: float = LEASE_S) -> list[tuple[int, int]]:
        """Claim queued jobs into a forming chunk (GROUP per transaction): running, leased by `owner`,
        an attempt row that counts only once the chunk's batch is created. (job id, attempt) of those
        claimed; a job another runner holds, or without attempts left, is skipped."""
        claimed: list[tuple[int, int]] = []
        for start in range(0, len(items), GROUP):
            group = dict(items[start:start + GROUP])
            marks = ",".join("?" * len(group))
            with self.transaction():
                stamp = now_iso()
                self.conn.execute(
                    "UPDATE jobs SET state = 'running', chunk_id = ?, lease_owner = ?, lease_expires = ?, updated_at = ? "
                    f"WHERE id IN ({marks}) AND state = 'queued' AND batch_id IS NULL AND chunk_id IS NULL "
                    "AND attempts < ?", (chunk_id, owner, lease_until(lease_s), stamp, *group, max_attempts))
                got = self.conn.execute(
                    "SELECT j.id, (SELECT coalesce(max(a.attempt), 0) + 1 FROM job_attempts a WHERE a.job_id = j.id) "
                    f"FROM jobs j WHERE j.id IN ({marks}) AND j.chunk_id = ? AND j.state = 'running' "
                    "AND j.batch_id IS NULL", (*group, chunk_id)).fetchall()
                self.conn.executemany(
                    "INSERT INTO job_attempts (job_id, attempt, owner, started_at, detail) VALUES (?,?,?,?,?)",
                    [(job_id, attempt, owner, stamp,
                      orjson.dumps({**group[job_id], "chunk": chunk_id}, option=orjson.OPT_SORT_KEYS).decode())
                     for job_id, attempt in got])
            claimed += got
        return claimed

    def chunk_sending(self, chunk_id: int, owner: str, *, requests: int, size: int) -> bool:
        """The chunk's batch is about to be created (from here on it may exist)."""
        with self.transaction():
            return self.conn.execute(
                "UPDATE batch_chunks SET state = 'sending', requests = ?, bytes = ?, sending_at = ? "
                "WHERE id = ? AND state = 'forming' AND lease_owner = ?",
                (requests, size, now_iso(), chunk_id, owner)).rowcount == 1

    def chunk_submitted(self, chunk_id: int, batch_id: str) -> bool:
        """The chunk's batch exists: record its id (its jobs are attached by `attach_chunk`)."""
        with self.transaction():
            return self.conn.execute(
                "UPDATE batch_chunks SET state = 'submitted', batch_id = ?, submitted_at = ?, lease_owner = NULL, "
                "lease_expires = NULL WHERE id = ? AND state = 'sending'", (batch_id, now_iso(), chunk_id)).rowcount == 1

    def attach_chunk(self, chunk_id: int) -> int:
        """The jobs of a submitted chunk wait in its batch: batch collection (not a lease) finishes
        them, and their attempt counts (the request was sent). GROUP per transaction; safe to repeat."""
        chunk = self.chunk(chunk_id)
        patch = _json({"batch_id": chunk["batch_id"]})
        return self._chunk_groups(chunk_id, [
            ("UPDATE jobs SET batch_id = ?, attempts = attempts + 1, lease_owner = NULL, lease_expires = NULL, "
             "updated_at = ? WHERE id IN ({in})", lambda stamp: (chunk["batch_id"], stamp)),
            ("UPDATE job_attempts SET sent_at = ?, detail = json_patch(detail, ?) WHERE job_id IN ({in}) "
             "AND finished_at IS NULL", lambda stamp: (chunk["sending_at"] or stamp, patch))])

    def release_chunk(self, chunk_id: int, *, state: str, error: str) -> int:
        """A chunk whose batch was refused or never created: it takes `state` (refused, abandoned) and
        its jobs go back to the queue without using an attempt (GROUP per transaction; safe to repeat)."""
        with self.transaction():
            self.conn.execute("UPDATE batch_chunks SET state = ?, error = ?, finished_at = ?, lease_owner = NULL, "
                              "lease_expires = NULL WHERE id = ? AND state IN ('forming', 'sending', ?)",
                              (state, error, now_iso(), chunk_id, state))
        outcome = "refused" if state == "refused" else "unsent"
        return self._chunk_groups(chunk_id, [
            ("UPDATE jobs SET state = 'queued', chunk_id = NULL, lease_owner = NULL, lease_expires = NULL, "
             "updated_at = ?, last_error = ? WHERE id IN ({in})", lambda stamp: (stamp, error)),
            ("UPDATE job_attempts SET finished_at = ?, outcome = ?, error = ? WHERE job_id IN ({in}) "
             "AND finished_at IS NULL", lambda stamp: (stamp, outcome, error))])

    def _chunk_groups(self, chunk_id: int, statements: list[tuple[str, Any]]) -> int:
        """Run `statements` (SQL with `{in}`, and a function of the time giving the parameters before the
        ids) over the chunk's jobs still running outside a batch, GROUP per transaction."""
        done = 0
        while True:
            with self.transaction():
                ids = [r[0] for r in self.conn.execute(
                    "SELECT id FROM jobs WHERE chunk_id = ? AND state = 'running' AND batch_id IS NULL LIMIT ?",
                    (chunk_id, GROUP))]
                stamp = now_iso()
                for sql, params in statements:
                    if ids:
                        self.conn.execute(sql.format(**{"in": ",".join("?" * len(ids))}), (*params(stamp), *ids))
            done += len(ids)
            if len(ids) < GROUP:
                return done

    def take_over_chunk(self, chunk_id: int, owner: str, lease_s: float = LEASE_S) -> bool:
        """Take a chunk whose submitter stopped (lease expired, or its process here is gone) to resolve it."""
        with self.transaction():
            row = self.conn.execute("SELECT lease_owner, lease_expires FROM batch_chunks WHERE id = ? "
                                    "AND state IN ('forming', 'sending')", (chunk_id,)).fetchone()
            if row is None or not ((row[1] or "") < now_iso() or owner_is_dead(row[0])):
                return False
            return self.conn.execute("UPDATE batch_chunks SET lease_owner = ?, lease_expires = ? WHERE id = ? "
                                     "AND lease_owner IS ?", (owner, lease_until(lease_s), chunk_id, row[0])).rowcount == 1

    def expire_chunk_lease(self, chunk_id: int, owner: str) -> None:
        """Leave a chunk one could not resolve yet: anyone may take it up again."""
        with self.transaction():
            self.conn.execute("UPDATE batch_chunks SET lease_expires = ? WHERE id = ? AND lease_owner = ?",
                              (lease_until(-1), chunk_id, owner))

    def chunk_token(self, batch_id: str) -> str | None:
        """The token in the custom_ids of the chunk that made this batch (None: a batch from before chunks)."""
        row = self.conn.execute("SELECT token FROM batch_chunks WHERE batch_id = ?", (batch_id,)).fetchone()
        return row[0] if row else None

    def jobs_in_batch(self, batch_id: str) -> list[Job]:
        """Jobs still waiting in a batch."""
        return self._jobs("state = 'running' AND batch_id = ?", (batch_id,))

    def chunk(self, chunk_id: int) -> dict[str, Any]:
        cur = self.conn.execute("SELECT * FROM batch_chunks WHERE id = ?", (chunk_id,))
        row = cur.fetchone()
        if row is None:
            raise KeyError(chunk_id)
        return dict(zip([c[0] for c in cur.description], row))

    def chunks(self, *, family: str | None = None) -> list[dict[str, Any]]:
        cur = self.conn.execute("SELECT * FROM batch_chunks WHERE ? IS NULL OR family = ? ORDER BY id",
                                (family, family))
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r)) for r in cur]

    def chunks_to_resolve(self) -> list[dict[str, Any]]:
        """Chunks left half-done: forming or sending (the submitter may have stopped), and chunks with
        jobs still running that their state no longer holds (attach or release cut short)."""
        cur = self.conn.execute(
            "SELECT * FROM batch_chunks WHERE state IN ('forming', 'sending') OR id IN (SELECT DISTINCT chunk_id "
            "FROM jobs WHERE chunk_id IS NOT NULL AND state = 'running' AND batch_id IS NULL) ORDER BY id")
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r)) for r in cur]

    def known_batch_ids(self) -> set[str]:
        """Every batch id this database knows (chunks', and jobs' from before chunks)."""
        return {r[0] for r in self.conn.execute(
            "SELECT batch_id FROM batch_chunks WHERE batch_id IS NOT NULL UNION "
            "SELECT DISTINCT batch_id FROM jobs WHERE batch_id IS NOT NULL")}

    def chunk_collected(self, batch_id: str) -> None:
        with self.transaction():
            self.conn.execute("UPDATE batch_chunks SET state = 'collected', finished_at = ? WHERE batch_id = ? "
                              "AND state = 'submitted'", (now_iso(), batch_id))

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


def _lost_error(cap: int) -> str:
    return f"its runner stopped {cap} times before sending its request (max_lost_leases)"


def _json(value: dict[str, Any] | None) -> str:
    return json.dumps(value or {}, ensure_ascii=False, sort_keys=True)
