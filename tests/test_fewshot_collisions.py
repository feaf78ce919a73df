"""A few-shot seed that matches a private eval item leaves the rotation; its family still runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from curator.config import Settings, TeacherSettings
from curator.families import load_families
from curator.jobs.plan import plan_generation, prompt_text
from curator.models import Example, Message, conversation_text
from curator.services.demo import prepare_sample
from curator.services import generate as service
from curator.store import Store
from curator.text.normalize import key_hash
from fake_messages_api import FakeMessagesAPI

ROOT = Path(__file__).resolve().parents[1]
FAMS = load_families(ROOT / "prompts").families
FAMILY = "grammar_tutor"
EXTRA = "این جمله فقط در یکی از دو متن آمده است و آن را بلندتر می‌کند."


def _eval_item(store: Store, messages: list[Message]) -> int:
    item = Example(kind="eval_item", family=FAMILY, messages=messages, key_hash=key_hash(conversation_text(messages)))
    return store.add_example(item)


def _turns(seed: Example) -> list[Message]:
    return [m for m in seed.messages if m.role != "system"]


def _plant(store: Store, how: str) -> tuple[Example, int]:
    """A private eval item that collides with the first few-shot seed of the family, three ways."""
    seed = store.fewshot_seeds(FAMILY)[0]
    turns = _turns(seed)
    if how == "equal":
        return seed, _eval_item(store, turns)
    if how == "eval holds the seed":
        return seed, _eval_item(store, [Message(role="user", content=f"{turns[0].content} {EXTRA}"), turns[1]])
    # the seed holds the eval item: the eval item is one turn of the seed
    return seed, _eval_item(store, [turns[0]])


@pytest.fixture
def setup(db_file: Path):
    with Store(db_file) as store, FakeMessagesAPI() as api:
        prepare_sample(store)
        yield store, api


SETTINGS = Settings(teacher=TeacherSettings(concurrency=2, max_job_attempts=3, backoff_base_s=0.01))


@pytest.mark.parametrize("how", ["equal", "eval holds the seed", "seed holds the eval item"])
def test_a_colliding_seed_leaves_the_rotation_and_the_family_still_runs(setup, how: str) -> None:
    store, api = setup
    seed, eval_id = _plant(store, how)
    others = [s.id for s in store.fewshot_seeds(FAMILY) if s.id != seed.id]
    result = service.run(store, FAMS, FAMILY, SETTINGS, limit=4, api_key="k", base_url=api.url)
    assert [(c.seed_id, c.eval_id) for c in result.plan.collisions] == [(seed.id, eval_id)]
    assert f"few-shot seed #{seed.id}" in result.plan.summary()
    assert result.run.done == 4 and result.run.failed == 0, result.run.errors
    assert len(api.requests) == 4
    assert all(_turns(seed)[1].content not in prompt_text(body) for body in api.requests)
    for job in store.jobs():
        assert seed.id not in job.params["fewshot_ids"], "left out at plan time"
        shown = store.attempts_of(job.id)[0]["detail"]["fewshot_ids"]
        assert shown and set(shown) <= set(others)


def test_jobs_planned_before_the_collision_leave_the_seed_out_at_request_time(setup) -> None:
    store, api = setup
    plan_generation(store, FAMS[FAMILY], SETTINGS, limit=3)
    seed, _ = _plant(store, "equal")
    assert all(seed.id in job.params["fewshot_ids"] for job in store.jobs())
    result = service.run(store, FAMS, FAMILY, SETTINGS, limit=3, api_key="k", base_url=api.url)
    assert result.run.done == 3 and result.run.failed == 0
    for job in store.jobs():
        assert seed.id not in store.attempts_of(job.id)[0]["detail"]["fewshot_ids"]


def test_an_edited_seed_is_shown_in_its_new_version_and_recorded_by_id(setup) -> None:
    store, api = setup
    plan_generation(store, FAMS[FAMILY], SETTINGS, limit=2)
    old = store.fewshot_seeds(FAMILY)[0]
    edited = [*old.messages[:-1], Message(role="assistant", content=f"{old.messages[-1].content} {EXTRA}")]
    new = old.model_copy(update={"id": None, "uid": None, "version": old.version + 1, "messages": edited,
                                 "key_hash": key_hash(conversation_text(edited))})
    with store.transaction():
        new_id = store.add_example(new)
        store.supersede(old.id, new_id)
    result = service.run(store, FAMS, FAMILY, SETTINGS, limit=2, api_key="k", base_url=api.url)
    assert result.run.done == 2
    assert all(EXTRA in prompt_text(body) for body in api.requests)
    for job in store.jobs():
        shown = store.attempts_of(job.id)[0]["detail"]["fewshot_ids"]
        assert new_id in shown and old.id not in shown


def _cli(db: Path, api: FakeMessagesAPI, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "curator.toml").write_text(f'prompts_dir = "{ROOT / "prompts"}"\n[teacher]\nconcurrency = 2\n',
                                           encoding="utf-8")
    env = {**os.environ, "ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": api.url,
           "CURATOR_CONFIG": str(tmp_path / "curator.toml"), "CURATOR_DB": str(db)}
    return subprocess.run([sys.executable, "-m", "curator", "generate", "--family", FAMILY, *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_dry_run_and_batch_report_the_collision_and_still_send(setup, db_file: Path, tmp_path: Path) -> None:
    store, api = setup
    seed, eval_id = _plant(store, "equal")
    line = f"few-shot seed #{seed.id} ({FAMILY}) matches private eval item #{eval_id}"
    dry = _cli(db_file, api, tmp_path, "--limit", "3", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "3 requests to send" in dry.stdout and line in dry.stdout and api.requests == []
    batch = _cli(db_file, api, tmp_path, "--limit", "3", "--batch", "--wait")
    assert batch.returncode == 0, batch.stderr
    assert "batches submitted: msgbatch_" in batch.stdout and line in batch.stdout
    assert store.count_jobs(state="done") == 3 and len(api.requests) == 3
    assert all(_turns(seed)[1].content not in prompt_text(body) for body in api.requests)
