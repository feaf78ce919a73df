"""Estimates from what was measured (#24 item 3): tokens per byte calibrated per family on the stored
usage or the token-counting endpoint, with the error shown; the prompt cache's writes and reads in the
dry run, and, below the model's minimum cacheable length, the plain statement that nothing is cached.
Written to fail on the code before: it guessed one token per 3 bytes and knew nothing of the cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curator.config import Settings, TeacherSettings
from curator.families import load_families
from curator.models import Passage
from curator.services import generate as service
from curator.services.demo import prepare_sample
from curator.services.seeds import import_seeds
from curator.store import Store
from fake_messages_api import FakeMessagesAPI

ROOT = Path(__file__).resolve().parents[1]
FAMS = load_families(ROOT / "prompts").families
TWENTY_SEEDS = ROOT / "tests" / "data" / "fewshot_safety.jsonl"


@pytest.fixture
def setup(db_file: Path, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)  # no token counting unless a test asks for it
    with Store(db_file) as store, FakeMessagesAPI() as api:
        prepare_sample(store)
        import_seeds(store, TWENTY_SEEDS)
        yield store, api


def settings(model: str = "claude-sonnet-4-6") -> Settings:
    return Settings(teacher=TeacherSettings(model=model, concurrency=8))


def test_below_the_models_minimum_the_estimate_says_nothing_will_be_cached(setup) -> None:
    store, api = setup
    haiku = settings("claude-haiku-4-5")  # caches prefixes of 4,096 tokens and more
    estimate = service.estimate(store, FAMS["grammar_tutor"], haiku, limit=10)
    text = estimate.summary()
    assert "below claude-haiku-4-5's minimum of 4096: nothing will be cached" in text, text
    assert estimate.forecast.cache_read_tokens == estimate.forecast.cache_write_tokens == 0
    assert estimate.expected_cost_usd == estimate.forecast.uncached_usd, "no saving is pretended"
    report = service.run(store, FAMS, "grammar_tutor", haiku, limit=10, api_key="k", base_url=api.url)
    assert report.run.done == 10
    assert all(j.cache_read_tokens == j.cache_write_tokens == 0 for j in store.jobs()), "and indeed none was"
    sonnet = service.estimate(store, FAMS["safety"], settings(), limit=10)
    assert sonnet.forecast.cached and "over claude-sonnet-4-6's minimum of 1024: written once, then read" in sonnet.summary()
    assert sonnet.forecast.cache_write_tokens > 0 and sonnet.forecast.cache_read_tokens == 9 * sonnet.forecast.cache_write_tokens
    assert sonnet.expected_cost_usd < sonnet.forecast.uncached_usd


def test_estimates_are_calibrated_on_the_stored_usage_within_ten_percent(setup) -> None:
    store, api = setup
    first = service.run(store, FAMS, "safety", settings(), limit=30, api_key="k", base_url=api.url)
    assert first.run.done == 30
    estimate = service.estimate(store, FAMS["safety"], settings(), limit=100)
    assert estimate.requests == 100 and estimate.done_before == 0, "100 new jobs (none was left queued)"
    calibration = estimate.forecast.calibration
    assert calibration.samples == 30 and calibration.error is not None and calibration.error < 0.10
    assert f"tokens from the usage of 30 requests of safety (±{calibration.error:.1%} a request)" in estimate.summary()
    api.cache.clear()  # a cold cache, as the estimate assumes: its first request writes the prefix
    spent = store.spent_usd()
    second = service.run(store, FAMS, "safety", settings(), limit=100, api_key="k", base_url=api.url)
    assert second.run.done == 100
    used = second.run.usage
    f = estimate.forecast
    assert abs(f.prompt_tokens / used.prompt_tokens - 1) < 0.10
    assert abs(f.cache_read_tokens / used.cache_read_tokens - 1) < 0.10
    assert abs(f.cache_write_tokens / used.cache_write_tokens - 1) < 0.10
    assert abs(f.expected_output_tokens / used.output_tokens - 1) < 0.10
    assert abs(estimate.expected_cost_usd / (store.spent_usd() - spent) - 1) < 0.10


def test_with_nothing_stored_the_token_counting_endpoint_measures_and_eval_text_is_never_sent(setup) -> None:
    store, api = setup
    (item,) = store.examples("kind = 'seed' AND role = 'eval' AND family = 'passage_qa'")
    leak = item.messages[-1].content
    store.insert_passages([Passage(source_path="leak.txt", start=0, end=len(leak) + 120, text="متن درس. " * 12 + leak,
                                   key_hash="leak", tags=["factual"], quality="high", families=["passage_qa"])])
    estimate = service.estimate(store, FAMS["passage_qa"], settings(), limit=50, api_key="k", base_url=api.url)
    calibration = estimate.forecast.calibration
    assert calibration.source.startswith("the token-counting endpoint on ") and calibration.samples >= 3
    assert api.counted and api.requests == [], "counted, nothing generated"
    assert leak not in "\n".join(json.dumps(b, ensure_ascii=False) for b in api.counted)
    guess = service.estimate(store, FAMS["passage_qa"], settings(), limit=50, count_tokens=False)
    assert guess.forecast.calibration.error is None and "a guess of 1 token per 3 bytes" in guess.summary()
    service.run(store, FAMS, "passage_qa", settings(), limit=50, api_key="k", base_url=api.url)
    sent = [j for j in store.jobs() if j.state == "done"]
    measured = sum(j.input_tokens + j.cache_read_tokens + j.cache_write_tokens for j in sent)
    predicted = estimate.input_tokens * len(sent) / estimate.requests
    assert abs(predicted / measured - 1) < 0.10, (predicted, measured)
