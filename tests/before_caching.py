"""The generation request as it was built before prompt caching (#24), for the tests and the benchmark
that measure what caching saves: the system prompt as one string, and the job's 3 rotated few-shot
seeds in the user turn after its values (so no two requests shared more than the system prompt).
The family file is the one of that time (tests/data/before_caching/)."""

from __future__ import annotations

from pathlib import Path

from curator.families import load_family
from curator.families.schemas import json_schema
from curator.jobs.plan import FewShot, Request, prompt_values

FILES = Path(__file__).resolve().parent / "data" / "before_caching"


def build_request_before(store, family, job, settings, *, structured, fewshot=None, ttl=None) -> Request:
    """`jobs.plan.build_request` before #24 (a drop-in: `ttl` is ignored, nothing is marked)."""
    before = load_family(FILES / f"{family.name}.toml")
    fewshot = fewshot or FewShot.load(store)
    shown = fewshot.shown(store, job.params.get("fewshot_ids", []))
    body = {"model": settings.teacher.model_for(family.name), "max_tokens": family.max_tokens or settings.teacher.max_tokens,
            "system": before.system,
            "messages": [{"role": "user", "content": before.render(prompt_values(store, before, job, shown))}]}
    if structured is not False:
        body["output_config"] = {"format": {"type": "json_schema", "schema": json_schema(family.schema)}}
    return Request(body, [s.id for s in shown if s.id is not None])
