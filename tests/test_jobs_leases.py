"""Job leases and attempts: two runners at once, kills, lost leases, every attempt's raw response."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path


from curator.config import Settings, TeacherSettings
from curator.families import load_families
from curator.jobs.plan import plan_generation
from curator.jobs.runner import RunReport, run_jobs, settle
from curator.services.demo import prepare_sample
from curator.store import Store
from curator.store.base import HOST
from curator.teacher.client import Reply, Teacher, Usage
from fake_messages_api import FakeMessagesAPI, Fault, default_output

ROOT = Path(__file__).resolve().parents[1]
FAMS = load_families(ROOT / "prompts").families


def _env(tmp_path: Path, api: FakeMessagesAPI, db: Path, teacher: str = "concurrency = 4") -> dict[str, str]:
    (tmp_path / "curator.toml").write_text(f'prompts_dir = "{ROOT / "prompts"}"\n[teacher]\n{teacher}\n',
                                           encoding="utf-8")
    return {**os.environ, "ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": api.url,
            "CURATOR_CONFIG": str(tmp_path / "curator.toml"), "CURATOR_DB": str(db)}


def _generate(limit: int) -> list[str]:
    return [sys.executable, "-m", "curator", "generate", "--family", "safety", "--limit", str(limit)]


def _wait_for(db: Path, predicate, proc: subprocess.Popen | None = None, timeout: float = 60) -> None:
    """Poll the database until `predicate(store)` holds (a state the other process writes)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with Store(db, readonly=True) as store:
            if predicate(store):
                return
        assert proc is None or proc.poll() is None, proc.communicate() if proc else ""
        time.sleep(0.02)
    raise AssertionError("the state never came")


def test_two_generate_processes_send_each_job_exactly_once(tmp_path: Path) -> None:
    db = tmp_path / "two.db"
    with Store(db) as store:
        prepare_sample(store)
    release = threading.Event()

    def hold(n: int, body: dict) -> None:
        """The first run's requests wait at the server until the second run has sent one too."""
        if n > 4:
            release.set()
        release.wait(60)

    with FakeMessagesAPI() as api:
        api.fault_for = hold
        env = _env(tmp_path, api, db)
        first = subprocess.Popen(_generate(40), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_for(db, lambda s: s.count_jobs(state="running") == 4, first)  # four requests in flight
        second = subprocess.Popen(_generate(40), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        outs = [p.communicate(timeout=120) for p in (first, second)]
        assert first.returncode == 0 and second.returncode == 0, outs
    sent = Counter(body["messages"][0]["content"] for body in api.requests)
    with Store(db) as store:
        jobs = store.count_jobs()
        # each run takes 40: the family's queued jobs first (the other's, not yet claimed), then new ones
        assert 40 < jobs <= 80 and len(sent) == jobs, "one distinct request per job"
        assert set(sent.values()) == {1}, f"jobs sent twice: {[n for n in sent.values() if n > 1]}"
        assert store.count_jobs(state="done") == jobs
        assert all(len(store.attempts_of(j.id)) == 1 for j in store.jobs())
        assert store.count("examples", "kind = 'candidate'") == 2 * jobs
        assert store.conn.execute("SELECT count(*) FROM (SELECT job_id, job_item FROM examples WHERE job_id IS NOT NULL "
                                  "GROUP BY job_id, job_item HAVING count(*) > 1)").fetchone()[0] == 0


def test_a_job_killed_on_its_last_attempt_fails_instead_of_getting_another(tmp_path: Path) -> None:
    db = tmp_path / "kill.db"
    with Store(db) as store:
        prepare_sample(store)
    release, four_in = threading.Event(), threading.Event()

    def hold(n: int, body: dict) -> None:  # answers wait until the kill
        if n == 4:
            four_in.set()
        release.wait(60)

    with FakeMessagesAPI() as api:
        api.fault_for = hold
        env = _env(tmp_path, api, db, "concurrency = 4\nmax_job_attempts = 1")
        proc = subprocess.Popen(_generate(8), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert four_in.wait(60), proc.communicate()  # four requests reached the server (sent: they count)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        release.set()
        with Store(db) as store:
            in_flight = [j.id for j in store.jobs("state = 'running'")]
        out = subprocess.run([*_generate(8), "--resume"], env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        sent = Counter(body["messages"][0]["content"] for body in api.requests)
    assert in_flight and set(sent.values()) == {1}, "no job was sent twice"
    assert "4 jobs done, 4 failed in this run" in out.stdout, out.stdout  # (it said '0 failed')
    with Store(db) as store:
        for job_id in in_flight:
            job = store.job(job_id)
            assert job.state == "failed" and job.attempts == 1, job
            assert [a["outcome"] for a in store.attempts_of(job_id)] == ["lost"]
        assert max(j.attempts for j in store.jobs()) == 1
        assert len(in_flight) == 4 and store.count_jobs(state="done") == 4


def _one_job(store: Store, settings: Settings) -> int:
    plan_generation(store, FAMS["safety"], settings, limit=1)
    return store.jobs()[0].id


def test_recovery_takes_only_expired_or_orphaned_leases_and_respects_max_attempts(db_file: Path) -> None:
    settings = Settings()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with Store(db_file) as store:
        prepare_sample(store)
        plan_generation(store, FAMS["safety"], settings, limit=4)
        live, expired, orphan, last = [j.id for j in store.jobs()]
        me = f"{HOST}:{os.getpid()}:live"
        for _ in range(3):  # killed during each of its three attempts
            assert store.claim_job(last, f"{HOST}:{dead.pid}:gone", max_attempts=3) is not None
            assert store.recover_jobs(max_attempts=3) == 1
        assert store.claim_job(live, me, max_attempts=3) == 1
        assert store.claim_job(expired, me, max_attempts=3, lease_s=-1) == 1
        assert store.claim_job(orphan, f"{HOST}:{dead.pid}:gone", max_attempts=3) == 1
        assert store.recover_jobs(max_attempts=3) == 2
        states = {j.id: (j.state, j.attempts) for j in store.jobs()}
        assert states[live] == ("running", 1), "a live runner's job is never taken"
        assert states[expired] == ("queued", 1) and states[orphan] == ("queued", 1)
        assert states[last] == ("failed", 3), "no 4th attempt after three kills"
        assert store.claim_job(last, me, max_attempts=3) is None
        assert [a["outcome"] for a in store.attempts_of(last)] == ["lost", "lost", "lost"]


def test_renewing_keeps_a_lease_alive(db_file: Path) -> None:
    with Store(db_file) as store:
        prepare_sample(store)
        job_id = _one_job(store, Settings())
        owner = f"{HOST}:{os.getpid()}:renew"
        store.claim_job(job_id, owner, max_attempts=3, lease_s=-1)
        assert store.renew_leases(owner) == 1
        assert store.recover_jobs(max_attempts=3) == 0
        assert store.job(job_id).state == "running"


def test_a_runner_that_lost_its_lease_stores_nothing_but_keeps_its_reply(db_file: Path) -> None:
    settings = Settings()
    with Store(db_file) as store:
        prepare_sample(store)
        job_id = _one_job(store, settings)
        slow, fast = f"{HOST}:{os.getpid()}:slow", f"{HOST}:{os.getpid()}:fast"
        attempt = store.claim_job(job_id, slow, max_attempts=3, lease_s=-1)
        store.recover_jobs(max_attempts=3)  # the slow runner looked dead: its lease expired
        assert store.claim_job(job_id, fast, max_attempts=3) == 2
        reply = Reply(text=json.dumps(default_output({}, 1), ensure_ascii=False), stop_reason="end_turn", model="m",
                      usage=Usage(10, 20), raw='{"late": true}')
        report = RunReport()
        settle(store, FAMS["safety"], store.job(job_id), reply, settings, report, attempt=attempt, owner=slow)
        assert report.done == 0 and "another runner" in report.errors[0]
        assert store.count("examples", "kind = 'candidate'") == 0
        job = store.job(job_id)
        assert job.state == "running" and job.lease_owner == fast and job.cost_usd == 0
        late = store.attempts_of(job_id)[0]
        assert late["outcome"] == "late" and late["raw_response"] == '{"late": true}'


def test_every_attempt_keeps_its_raw_response_and_jobs_show_lists_them(tmp_path: Path) -> None:
    db = tmp_path / "raw.db"
    settings = Settings(teacher=TeacherSettings(concurrency=1, max_job_attempts=3, backoff_base_s=0.01))
    with Store(db) as store, FakeMessagesAPI() as api:
        prepare_sample(store)
        job_id = _one_job(store, settings)
        api.faults.extend([Fault.text("not json at all: attempt one"), Fault.truncated()])

        async def main():
            teacher = Teacher(settings.teacher, api_key="k", base_url=api.url)
            try:
                return await run_jobs(store, FAMS, teacher, settings)
            finally:
                await teacher.close()

        report = asyncio.run(main())
        assert report.done == 1 and len(api.requests) == 3
        attempts = store.attempts_of(job_id)
        assert [a["outcome"] for a in attempts] == ["retry", "retry", "done"]
        assert "attempt one" in attempts[0]["raw_response"] and '"max_tokens"' in attempts[1]["raw_response"]
        assert 'items' in attempts[2]["raw_response"] and attempts[2]["input_tokens"] > 0
        assert all(a["owner"] and a["finished_at"] for a in attempts)
        env = {**os.environ, "CURATOR_DB": str(db)}
        out = subprocess.run([sys.executable, "-m", "curator", "jobs", "--show", str(job_id)], env=env,
                             capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "attempts (3):" in out.stdout
    assert "#1 retry" in out.stdout and "#2 retry" in out.stdout and "#3 done" in out.stdout
    assert "attempt one" in out.stdout and "invalid JSON" in out.stdout


RUN_SCRIPT = """
import sys
from curator.config import Settings
from curator.families import load_families
from curator.services import generate
from curator.store import Store
settings = Settings.load()
fams = load_families(settings.prompts_path()).families
with Store(sys.argv[1]) as store:
    print(generate.run(store, fams, "safety", settings, limit=8).summary(), flush=True)
"""


def test_a_runner_killed_before_its_requests_went_out_uses_no_attempt(tmp_path: Path) -> None:
    """#24: three kills in a row, each while the runner's requests had not reached the server, left the
    claimed jobs failed ('the runner stopped during the last attempt') though none was ever sent. An
    attempt counts when its request is sent: these jobs go back without using one."""
    db = tmp_path / "unsent.db"
    with Store(db) as store:
        prepare_sample(store)
    hole = socket.socket()  # a server whose backlog is full: connections never open, nothing is sent
    hole.bind(("127.0.0.1", 0))
    hole.listen(0)
    filler = socket.create_connection(hole.getsockname(), timeout=5)
    teacher = "concurrency = 4\nmax_job_attempts = 3\nconnect_timeout_s = 600\ntimeout_s = 600"
    with FakeMessagesAPI() as api:
        env = _env(tmp_path, api, db, teacher)
        env["ANTHROPIC_BASE_URL"] = "http://127.0.0.1:%d" % hole.getsockname()[1]
        claimed: set[int] = set()
        for _ in range(3):
            proc = subprocess.Popen([sys.executable, "-c", RUN_SCRIPT, str(db)], env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
            _wait_for(db, lambda s: s.count_jobs(state="running") == 4, proc)  # four claimed, none sent
            with Store(db, readonly=True) as store:
                claimed |= {j.id for j in store.jobs("state = 'running'")}
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        filler.close()
        hole.close()
        with Store(db) as store:
            assert store.count_jobs(state="failed") == 0, [j.last_error for j in store.jobs("state = 'failed'")]
            assert all(j.attempts == 0 for j in store.jobs()), "no request was sent: no attempt was used"
        env["ANTHROPIC_BASE_URL"] = api.url
        out = subprocess.run([sys.executable, "-c", RUN_SCRIPT, str(db)], env=env, capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, out.stderr
    assert "8 jobs done, 0 failed in this run" in out.stdout, out.stdout
    sent = Counter(body["messages"][0]["content"] for body in api.requests)
    with Store(db) as store:
        assert store.count_jobs(state="done") == 8 and set(sent.values()) == {1}
        assert all(j.attempts == 1 for j in store.jobs()), "attempts == requests the server got"
        for job_id in claimed:
            outcomes = [a["outcome"] for a in store.attempts_of(job_id)]
            assert outcomes.count("unsent") >= 1 and outcomes[-1] == "done", outcomes
        assert {j.lost_leases for j in store.jobs() if j.id in claimed} >= {1}


def test_a_job_whose_runner_keeps_dying_before_sending_fails_at_the_lost_lease_cap(db_file: Path) -> None:
    """Lost leases have a cap of their own: a job that kills its runner before sending cannot loop forever."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = f"{HOST}:{dead.pid}:gone"
    with Store(db_file) as store:
        prepare_sample(store)
        job_id = _one_job(store, Settings())
        for _ in range(2):
            assert store.claim_job(job_id, gone, max_attempts=3, sent=False, max_lost=3) is not None
            assert store.recover_jobs(max_attempts=3, max_lost=3).failed == 0
        assert store.job(job_id).state == "queued" and store.job(job_id).attempts == 0
        assert store.claim_job(job_id, gone, max_attempts=3, sent=False, max_lost=3) is not None
        recovered = store.recover_jobs(max_attempts=3, max_lost=3)
        assert recovered == 1 and recovered.failed == 1
        job = store.job(job_id)
        assert job.state == "failed" and job.attempts == 0 and job.lost_leases == 3
        assert "stopped 3 times before sending" in job.last_error
        assert [a["outcome"] for a in store.attempts_of(job_id)] == ["unsent"] * 3
