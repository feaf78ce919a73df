"""`curator generate`, `jobs` and `families` as a curator runs them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from curator.config import Settings
from curator.families import load_families
from curator.jobs.plan import plan_generation
from curator.services.demo import prepare_sample
from curator.display.wording import short_count
from curator.store import Store
from fake_messages_api import FakeMessagesAPI, Fault

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
    assert "read from the prompt cache" in out.stdout and "prompt cache: the shared prefix is ≈ " in out.stdout
    assert "tokens from the token-counting endpoint on 5 requests of passage_qa" in out.stdout, out.stdout
    assert api.requests == [] and len(api.counted) == 6, "counted (free), nothing generated"
    with Store(environ["CURATOR_DB"]) as store:
        assert store.count("jobs") == 0


def test_generate_then_jobs(env) -> None:
    api, environ = env
    out = curator(environ, "generate", "--family", "passage_qa", "--limit", "3")
    assert out.returncode == 0, out.stderr
    assert "3 jobs done" in out.stdout and "6 candidates" in out.stdout
    assert "read from the prompt cache" in out.stdout
    jobs = curator(environ, "jobs")
    assert "passage_qa" in jobs.stdout and "done" in jobs.stdout and "total cost $" in jobs.stdout
    with Store(environ["CURATOR_DB"]) as store:
        done = store.jobs("state = 'done'")
        read, written = sum(j.cache_read_tokens for j in done), sum(j.cache_write_tokens for j in done)
        assert read > 0 and written > 0
        job = next(j for j in done if j.cache_write_tokens)
    header, group = jobs.stdout.splitlines()[:2]
    assert header.split() == ["kind", "family", "state", "jobs", "tries", "input", "cache", "r/w", "output", "cost"]
    assert f" {short_count(read)}/{short_count(written)} " in group
    assert all(len(line) <= 80 for line in jobs.stdout.splitlines()), "the table fits an 80-column terminal"
    shown = curator(environ, "jobs", "--show", str(job.id))
    assert f"(cache: 0 read, {job.cache_write_tokens} written)" in shown.stdout


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


@pytest.mark.parametrize("command", [("classify", "--llm", "--limit", "2"), ("gate", "judge", "--limit", "2")],
                         ids=["classify", "judge"])
def test_the_teachers_other_commands_queue_nothing_without_a_key(env, tmp_path: Path, command: tuple[str, ...]) -> None:
    """As `generate`: the key (or a server) is checked before a job is queued, so a refused run leaves the
    store as it was (no queued job for `curator jobs` to list)."""
    import sqlite3

    from tui_fixtures import build_db

    _, environ = env
    environ = {**{k: v for k, v in environ.items() if k not in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")},
               "CURATOR_DB": str(build_db(tmp_path / "gated.db"))}  # (the sample with gated candidates)
    with sqlite3.connect(environ["CURATOR_DB"]) as conn:
        before = list(conn.iterdump())
        assert conn.execute("SELECT count(*) FROM examples WHERE kind = 'candidate'").fetchone()[0] > 0
    out = curator(environ, *command)
    assert out.returncode == 1 and "ANTHROPIC_API_KEY is not set" in out.stderr and "Traceback" not in out.stderr
    assert "(`curator generate --procedural`) need neither" in out.stderr, "the built-in generators are named"
    with sqlite3.connect(environ["CURATOR_DB"]) as conn:
        assert list(conn.iterdump()) == before


def test_jobs_errors_says_when_no_job_failed(env) -> None:
    api, environ = env
    assert curator(environ, "generate", "--family", "safety", "--limit", "2").returncode == 0
    out = curator(environ, "jobs", "--errors")
    assert out.returncode == 0 and out.stdout.splitlines()[-1] == "no failed jobs", out.stdout


def test_a_compatible_server_needs_no_key(env) -> None:
    api, environ = env
    environ = {k: v for k, v in environ.items() if k != "ANTHROPIC_API_KEY"}
    out = curator(environ, "generate", "--family", "safety", "--limit", "1")
    assert out.returncode == 0, out.stderr
    assert "1 job done" in out.stdout and len(api.requests) == 1


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


def _closed_port() -> int:
    """A port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_server_fails_in_seconds_naming_its_url(env) -> None:
    """#24: nothing was printed for over a minute, then 'connection error after 7 attempts' without the URL,
    with the jobs left queued. The server is checked before anything is queued or sent."""
    _, environ = env
    url = f"http://127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "curator", "generate", "--family", "safety", "--limit", "1"],
                         env={**environ, "ANTHROPIC_BASE_URL": url}, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and time.monotonic() - started < 30
    assert f"cannot reach the Messages API at {url}" in out.stderr and "Traceback" not in out.stderr, out.stderr
    with Store(environ["CURATOR_DB"]) as store:
        assert store.count_jobs() == 0, "nothing queued"


def test_limit_counts_the_jobs_this_run_sends(env) -> None:
    """#24: with jobs queued before (a run that stopped), --limit 1 sent 5 jobs."""
    api, environ = env
    with Store(environ["CURATOR_DB"]) as store:
        fams = load_families(ROOT / "prompts").families
        plan_generation(store, fams["safety"], Settings(), limit=4)  # queued by an earlier run that stopped
    out = curator(environ, "generate", "--family", "safety", "--limit", "1")
    assert out.returncode == 0, out.stderr
    assert len(api.requests) == 1 and "this run: 1 job (1 queued before, 0 new)" in out.stdout, out.stdout
    out = curator(environ, "generate", "--family", "safety", "--limit", "5")
    assert out.returncode == 0 and "this run: 5 jobs (3 queued before, 2 new)" in out.stdout, out.stdout
    assert len(api.requests) == 6
    out = curator(environ, "generate", "--family", "safety", "--limit", "2")  # a count to add, not a total
    assert "this run: 2 jobs (0 queued before, 2 new)" in out.stdout and len(api.requests) == 8
    with Store(environ["CURATOR_DB"]) as store:
        assert store.count_jobs(state="done") == 8 == store.count_jobs()


def test_procedural_limit_is_a_count_to_add_and_says_so(env) -> None:
    _, environ = env
    for total in (6, 12):
        out = curator(environ, "generate", "--family", "school_math", "--procedural", "--limit", "6")
        assert out.returncode == 0, out.stderr
        assert "this run: 6 jobs (0 queued before, 6 new)" in out.stdout and "6 jobs done" in out.stdout
        with Store(environ["CURATOR_DB"]) as store:
            assert store.count_jobs(state="done", family="school_math") == total


def test_a_procedural_dry_run_says_what_it_would_make_and_stores_nothing(env) -> None:
    api, environ = env
    with Store(environ["CURATOR_DB"]) as store:
        before = store.table_counts()
    out = curator(environ, "generate", "--family", "school_math", "--procedural", "--dry-run", "--limit", "4")
    assert out.returncode == 0, out.stderr
    assert "would run 4 procedural jobs of school_math" in out.stdout and "nothing was stored" in out.stdout
    out = curator(environ, "generate", "--family", "passage_qa", "--procedural", "--dry-run")
    assert out.returncode == 2 and "has no procedural generator" in out.stderr
    with Store(environ["CURATOR_DB"]) as store:
        assert store.table_counts() == before
    assert api.requests == []


def test_a_judge_run_that_judged_nothing_says_so_and_exits_1(env) -> None:
    api, environ = env
    assert curator(environ, "generate", "--family", "school_math", "--procedural", "--limit", "2").returncode == 0
    assert curator(environ, "gate").returncode == 0
    api.faults.extend([Fault.status_code(400, message="no such model")] * 40)  # refused: never sent again
    out = curator(environ, "gate", "judge", "--limit", "3")
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stdout.startswith("planned 2 judge jobs (2 new)"), out.stdout  # (the two that passed the gates)
    assert "0 jobs done, 2 failed in this run" in out.stdout and "0 attempts sent again; 0 candidates judged" in out.stdout
    assert "no candidate was judged: 2 jobs failed (curator jobs --errors shows why)" in out.stderr
    assert out.stderr.count("no such model") == 2, out.stderr
