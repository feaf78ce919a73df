"""Batch mode end to end, and a SIGKILL in the middle of a generation run."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from curator.config import Settings, TeacherSettings
from curator.services.demo import prepare_sample
from curator.store import Store
from curator.jobs import batch
from curator.teacher.client import Teacher
from curator.families import load_families
from curator.jobs.plan import plan_generation
from fake_messages_api import FakeMessagesAPI

ROOT = Path(__file__).resolve().parents[1]


def _batch_round(store, fams, settings, api, *, submit=True):
    async def main():
        teacher = Teacher(settings.teacher, api_key="k", base_url=api.url)
        try:
            submitted = await batch.submit(store, fams, teacher, settings) if submit else None
            collected = await batch.collect(store, fams, teacher, settings)
            return submitted, collected
        finally:
            await teacher.close()

    return asyncio.run(main())


def test_batch_submit_poll_collect_with_errored_and_expired_entries(db_file: Path) -> None:
    fams = load_families(ROOT / "prompts").families
    settings = Settings(teacher=TeacherSettings(max_job_attempts=3))
    with Store(db_file) as store, FakeMessagesAPI() as api:
        prepare_sample(store)
        plan_generation(store, fams["safety"], settings, limit=5)
        ids = [j.id for j in store.jobs()]
        api.batch_outcomes = {f"job-{ids[1]}": "errored", f"job-{ids[3]}": "expired"}
        api.polls_until_ended = 1
        submitted, first = _batch_round(store, fams, settings, api)
        assert len(submitted.submitted) == 1 and first.pending == submitted.submitted
        assert store.count("jobs", "state = 'running' AND batch_id IS NOT NULL") == 5
        _, second = _batch_round(store, fams, settings, api, submit=False)
        assert second.collected == submitted.submitted
        states = {j.id: j.state for j in store.jobs()}
        assert [states[i] for i in ids] == ["done", "queued", "done", "queued", "done"]
        failed = {j.id: j for j in store.jobs("state = 'queued'")}
        assert "errored" in failed[ids[1]].last_error and "expired" in failed[ids[3]].last_error
        assert all(j.batch_id is None for j in failed.values()), "retryable in a later batch"
        done = store.jobs("state = 'done'")
        assert all(j.batch_id == submitted.submitted[0] and j.cost_usd > 0 for j in done)
        candidates = store.count("examples", "kind = 'candidate'")
        assert candidates == 3 * 2
        # Collecting again (say, after a restart) adds nothing; the failed ones go in a new batch.
        api.batch_outcomes = {}
        api.polls_until_ended = 0
        resubmitted, third = _batch_round(store, fams, settings, api)
        assert len(resubmitted.submitted) == 1 and third.collected == resubmitted.submitted
        assert store.count("jobs", "state = 'done'") == 5
        assert store.count("examples", "kind = 'candidate'") == 5 * 2
        # Half price: a batch job costs half of what the same usage costs synchronously; its prefix is
        # cached for an hour (a batch's requests are processed over a longer span than 5 minutes).
        assert all(body["system"][-1]["cache_control"] == {"type": "ephemeral", "ttl": "1h"} for body in api.requests)
        price = settings.price(settings.teacher.model)
        for job in store.jobs("state = 'done'"):
            usage = (job.input_tokens, job.output_tokens, job.cache_write_tokens, job.cache_read_tokens)
            assert abs(job.cost_usd - price.cost(*usage, cache_write_1h=job.cache_write_tokens, batch=True)) < 1e-9


def test_sigkill_mid_run_then_restart_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "kill.db"
    with Store(db) as store:
        prepare_sample(store)
    env = {**os.environ, "ANTHROPIC_API_KEY": "k", "CURATOR_CONFIG": str(tmp_path / "curator.toml")}
    (tmp_path / "curator.toml").write_text(f'prompts_dir = "{ROOT / "prompts"}"\n[teacher]\nconcurrency = 4\n',
                                           encoding="utf-8")
    with FakeMessagesAPI(latency=0.15) as api:
        env["ANTHROPIC_BASE_URL"] = api.url
        cmd = [sys.executable, "-m", "curator", "generate", "--family", "safety", "--limit", "40", "--db", str(db)]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while time.time() < deadline:
            with Store(db) as store:
                if store.count("jobs", "state = 'done'") >= 8:
                    break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with Store(db) as store:
            done_at_kill = store.count("jobs", "state = 'done'")
            running_at_kill = store.count("jobs", "state = 'running'")
            candidates_at_kill = store.count("examples", "kind = 'candidate'")
        assert 8 <= done_at_kill < 40 and candidates_at_kill == 2 * done_at_kill
        sent_before_restart = len(api.requests)
        out = subprocess.run([*cmd, "--resume"], env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        left = 40 - done_at_kill
        assert f"this run: {left} jobs ({left} queued before, 0 new)" in out.stdout, out.stdout
    with Store(db) as store:
        assert store.count("jobs", "state = 'done'") == 40
        assert store.count("examples", "kind = 'candidate'") == 80
        dupes = store.conn.execute(
            "SELECT count(*) FROM (SELECT job_id, job_item FROM examples WHERE kind = 'candidate' "
            "GROUP BY job_id, job_item HAVING count(*) > 1)").fetchone()[0]
        assert dupes == 0
    # Only unfinished jobs were asked again: done jobs were never re-requested.
    assert len(api.requests) - sent_before_restart == 40 - done_at_kill
    assert running_at_kill <= 4
