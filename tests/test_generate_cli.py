"""`curator generate`, `jobs` and `families` as a curator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from curator.services.demo import prepare_sample
from curator.store import Store
from fake_messages_api import FakeMessagesAPI

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(tmp_path: Path):
    with Store(tmp_path / "g.db") as store:
        prepare_sample(store)
    (tmp_path / "curator.toml").write_text(f'prompts_dir = "{ROOT / "prompts"}"\n[teacher]\nconcurrency = 4\n',
                                           encoding="utf-8")
    with FakeMessagesAPI() as api:
        yield api, {**os.environ, "ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": api.url,
                    "CURATOR_CONFIG": str(tmp_path / "curator.toml"), "CURATOR_DB": str(tmp_path / "g.db")}


def curator(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "curator", *args], env=env, capture_output=True, text=True, timeout=120)


def test_dry_run_estimates_and_sends_nothing(env) -> None:
    api, environ = env
    out = curator(environ, "generate", "--family", "passage_qa", "--limit", "5", "--dry-run")
    assert out.returncode == 0, out.stderr
    assert "5 requests to send" in out.stdout and "cost ≤ $" in out.stdout
    assert api.requests == []
    with Store(environ["CURATOR_DB"]) as store:
        assert store.count("jobs") == 0


def test_generate_then_jobs(env) -> None:
    api, environ = env
    out = curator(environ, "generate", "--family", "passage_qa", "--limit", "3")
    assert out.returncode == 0, out.stderr
    assert "3 jobs done" in out.stdout and "6 candidates" in out.stdout
    jobs = curator(environ, "jobs")
    assert "passage_qa" in jobs.stdout and "done" in jobs.stdout and "total cost $" in jobs.stdout


def test_generate_batch_and_wait(env) -> None:
    api, environ = env
    out = curator(environ, "generate", "--family", "safety", "--limit", "4", "--batch", "--wait")
    assert out.returncode == 0, out.stderr
    assert "batches submitted: msgbatch_" in out.stdout
    with Store(environ["CURATOR_DB"]) as store:
        assert store.count("jobs", "state = 'done'") == 4


def test_missing_api_key_is_one_clear_line(env) -> None:
    _, environ = env
    environ = {k: v for k, v in environ.items() if k not in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")}
    out = curator(environ, "generate", "--family", "safety", "--limit", "1")
    assert out.returncode == 1
    assert "ANTHROPIC_API_KEY is not set" in out.stderr and "Traceback" not in out.stderr
    assert "export ANTHROPIC_API_KEY=" in out.stderr and "ANTHROPIC_BASE_URL" in out.stderr, "it says how"


def test_a_compatible_server_needs_no_key(env) -> None:
    api, environ = env
    environ = {k: v for k, v in environ.items() if k != "ANTHROPIC_API_KEY"}
    out = curator(environ, "generate", "--family", "safety", "--limit", "1")
    assert out.returncode == 0, out.stderr
    assert "1 jobs done" in out.stdout and len(api.requests) == 1


def test_unknown_family_is_a_usage_error(env) -> None:
    out = curator(env[1], "generate", "--family", "poetry")
    assert out.returncode == 2 and "unknown family 'poetry'" in out.stderr


def test_families_lists_and_validates(env, tmp_path: Path) -> None:
    out = curator(env[1], "families")
    assert out.returncode == 0 and "grammar_tutor" in out.stdout and "tool_calling" in out.stdout
    (tmp_path / "p" / "families").mkdir(parents=True)
    (tmp_path / "p" / "families" / "bad.toml").write_text("name = \n", encoding="utf-8")
    (tmp_path / "bad.toml").write_text(f'prompts_dir = "{tmp_path / "p"}"\n', encoding="utf-8")
    out = curator({**env[1], "CURATOR_CONFIG": str(tmp_path / "bad.toml")}, "families")
    assert out.returncode == 1 and f"{tmp_path / 'p' / 'families' / 'bad.toml'}:1:" in out.stderr


def test_llm_classification_refines_passage_tags(env) -> None:
    api, environ = env
    out = curator(environ, "classify", "--llm", "--limit", "3")
    assert out.returncode == 0, out.stderr
    with Store(environ["CURATOR_DB"]) as store:
        refined = store.passages(limit=3)
        assert all(p.rules[-1].startswith("llm") for p in refined)
        assert all(p.tags == ["education"] and p.quality == "high" for p in refined)
