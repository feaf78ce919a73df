"""Prompt caching (#24): each family's requests share one prefix marked with cache_control, and the
fake Messages API charges it as the real one does (written once, read after, nothing below the model's
minimum). Tests written to fail on the code before: no request set cache_control, requests shared no
prefix (the few-shot seeds rotated in the user turn), and a 1,000-job run cost what it did."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from pathlib import Path

import pytest

from curator.config import Settings, TeacherSettings
from curator.families import load_families, load_family
from curator.jobs import runner
from curator.jobs.plan import FewShot, build_request, plan_generation
from curator.jobs.runner import run_jobs
from curator.models import Job
from curator.services.demo import prepare_sample
from curator.services.seeds import import_seeds
from curator.store import Store
from curator.teacher.client import Teacher
from before_caching import build_request_before
from fake_messages_api import FakeMessagesAPI, _conversation_item

ROOT = Path(__file__).resolve().parents[1]
FAMS = load_families(ROOT / "prompts").families
TWENTY_SEEDS = ROOT / "tests" / "data" / "fewshot_safety.jsonl"  # 20 few-shot seeds of the safety family


@pytest.fixture
def store(db_file: Path):
    with Store(db_file) as s:
        prepare_sample(s)
        yield s


@pytest.fixture
def twenty_seeds(store: Store) -> Store:
    """The sample, and a few-shot block of 20 seeds for the safety family."""
    report = import_seeds(store, TWENTY_SEEDS)
    assert report.added == 20 and not report.problems
    return store


def run(store: Store, api: FakeMessagesAPI, settings: Settings, families=FAMS, **kwargs):
    async def main():
        teacher = Teacher(settings.teacher, api_key="k", base_url=api.url)
        try:
            return await run_jobs(store, families, teacher, settings, **kwargs)
        finally:
            await teacher.close()

    return asyncio.run(main())


def marks(body: dict) -> list[dict]:
    system = body["system"]
    assert isinstance(system, list), "the system prompt is a list of text blocks"
    return [b.get("cache_control") for b in system]


def test_every_request_marks_its_shared_prefix_with_cache_control(store: Store) -> None:
    settings = Settings()
    fewshot = FewShot.load(store)
    for family in FAMS.values():
        for job in plan_generation(store, family, settings, limit=2, dry_run=True).jobs:
            body = build_request(store, family, job, settings, structured=True, fewshot=fewshot).body
            assert marks(body) == [None] * (len(body["system"]) - 1) + [{"type": "ephemeral", "ttl": "5m"}], family.name
    rubric = load_family(ROOT / "prompts" / "judge.toml")
    classify = load_family(ROOT / "prompts" / "classify.toml")
    example = store.fewshot_seeds("passage_qa")[0]
    judge_job = Job(idem_key="j", kind="judge", family="judge", passage_id=example.passage_id,
                    params={"example_id": example.id, "n": 1})
    classify_job = Job(idem_key="c", kind="classify", family="classify", passage_id=store.passage_ids(limit=1)[0],
                       params={"n": 1})
    for family, job in ((rubric, judge_job), (classify, classify_job)):
        body = build_request(store, family, job, settings, structured=True).body
        assert marks(body) == [{"type": "ephemeral", "ttl": "5m"}], "the judge and the classifier too"
        assert body["system"][0]["text"] == family.system


def test_the_requests_of_a_family_share_one_prefix_and_differ_after_it(store: Store) -> None:
    settings = Settings(teacher=TeacherSettings(fewshot_count=2))
    family = FAMS["grammar_tutor"]
    seeds = sorted(store.fewshot_seeds("grammar_tutor"), key=lambda s: s.id)
    assert len(seeds) == 3
    fewshot = FewShot.load(store)
    requests = [build_request(store, family, job, settings, structured=True, fewshot=fewshot)
                for job in plan_generation(store, family, settings, limit=8, dry_run=True).jobs]
    bodies = [r.body for r in requests]
    assert all(b["system"] == bodies[0]["system"] for b in bodies), "one prefix for the family"
    instructions, block, rules = (b["text"] for b in bodies[0]["system"])
    assert instructions == family.system and rules == family.output
    for number, seed in enumerate(seeds, start=1):  # the whole few-shot block, numbered in a stable order
        assert f"[{number}] " in block and seed.messages[-1].content in block
    users = [b["messages"][0]["content"] for b in bodies]
    assert len(set(users)) == len(users), "each job's own part follows the prefix"
    for user in users:
        assert not any(m.content in user for s in seeds for m in s.messages), "no seed text after the prefix"
        assert re.search(r"imitate this time: \[\d\] and \[\d\] of the numbered", user), user
    assert {tuple(r.fewshot_ids) for r in requests} == {tuple(s.id for s in seeds)}, "every request shows the block"
    assert len({tuple(r.imitated) for r in requests}) > 1, "which seeds to imitate rotates"


def test_a_prefix_is_written_once_read_after_and_neither_below_the_minimum() -> None:
    """The fake, through the real SDK: what the tests and the benchmark rely on."""
    prefix = [{"type": "text", "text": "دستور کار ثابت خانواده. " * 400,
               "cache_control": {"type": "ephemeral", "ttl": "5m"}}]
    body = {"model": "claude-sonnet-4-6", "max_tokens": 64, "system": prefix,
            "messages": [{"role": "user", "content": "بخش ویژهٔ این درخواست"}]}
    now = [0.0]

    async def send(api: FakeMessagesAPI, *bodies: dict):
        teacher = Teacher(TeacherSettings(), api_key="k", base_url=api.url)
        try:
            return [(await teacher.complete(b)).usage for b in bodies]
        finally:
            await teacher.close()

    with FakeMessagesAPI() as api:
        api.clock = lambda: now[0]
        first, second = asyncio.run(send(api, body, body))
        assert first.cache_write_tokens > 1024 and first.cache_read_tokens == 0
        assert second.cache_read_tokens == first.cache_write_tokens and second.cache_write_tokens == 0
        assert second.input_tokens == first.input_tokens < 20, "only the job's own part is uncached"
        now[0] += 301  # the 5-minute entry has expired
        (third,) = asyncio.run(send(api, body))
        assert third.cache_write_tokens == first.cache_write_tokens
        haiku = {**body, "model": "claude-haiku-4-5"}  # a 4,096-token minimum: this prefix is below it
        unmarked = {**body, "system": [{"type": "text", "text": prefix[0]["text"]}]}
        for usage in asyncio.run(send(api, haiku, haiku, unmarked, unmarked)):
            assert usage.cache_write_tokens == usage.cache_read_tokens == 0
            assert usage.input_tokens == first.prompt_tokens
        hour = {**body, "system": [{**prefix[0], "text": "یک ساعت. " + prefix[0]["text"],
                                    "cache_control": {"type": "ephemeral", "ttl": "1h"}}]}
        (written,) = asyncio.run(send(api, hour))
        assert written.cache_write_1h_tokens == written.cache_write_tokens > 0


def test_cache_writes_and_reads_are_counted_in_each_job(twenty_seeds: Store) -> None:
    store = twenty_seeds
    settings = Settings(teacher=TeacherSettings(concurrency=4))
    plan_generation(store, FAMS["safety"], settings, limit=12)
    with FakeMessagesAPI(latency=0.02) as api:
        report = run(store, api, settings)
    assert report.done == 12
    jobs = store.jobs()
    writes = [j for j in jobs if j.cache_write_tokens]
    assert len(writes) == 1, "the first request of the prefix goes alone: one write, the others read it"
    assert all(j.cache_read_tokens == writes[0].cache_write_tokens for j in jobs if j is not writes[0])
    price = settings.price("claude-sonnet-4-6")
    for job in jobs:
        expected = price.cost(job.input_tokens, job.output_tokens, job.cache_write_tokens, job.cache_read_tokens)
        assert abs(job.cost_usd - expected) < 1e-9
    assert report.usage.cache_read_tokens == sum(j.cache_read_tokens for j in jobs)
    assert report.usage.cache_write_tokens == writes[0].cache_write_tokens


def test_the_others_wait_for_the_first_request_of_a_prefix_only_so_long(twenty_seeds: Store, monkeypatch) -> None:
    """A long reply does not hold the run back: the cache entry is written while the prompt is read."""
    from curator.teacher import client

    monkeypatch.setattr(client, "WARMUP_S", 0.01)
    settings = Settings(teacher=TeacherSettings(concurrency=4))
    plan_generation(twenty_seeds, FAMS["safety"], settings, limit=4)
    with FakeMessagesAPI(latency=0.3) as api:  # the fake makes its entry readable only with the answer
        report = run(twenty_seeds, api, settings)
    assert report.done == 4
    assert all(j.cache_write_tokens for j in twenty_seeds.jobs()), "none waited for the first one's answer"


# -- 1,000 jobs, before and after -------------------------------------------------------------

def by_job(body: dict, n: int) -> dict:
    """The fake's answer depends on the job (its seed words), not on the prompt's layout or the order."""
    words = re.search(r"fit naturally: (.*)", body["messages"][0]["content"]).group(1)
    k = int(hashlib.sha256(words.encode()).hexdigest()[:8], 16)
    return {"items": [_conversation_item(k), _conversation_item(k + 1, "mini_quiz")]}


def thousand_jobs(db: Path, before: bool, monkeypatch) -> tuple[float, dict[str, list[str]]]:
    settings = Settings(teacher=TeacherSettings(concurrency=16))
    with Store(db) as store, FakeMessagesAPI(responder=by_job) as api, monkeypatch.context() as patch:
        prepare_sample(store)
        import_seeds(store, TWENTY_SEEDS)
        plan_generation(store, FAMS["safety"], settings, limit=1000)
        if before:
            patch.setattr(runner, "build_request", build_request_before)
        report = run(store, api, settings)
        assert report.done == 1000 and report.failed == 0 and len(api.requests) == 1000
        keys = {j.id: j.idem_key for j in store.jobs()}
        out: dict[str, list[str]] = {}
        for c in store.examples("kind = 'candidate'"):
            out.setdefault(keys[c.job_id], []).append(json.dumps([m.content for m in c.messages], ensure_ascii=False))
        return store.spent_usd(), {k: sorted(v) for k, v in out.items()}


def test_a_thousand_jobs_with_twenty_seeds_cost_30_percent_less_with_the_same_candidates(tmp_path, monkeypatch) -> None:
    before_cost, before = thousand_jobs(tmp_path / "before.db", True, monkeypatch)
    after_cost, after = thousand_jobs(tmp_path / "after.db", False, monkeypatch)
    assert after == before and sum(map(len, after.values())) == 2000, "the same candidates, job for job"
    assert after_cost <= 0.70 * before_cost, f"${after_cost:.2f} after, ${before_cost:.2f} before"
