"""Generation through the real `anthropic` SDK against a local Messages API server, faults included."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest

from curator.config import Settings, TeacherSettings
from curator.services.demo import prepare_sample
from curator.store import Store
from curator.teacher.client import Teacher
from curator.families import load_families
from curator.jobs.plan import plan_generation
from curator.jobs.runner import run_jobs
from fake_messages_api import FakeMessagesAPI, Fault

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-test-secret-key-123"


@pytest.fixture
def api():
    server = FakeMessagesAPI().start()
    yield server
    server.stop()


@pytest.fixture
def families():
    loaded = load_families(ROOT / "prompts")
    assert loaded.errors == []
    return loaded.families


@pytest.fixture
def settings() -> Settings:
    return Settings(teacher=TeacherSettings(concurrency=4, backoff_base_s=0.01, retry_after_cap_s=0.3, timeout_s=2.0,
                                            max_retries=4, max_job_attempts=3))


@pytest.fixture
def sample_store(db_file: Path):
    with Store(db_file) as store:
        prepare_sample(store)
        yield store


def run(store, families, settings, api, *, sleeps=None, **kwargs):
    async def main():
        async def fake_sleep(seconds):
            if sleeps is not None:
                sleeps.append(seconds)
            await asyncio.sleep(0)

        teacher = Teacher(settings.teacher, api_key=KEY, base_url=api.url, sleep=fake_sleep)
        try:
            return await run_jobs(store, families, teacher, settings, **kwargs)
        finally:
            await teacher.close()

    return asyncio.run(main())


def test_success_writes_candidates_with_full_lineage(sample_store, families, settings, api) -> None:
    fam = families["student_support"]
    plan = plan_generation(sample_store, fam, settings, limit=3)
    report = run(sample_store, families, settings, api)
    assert report.done == 3 and report.failed == 0
    assert report.candidates == 6  # two items per reply
    assert len(api.requests) == 3
    for body in api.requests:
        assert "temperature" not in body and "top_p" not in body
        assert body["messages"][-1]["role"] == "user"  # no assistant prefill
    cands = sample_store.examples("kind = 'candidate'")
    assert {c.job_id for c in cands} == {j.id for j in sample_store.jobs()}
    for c in cands:
        assert c.template_hash == fam.template_hash and c.model == "claude-sonnet-4-6"
        assert c.passage_id is not None and c.passage_start is not None and c.source_type == "generated"
        assert c.metadata["job_usage"]["input_tokens"] > 0
    job = sample_store.jobs()[0]
    assert job.state == "done" and job.input_tokens > 0 and job.cost_usd > 0
    assert plan.added == 3


def test_running_the_same_plan_twice_adds_nothing(sample_store, families, settings, api) -> None:
    fam = families["passage_qa"]
    plan_generation(sample_store, fam, settings, limit=4)
    run(sample_store, families, settings, api)
    before = sample_store.count("examples", "kind = 'candidate'")
    again = plan_generation(sample_store, fam, settings, limit=4)
    assert again.added == 0
    run(sample_store, families, settings, api)
    assert sample_store.count("examples", "kind = 'candidate'") == before
    assert len(api.requests) == 4


@pytest.mark.parametrize("code", [429, 529, 500, 502, 503])
def test_retryable_statuses_are_retried(sample_store, families, settings, api, code) -> None:
    plan_generation(sample_store, families["safety"], settings, limit=1)
    api.faults.extend([Fault.status_code(code), Fault.status_code(code)])
    sleeps: list[float] = []
    report = run(sample_store, families, settings, api, sleeps=sleeps)
    assert report.done == 1 and len(api.requests) == 3 and len(sleeps) == 2


def test_retry_after_is_honoured_and_capped(sample_store, families, settings, api) -> None:
    plan_generation(sample_store, families["safety"], settings, limit=1)
    api.faults.extend([Fault.status_code(429, retry_after="0.125"), Fault.status_code(429, retry_after="3600")])
    sleeps: list[float] = []
    report = run(sample_store, families, settings, api, sleeps=sleeps)
    assert report.done == 1
    assert sleeps == [0.125, settings.teacher.retry_after_cap_s]


def test_retries_run_out_and_the_job_is_requeued_then_failed(sample_store, families, settings, api) -> None:
    plan_generation(sample_store, families["safety"], settings, limit=1)
    api.fault_for = lambda n, body: Fault.status_code(529)
    report = run(sample_store, families, settings, api)
    (job,) = sample_store.jobs()
    assert job.state == "failed" and job.attempts == settings.teacher.max_job_attempts
    assert "529" in job.last_error
    assert json.loads(job.raw_response)["error"]["type"] == "overloaded_error", "the raw error body is kept"
    assert len(api.requests) == settings.teacher.max_job_attempts * (settings.teacher.max_retries + 1)
    assert report.failed == 1


def test_a_timeout_is_retried(sample_store, families, settings, api) -> None:
    settings.teacher.timeout_s = 0.3
    plan_generation(sample_store, families["safety"], settings, limit=1)
    api.faults.append(Fault.timeout(1.0))
    report = run(sample_store, families, settings, api)
    assert report.done == 1 and len(api.requests) == 2


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (Fault.text("Here is the JSON you asked for: {items: oops"), "invalid JSON"),
        (Fault.text(json.dumps({"items": [{"task_type": "x", "messages": [{"role": "user", "content": "فقط یک پیام"}]}]})),
         "schema-invalid"),
        (Fault.truncated(), "truncated"),
        (Fault.refusal(), "refusal"),
    ],
)
def test_unusable_replies_are_failed_attempts_with_raw_kept(sample_store, families, settings, api, fault, kind) -> None:
    plan_generation(sample_store, families["safety"], settings, limit=1)
    api.faults.append(fault)
    report = run(sample_store, families, settings, api)
    (job,) = sample_store.jobs()
    assert job.state == "done" and job.attempts == 2, "the second attempt succeeds"
    assert job.last_error.startswith(kind)
    assert job.raw_response and json.loads(job.raw_response)["type"] == "message"
    assert report.retried == 1 and report.done == 1
    assert job.cost_usd > 0, "the failed attempt was paid for and is counted"


def test_a_bad_request_is_not_retried(sample_store, families, settings, api) -> None:
    settings.teacher.structured_outputs = "on"
    plan_generation(sample_store, families["safety"], settings, limit=1)
    api.fault_for = lambda n, body: Fault.status_code(400, message="messages: invalid")
    run(sample_store, families, settings, api)
    (job,) = sample_store.jobs()
    assert "400" in job.last_error and job.state == "failed"
    assert len(api.requests) == 1


def test_falls_back_to_json_in_text_when_structured_outputs_are_unsupported(sample_store, families, settings, api) -> None:
    plan_generation(sample_store, families["safety"], settings, limit=2)
    api.faults.append(Fault.no_structured_outputs())
    settings.teacher.concurrency = 1
    report = run(sample_store, families, settings, api)
    assert report.done == 2
    assert "output_config" in api.requests[0]
    assert all("output_config" not in body for body in api.requests[1:])


def test_budget_cap_stops_issuing_requests(sample_store, families, settings, api) -> None:
    settings.teacher.budget_usd = 0.08  # about two requests' worst case at sonnet prices
    settings.teacher.concurrency = 1
    plan_generation(sample_store, families["safety"], settings, limit=10)
    report = run(sample_store, families, settings, api)
    assert report.budget_reached
    assert 1 <= len(api.requests) < 10
    spent = sample_store.conn.execute("SELECT sum(cost_usd) FROM jobs").fetchone()[0]
    assert spent <= settings.teacher.budget_usd
    assert sample_store.count("jobs", "state = 'queued'") == 10 - len(api.requests)


def test_eval_seeds_are_absent_from_every_request(sample_store, families, settings, api) -> None:
    for name in families:
        plan_generation(sample_store, families[name], settings, limit=3)
    run(sample_store, families, settings, api)
    assert len(api.requests) >= 15
    evals = sample_store.examples("kind = 'seed' AND role = 'eval'")
    fewshots = sample_store.examples("kind = 'seed' AND role = 'fewshot'")
    assert evals and fewshots
    everything = "\n".join(api.raw_bodies)
    decoded = "\n".join(json.dumps(b, ensure_ascii=False) for b in api.requests)
    for seed in evals:
        for m in seed.messages:
            assert m.content not in decoded and json.dumps(m.content)[1:-1] not in everything
    assert any(m.content in decoded for s in fewshots for m in s.messages if m.role == "assistant"), \
        "fewshot seeds do reach the teacher"


def test_a_passage_holding_eval_text_is_never_sent(sample_store, families, settings, api) -> None:
    (eval_seed,) = sample_store.examples("kind = 'seed' AND role = 'eval' AND family = 'passage_qa'")
    answer = eval_seed.messages[-1].content
    from curator.models import Passage

    sample_store.insert_passages([Passage(source_path="leak.txt", start=0, end=len(answer) + 120,
                                          text="متن درس تاریخ. " * 8 + answer, key_hash="leak", tags=["factual"],
                                          quality="high", families=["passage_qa"])])
    plan_generation(sample_store, families["passage_qa"], settings, limit=50)
    run(sample_store, families, settings, api)
    (leaky,) = [j for j in sample_store.jobs() if j.last_error and "private eval" in j.last_error]
    assert leaky.state == "failed"
    assert answer not in "\n".join(json.dumps(b, ensure_ascii=False) for b in api.requests)


def test_the_api_key_never_reaches_the_database(sample_store, families, settings, api, db_file) -> None:
    plan_generation(sample_store, families["safety"], settings, limit=2)
    api.faults.append(Fault.status_code(401, message="invalid x-api-key"))
    run(sample_store, families, settings, api)
    sample_store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for path in db_file.parent.glob(db_file.name + "*"):
        assert KEY.encode() not in path.read_bytes()


def test_a_malformed_family_file_disables_only_that_family(tmp_path: Path) -> None:
    (tmp_path / "families").mkdir()
    for f in (ROOT / "prompts" / "families").glob("*.toml"):
        (tmp_path / "families" / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    bad = tmp_path / "families" / "safety.toml"
    bad.write_text(bad.read_text(encoding="utf-8").replace('schema = "ConversationBatch"', 'schema = "Nope"'),
                   encoding="utf-8")
    broken = tmp_path / "families" / "broken.toml"
    broken.write_text('name = "broken"\nschema = "ConversationBatch"\nitems = [1,\n', encoding="utf-8")
    unknown = tmp_path / "families" / "unknown.toml"
    unknown.write_text('name = "unknown"\nschema = "ConversationBatch"\npassage = "none"\n[prompt]\nsystem = "s"\n'
                       'user = "write {count} items"\n', encoding="utf-8")
    loaded = load_families(tmp_path)
    assert "safety" not in loaded.families and "grammar_tutor" in loaded.families
    errors = "\n".join(loaded.errors)
    assert f"{bad}:" in errors and "schema: 'Nope'" in errors
    line = next(i for i, l in enumerate(bad.read_text(encoding="utf-8").splitlines(), 1) if l.startswith("schema"))
    assert f"{bad}:{line}:" in errors
    assert f"{broken}:" in errors
    assert f"{unknown}:6: user: unknown placeholder {{count}}" in errors


def test_templates_insert_passage_text_verbatim(sample_store, families, settings) -> None:
    from curator.models import Job
    from curator.jobs.plan import build_request

    fam = families["passage_qa"]
    tricky = "متن با {topic} و {{braces}} و [bold]markup[/bold] و \x1b[31m"
    from curator.models import Passage

    sample_store.insert_passages([Passage(source_path="t.txt", start=0, end=len(tricky), text=tricky, key_hash="t")])
    pid = sample_store.conn.execute("SELECT id FROM passages WHERE key_hash = 't'").fetchone()[0]
    body = build_request(sample_store, fam, Job(idem_key="x", family=fam.name, passage_id=pid, params={}), settings,
                         structured=False).body
    assert tricky in body["messages"][0]["content"]


def test_a_server_gone_mid_run_stops_it_and_sends_nothing_more(sample_store, families, settings) -> None:
    """#24: an unreachable server took every job through 7 connection attempts each. Now the first job
    that cannot connect goes back without using an attempt, the run stops and says where it could not go."""
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        url = "http://127.0.0.1:%d" % sock.getsockname()[1]
    plan_generation(sample_store, families["safety"], settings, limit=5)
    one = settings.model_copy(update={"teacher": settings.teacher.model_copy(update={"concurrency": 1})})

    async def main():
        teacher = Teacher(one.teacher, api_key=KEY, base_url=url)
        try:
            return await run_jobs(sample_store, families, teacher, one)
        finally:
            await teacher.close()

    report = asyncio.run(main())
    assert report.stopped and f"cannot reach the Messages API at {url}" in report.stopped
    assert report.requests == 0 and f"stopped: cannot reach the Messages API at {url}" in report.summary()
    jobs = sample_store.jobs()
    assert all(j.state == "queued" and j.attempts == 0 for j in jobs)
    outcomes = [a["outcome"] for j in jobs for a in sample_store.attempts_of(j.id)]
    assert outcomes == ["unsent"], "one job tried, given back; nothing more was sent"
