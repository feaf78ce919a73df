"""Batches within the API's limits (#24 item 2): a batch run is sent chunk by chunk, each chunk within
the request and byte limits, with its id on its jobs; a refused creation uses no attempt; a kill at any
moment of a submission neither sends a chunk twice nor leaves a job without a result."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from curator.config import API_BATCH_MAX_BYTES, API_BATCH_MAX_REQUESTS, BatchSettings, ConfigError, Settings
from curator.families import load_families
from curator.jobs import batch
from curator.store import Store
from curator.store.base import HOST
from curator.teacher.client import Teacher
from fake_messages_api import FakeMessagesAPI, Fault

ROOT = Path(__file__).resolve().parents[1]
TINY = '''name = "tiny"
description = "A family of tiny requests, for tests of batches at scale."
schema = "ConversationBatch"
passage = "none"
items_per_request = 1

[prompt]
system = "s"
user = "{seed_words}"
'''


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    """The bundled prompts and a family whose requests are a few hundred bytes."""
    folder = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", folder)
    (folder / "families" / "tiny.toml").write_text(TINY, encoding="utf-8")
    return folder


def _queue(store: Store, n: int, family: str = "tiny") -> None:
    """n queued jobs of the family, written at once (the test's setup, not the code under test)."""
    stamp = "2026-01-01T00:00:00.000000Z"
    with store.transaction():
        store.conn.executemany(
            "INSERT INTO jobs (idem_key, kind, family, params, state, created_at, updated_at) "
            "VALUES (?, 'generate', ?, ?, 'queued', ?, ?)",
            ((hashlib.sha256(f"{family}:{i}".encode()).hexdigest()[:32], family,
              f'{{"n": 1, "seed_words": ["{i}"]}}', stamp, stamp) for i in range(n)))


def _settings(prompts: Path, **batch_limits) -> Settings:
    return Settings(prompts_dir=prompts, teacher={"structured_outputs": "off", "max_job_attempts": 3,
                                                  "backoff_base_s": 0.01, "max_retries": 0},
                    batch=BatchSettings(**batch_limits))


def _submit(store: Store, settings: Settings, api: FakeMessagesAPI, **kwargs) -> batch.BatchStatus:
    fams = load_families(settings.prompts_dir).families

    async def main():
        teacher = Teacher(settings.teacher, api_key="k", base_url=api.url)
        try:
            return await batch.submit(store, fams, teacher, settings, **kwargs)
        finally:
            await teacher.close()

    return asyncio.run(main())


def _collect(store: Store, settings: Settings, api: FakeMessagesAPI) -> batch.BatchStatus:
    fams = load_families(settings.prompts_dir).families

    async def main():
        teacher = Teacher(settings.teacher, api_key="k", base_url=api.url)
        try:
            return await batch.collect(store, fams, teacher, settings)
        finally:
            await teacher.close()

    return asyncio.run(main())


def test_the_default_limits_are_the_apis() -> None:
    settings = Settings()
    assert settings.batch.max_requests == API_BATCH_MAX_REQUESTS == 100_000
    assert settings.batch.max_bytes == API_BATCH_MAX_BYTES == 256_000_000  # 256 MB
    fake = FakeMessagesAPI()
    assert (fake.max_batch_requests, fake.max_batch_bytes) == (API_BATCH_MAX_REQUESTS, API_BATCH_MAX_BYTES)
    with pytest.raises(ValueError):
        BatchSettings(max_requests=100_001)
    with pytest.raises(ValueError):
        BatchSettings(max_bytes=API_BATCH_MAX_BYTES + 1)


def test_the_limits_are_read_from_curator_toml(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("[batch]\nmax_requests = 40000\nmax_bytes = 3000000\n", encoding="utf-8")
    loaded = Settings.load(tmp_path / "c.toml")
    assert (loaded.batch.max_requests, loaded.batch.max_bytes) == (40_000, 3_000_000)
    (tmp_path / "bad.toml").write_text("[batch]\nmax_requests = 200000\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="batch.max_requests"):
        Settings.load(tmp_path / "bad.toml")


@pytest.mark.parametrize("limits", [{"max_requests": 6_000}, {"max_bytes": 600_000}], ids=["count", "bytes"])
def test_a_batch_run_is_split_within_the_limits(db_file: Path, prompts: Path, limits) -> None:
    """A whole run as one batch was refused by the API (over its limits): every job lost an attempt.
    (The limits are small here; the 150,000-job run with a kill between chunks is below.)"""
    settings = _settings(prompts, **limits)
    with Store(db_file) as store, FakeMessagesAPI() as api:
        api.max_batch_requests, api.max_batch_bytes = settings.batch.max_requests, settings.batch.max_bytes
        _queue(store, 20_000)
        status = _submit(store, settings, api)
        assert status.report.stopped is None, status.report.errors[:3]
        sizes = [api.batch_bytes[b] for b in api.batch_order]
        counts = [len(api.batches[b]["requests"]) for b in api.batch_order]
        assert len(api.batch_order) >= 2 and api.batch_creates == len(api.batch_order), "none refused"
        assert max(counts) <= settings.batch.max_requests and max(sizes) <= settings.batch.max_bytes
        if "max_requests" in limits:
            assert counts == [6_000, 6_000, 6_000, 2_000]
        else:  # full chunks: the next request would not have fitted
            assert len(sizes) >= 4 and all(size > settings.batch.max_bytes - 200 for size in sizes[:-1])
        sent = Counter(api.custom_ids())
        assert len(sent) == 20_000 and set(sent.values()) == {1}, "every job in exactly one batch"
        chunks = store.chunks()
        assert [c["batch_id"] for c in chunks] == api.batch_order == status.submitted
        assert [c["bytes"] for c in chunks] == sizes, "the chunk's size is the body the API got"
        by_chunk = Counter((j.chunk_id, j.batch_id) for j in store.jobs())
        assert by_chunk == Counter({(c["id"], c["batch_id"]): c["requests"] for c in chunks})
        assert store.count_jobs(state="running") == 20_000
        assert store.conn.execute("SELECT min(attempts), max(attempts) FROM jobs").fetchone() == (1, 1)


def test_a_refused_creation_uses_no_attempt(db_file: Path, prompts: Path) -> None:
    """Creation failing three times exhausted max_job_attempts though nothing was ever sent."""
    settings = _settings(prompts, max_requests=4)
    with Store(db_file) as store, FakeMessagesAPI() as api:
        _queue(store, 10)
        api.polls_until_ended = 0
        for code in (413, 400, 500):
            api.batch_create_faults.append(Fault.status_code(code, message="refused"))
            status = _submit(store, settings, api)
            assert status.submitted == [] and f"batch not created: {code}" in status.report.stopped
            assert store.count_jobs(state="queued") == 10, "the refused chunk's jobs are queued again"
            assert all(j.attempts == 0 and j.chunk_id is None for j in store.jobs())
        assert [c["state"] for c in store.chunks()] == ["refused"] * 3
        status = _submit(store, settings, api)
        assert len(status.submitted) == 3 and status.report.stopped is None
        _collect(store, settings, api)
        assert store.count_jobs(state="done") == 10
        assert all(j.attempts == 1 for j in store.jobs())
        outcomes = Counter(a["outcome"] for j in store.jobs() for a in store.attempts_of(j.id))
        assert outcomes == {"done": 10, "refused": 3 * 4}


def test_a_request_larger_than_a_batch_fails_alone(db_file: Path, prompts: Path) -> None:
    settings = _settings(prompts, max_bytes=1024)
    with Store(db_file) as store, FakeMessagesAPI() as api:
        _queue(store, 3)
        big = store.jobs()[1]
        store.conn.execute("UPDATE jobs SET params = ? WHERE id = ?", ('{"n": 1, "seed_words": ["' + "ب" * 600 + '"]}',
                                                                     big.id))
        store.conn.commit()
        status = _submit(store, settings, api)
        assert len(status.submitted) == 1 and len(api.custom_ids()) == 2
        assert store.job(big.id).state == "failed" and "more than a batch may hold" in store.job(big.id).last_error


CLI_TOML = """prompts_dir = "{prompts}"
[teacher]
structured_outputs = "off"
backoff_base_s = 0.01
[batch]
max_requests = {max_requests}
confirm_after_s = {confirm}
"""


def _env(tmp_path: Path, prompts: Path, api: FakeMessagesAPI, db: Path, *, max_requests: int,
         confirm: float = 120) -> dict[str, str]:
    (tmp_path / "curator.toml").write_text(CLI_TOML.format(prompts=prompts, max_requests=max_requests,
                                                           confirm=confirm), encoding="utf-8")
    return {**os.environ, "ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": api.url,
            "CURATOR_CONFIG": str(tmp_path / "curator.toml"), "CURATOR_DB": str(db)}


def _batch_cli(limit: int, *more: str) -> list[str]:
    return [sys.executable, "-m", "curator", "generate", "--family", "tiny", "--batch", "--limit", str(limit), *more]


def _check_every_job_sent_once(api: FakeMessagesAPI, db: Path, jobs: int) -> None:
    sent = Counter(cid.rsplit("-", 1)[0] for cid in api.custom_ids())
    assert len(sent) == jobs and set(sent.values()) == {1}, "no chunk (no job) sent twice"
    with Store(db, readonly=True) as store:
        chunks = {c["id"]: c for c in store.chunks()}
        assert all(c["state"] in ("submitted", "collected", "abandoned", "refused") for c in chunks.values())
        for job in store.jobs():
            assert job.batch_id is not None and chunks[job.chunk_id]["batch_id"] == job.batch_id, job


def test_a_150000_job_batch_run_survives_a_kill_between_chunks(tmp_path: Path, prompts: Path) -> None:
    db = tmp_path / "big.db"
    with Store(db) as store:
        _queue(store, 150_000)
    with FakeMessagesAPI() as api:
        env = _env(tmp_path, prompts, api, db, max_requests=40_000)
        proc = subprocess.Popen(_batch_cli(150_000), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        first = proc.stdout.readline()  # printed once the first chunk's batch id is recorded
        assert first.startswith("chunk "), (first, proc.communicate())
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with Store(db, readonly=True) as store:
            left = store.count_jobs(state="queued")
            assert store.chunks()[0]["state"] == "submitted" and 0 < left <= 110_000
        out = subprocess.run(_batch_cli(150_000, "--resume"), env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert f"this run: {left} jobs ({left} queued before, 0 new)" in out.stdout, out.stdout
        _check_every_job_sent_once(api, db, 150_000)
        assert max(len(api.batches[b]["requests"]) for b in api.batch_order) <= 40_000


@pytest.mark.parametrize("moment", ["before_created", "after_created", "after_recorded"])
def test_a_kill_at_any_moment_of_a_submission_sends_no_chunk_twice(tmp_path: Path, prompts: Path, moment) -> None:
    """Killed while its second chunk's creation is at the server (before the batch exists, or after it
    exists but before the client hears of it), or after it is recorded (held while the third chunk's
    creation is at the server, so the moment is the same on every run): the next run finds the batch
    (or, never created, sends the chunk), and every job gets its result exactly once."""
    db = tmp_path / "kill.db"
    with Store(db) as store:
        _queue(store, 30)
    hold, arrived = threading.Event(), threading.Event()
    with FakeMessagesAPI() as api:
        api.polls_until_ended = 0
        env = _env(tmp_path, prompts, api, db, max_requests=10, confirm=0)
        if moment in ("before_created", "after_recorded"):
            held = 2 if moment == "before_created" else 3

            def before(n: int, size: int) -> None:
                if n == held:
                    arrived.set()
                    hold.wait(60)
                    return Fault.status_code(500, message="not created: its client went away")
                return None
            api.before_create = before
        elif moment == "after_created":
            def after(batch_id: str) -> None:
                if len(api.batch_order) == 2:
                    arrived.set()
                    hold.wait(60)
            api.after_create = after
        proc = subprocess.Popen(_batch_cli(30), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if moment == "after_recorded":
            assert proc.stdout.readline().startswith("chunk ") and proc.stdout.readline().startswith("chunk ")
        else:
            assert proc.stdout.readline().startswith("chunk ")
        assert arrived.wait(60), proc.communicate()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        hold.set()
        with Store(db, readonly=True) as store:
            states = [c["state"] for c in store.chunks()]
        assert states == {"before_created": ["submitted", "sending"], "after_created": ["submitted", "sending"],
                          "after_recorded": ["submitted", "submitted", "sending"]}[moment]
        out = subprocess.run(_batch_cli(30, "--wait", "--resume"), env=env, capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, out.stderr
        if moment == "after_created":
            assert "found again" in out.stdout, out.stdout
        _check_every_job_sent_once(api, db, 30)
    with Store(db, readonly=True) as store:
        assert store.count_jobs(state="done") == 30 and store.count("examples", "kind = 'candidate'") == 2 * 30
        assert all(j.attempts == 1 for j in store.jobs()), "one attempt each: the one whose batch was created"
        dupes = store.conn.execute("SELECT count(*) FROM (SELECT job_id, job_item FROM examples "
                                   "GROUP BY job_id, job_item HAVING count(*) > 1)").fetchone()[0]
        assert dupes == 0


def test_collect_gives_a_job_the_results_do_not_mention_back_to_the_queue(db_file: Path, prompts: Path) -> None:
    settings = _settings(prompts)
    with Store(db_file) as store, FakeMessagesAPI() as api:
        _queue(store, 3)
        api.polls_until_ended = 0
        status = _submit(store, settings, api)
        dropped = api.batches[status.submitted[0]]["requests"].pop(1)  # the API forgets one
        _collect(store, settings, api)
        job = store.job(int(dropped["custom_id"].split("-")[1]))
        assert job.state == "queued" and "ended without a result" in job.last_error
        assert store.count_jobs(state="done") == 2


def test_a_chunk_being_sent_keeps_its_lease_while_its_submitter_lives(db_file: Path) -> None:
    """A long upload renews its chunk's lease: another process never takes (and resends) a live chunk."""
    with Store(db_file) as store:
        me, other = f"{HOST}:{os.getpid()}:sender", f"{HOST}:{os.getpid()}:other"
        chunk = store.open_chunk("abc123", "generate", "tiny", me, lease_s=-1)  # its lease ran out
        store.chunk_sending(chunk, me, requests=1, size=100)
        assert store.renew_leases(me) == 0  # (no job of its own here: the chunk's lease is renewed all the same)
        assert not store.take_over_chunk(chunk, other), "a renewed lease is not taken"
        store.expire_chunk_lease(chunk, me)
        assert store.take_over_chunk(chunk, other)
