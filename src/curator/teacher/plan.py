"""Planning generation jobs and building their requests.

A job is family + passage (or slot) + template hash + parameters, keyed by an idempotency key, so
planning the same thing twice adds nothing. Parameters (task type, difficulty, topic, persona,
few-shot seed ids) are chosen at plan time by cycling through the family's dimensions, so a job's
request is reproducible after a restart.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from math import ceil
from typing import Any

from curator.config import Settings
from curator.models import Example, Job
from curator.store import Store
from curator.teacher.families import Family
from curator.teacher.schemas import json_schema
from curator.text.normalize import match_key

EVAL_GUARD_MIN_CHARS = 24
# Everyday words handed to each job (three, chosen by its slot) to steer scenarios apart: without
# sampling knobs, two identical prompts would get near-identical answers.
SEED_WORDS = (
    "باران کتابخانه دوچرخه نان مادربزرگ ایستگاه باغچه آسمان دفترچه مسابقه کوه دریا بازار ساعت چراغ "
    "پنجره قطار گربه جشن نقاشی فوتبال آشپزخانه کلاس همسایه پارک زمستان بهار سفر نامه تلفن میوه "
    "رودخانه روستا شهر موزه بیمارستان داروخانه نانوایی کوچه امتحان جریمه کاردستی تلسکوپ گلدان "
    "پرنده ماهی کفش عینک چتر کیف هدیه تولد مهمانی عکس فیلم رادیو روزنامه جنگل بیابان"
).split()


def idem_key(kind: str, family: str, template_hash: str, passage_id: int | None, slot: int, variant: str = "") -> str:
    raw = json.dumps([kind, family, template_hash, passage_id, slot] + ([variant] if variant else []))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _mixed_radix(index: int, family: Family) -> dict[str, str | None]:
    """Spread consecutive jobs over all combinations of task type, difficulty and topic."""
    out: dict[str, str | None] = {}
    rest = index
    for name in ("task_type", "difficulty", "topic"):
        values = family.dimensions.get(name) or ()
        out[name] = values[rest % len(values)] if values else None
        rest //= max(len(values), 1)
    out["persona"] = family.personas[index % len(family.personas)] if family.personas else None
    return out


def _seed_words(family: str, passage_id: int | None, slot: int) -> list[str]:
    digest = hashlib.sha256(f"{family}:{passage_id}:{slot}".encode()).digest()
    return [SEED_WORDS[b % len(SEED_WORDS)] for b in digest[:3]]


def fewshot_seeds(store: Store, family: str | None = None) -> list[Example]:
    """Seeds that may be shown to the teacher: role `fewshot` (of one family, or all), never `eval`."""
    if family is None:
        return store.examples("kind = 'seed' AND role = 'fewshot'")
    return store.examples("kind = 'seed' AND role = 'fewshot' AND family = ?", [family])


def _rotate(ids: list[int], index: int, count: int) -> list[int]:
    if not ids or count <= 0:
        return []
    start = (index * count) % len(ids)
    return [ids[(start + i) % len(ids)] for i in range(min(count, len(ids)))]


def _passages_for(store: Store, family: Family) -> list[int]:
    if family.passage == "none":
        return []
    rows = store.conn.execute(
        "SELECT id FROM passages WHERE quality != 'reject' AND EXISTS "
        "(SELECT 1 FROM json_each(passages.families) WHERE value = ?) ORDER BY id", (family.name,),
    ).fetchall()
    return [r[0] for r in rows]


@dataclass
class Plan:
    jobs: list[Job]
    added: int = 0

    @property
    def existing(self) -> int:
        return len(self.jobs) - self.added


def plan_generation(store: Store, family: Family, settings: Settings, *, limit: int, per_passage: int = 1,
                    kind: str = "generate", dry_run: bool = False, passage_ids: list[int] | None = None,
                    overrides: dict[str, str] | None = None) -> Plan:
    """Plan up to `limit` jobs of a family (planned before or now); with dry_run nothing is written.

    `passage_ids` restricts the plan to those passages (a curator's selection); `overrides` fixes
    dimensions (say task_type) for targeted generation, as a separate set of jobs.
    """
    variant = json.dumps(overrides, sort_keys=True, ensure_ascii=False) if overrides else ""
    seed_ids = [s.id for s in fewshot_seeds(store, family.name) if s.id is not None]
    slots: list[tuple[int | None, int]] = []
    chosen = passage_ids if passage_ids is not None else _passages_for(store, family)
    for passage_id in chosen:
        slots.extend((passage_id, k) for k in range(per_passage))
    if family.passage != "required" and passage_ids is None:
        slots.extend((None, k) for k in range(limit))
    plan = Plan(jobs=[])
    for index, (passage_id, slot) in enumerate(slots[:limit]):
        params: dict[str, Any] = {k: v for k, v in _mixed_radix(index, family).items() if v is not None}
        if overrides:
            params.update(overrides)
            params["augment"] = dict(overrides)  # which thin cell this job was queued for
        params["n"] = family.items_per_request if kind == "generate" else 1
        params["seed_words"] = _seed_words(family.name, passage_id, slot)
        params["fewshot_ids"] = _rotate(seed_ids, index, settings.teacher.fewshot_count)
        job = Job(idem_key=idem_key(kind, family.name, family.template_hash, passage_id, slot, variant), kind=kind,
                  family=family.name, passage_id=passage_id, topic=params.get("topic"),
                  template_hash=family.template_hash, params=params)
        if not dry_run and store.add_job(job) is not None:
            plan.added += 1
        plan.jobs.append(job)
    return plan


def _fewshot_text(store: Store, ids: list[int], seeds: dict[int, Example] | None = None) -> str:
    examples = []
    for example_id in ids:
        ex = seeds[example_id] if seeds and example_id in seeds else store.example(example_id)
        if ex.kind != "seed" or ex.role != "fewshot":  # belt and braces: only fewshot seeds leave the machine
            continue
        item: dict[str, Any] = {"task_type": ex.task_type, "difficulty": ex.difficulty, "topic": ex.topic,
                                "messages": [m.model_dump(exclude_none=True) for m in ex.messages]}
        if ex.tools:
            item["tools"] = ex.tools
        if ex.answer:
            item["answer"] = ex.answer
        examples.append(json.dumps(item, ensure_ascii=False))
    return "\n".join(examples) if examples else "(none)"


def prompt_values(store: Store, family: Family, job: Job, tools_text: str = "",
                  seeds: dict[int, Example] | None = None) -> dict[str, Any]:
    params = job.params
    values: dict[str, Any] = {
        "task_type": params.get("task_type", ""), "difficulty": params.get("difficulty", ""),
        "topic": params.get("topic", ""), "persona": params.get("persona", "a student"),
        "n": params.get("n", family.items_per_request), "fewshot": _fewshot_text(store, params.get("fewshot_ids", []), seeds),
        "passage": "", "passage_id": "", "tools": tools_text,
        "seed_words": "، ".join(params.get("seed_words", [])),
    }
    if job.kind == "judge":
        ex = store.example(params["example_id"])
        shown: dict[str, Any] = {"messages": [m.model_dump(exclude_none=True) for m in ex.messages]}
        if ex.tools:
            shown["tools"] = ex.tools
        if ex.answer:
            shown["answer"] = ex.answer
        values.update(example=json.dumps(shown, ensure_ascii=False, indent=1), family=ex.family,
                      task_type=ex.task_type or "")
    if job.passage_id is not None:
        passage = store.passage(job.passage_id)
        values["passage"], values["passage_id"] = passage.text, f"p{passage.id}"
        if job.kind == "classify":
            values["topic"] = "; ".join(passage.rules)
    return values


def build_request(store: Store, family: Family, job: Job, settings: Settings, *, structured: bool | None,
                  tools_text: str = "", seeds: dict[int, Example] | None = None) -> dict[str, Any]:
    """The Messages API body for a job (no sampling parameters: see the teacher module).

    `seeds`: the fewshot seeds by id, when the caller has loaded them once for many jobs.
    """
    body: dict[str, Any] = {
        "model": settings.judge.model if job.kind == "judge" else settings.teacher.model_for(family.name),
        "max_tokens": family.max_tokens or settings.teacher.max_tokens,
        "system": family.system,
        "messages": [{"role": "user", "content": family.render(prompt_values(store, family, job, tools_text, seeds))}],
    }
    if structured is not False:
        body["output_config"] = {"format": {"type": "json_schema", "schema": json_schema(family.schema)}}
    return body


class EvalLeak(Exception):
    """A request would carry a private eval item's text to the teacher."""


@dataclass
class EvalGuard:
    """Match keys of every private eval item: no request may contain one."""

    keys: list[tuple[int, str]]

    @classmethod
    def load(cls, store: Store) -> "EvalGuard":
        keys = []
        rows = store.conn.execute(
            "SELECT id, messages FROM examples WHERE (kind = 'seed' AND role = 'eval') OR kind = 'eval_item'"
        ).fetchall()
        for example_id, messages in rows:
            for m in json.loads(messages):
                key = match_key(m.get("content") or "")
                if m.get("role") != "system" and len(key) >= EVAL_GUARD_MIN_CHARS:
                    keys.append((example_id, key))
        return cls(keys)

    def check(self, body: dict[str, Any]) -> None:
        text = match_key("\n".join([body.get("system", "")] + [m["content"] for m in body["messages"]]))
        for example_id, key in self.keys:
            if key in text:
                raise EvalLeak(f"the request contains the text of private eval item #{example_id}")


def estimate_tokens(text: str) -> int:
    """A conservative token estimate without a tokenizer: one token per 3 UTF-8 bytes."""
    return ceil(len(text.encode("utf-8")) / 3)


def body_input_tokens(body: dict[str, Any]) -> int:
    text = body.get("system", "") + "".join(m["content"] for m in body["messages"])
    if "output_config" in body:
        text += json.dumps(body["output_config"])
    return estimate_tokens(text)
