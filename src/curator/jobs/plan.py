"""Planning generation jobs and building their requests.

A job is family + passage (or slot) + template hash + parameters, keyed by an idempotency key, so
planning the same thing twice adds nothing. Parameters (task type, difficulty, topic, persona,
few-shot seed ids) are chosen at plan time by cycling through the family's dimensions, so a job's
request is reproducible after a restart.

Every request of a family starts with the same prefix, so the teacher caches it (prompt caching):
the system prompt is a list of text blocks in a fixed order — the family's instructions, the whole
few-shot block of the family (its seeds numbered in a stable order), the output rules — and the last
one carries `cache_control` (5 minutes for live runs, 1 hour for batches). The job's own part follows
in the user turn: which few-shot seeds to imitate this time, its dimensions, its passage, its slot.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from math import ceil
from typing import Any

from curator.config import Settings
from curator.evalguard import Collision, EvalGuard, fewshot_collisions
from curator.families import Family
from curator.families.schemas import json_schema
from curator.generators.tools import tools_prompt_text
from curator.models import Example, Job
from curator.store import Store
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


@dataclass
class FewShot:
    """The few-shot seeds requests may show: current versions of role `fewshot`, less those that
    collide with a private eval item (reported, left out of the rotation; the family still runs)."""

    seeds: dict[int, Example]
    collisions: list[Collision]
    _by_lineage: dict[str, Example] = field(default_factory=dict)
    _lineage_of: dict[int, str | None] = field(default_factory=dict)
    _blocks: dict[str, tuple[list[Example], str]] = field(default_factory=dict)

    @classmethod
    def load(cls, store: Store, guard: EvalGuard | None = None) -> "FewShot":
        collisions = fewshot_collisions(store, guard)
        out = {c.seed_id for c in collisions}
        seeds = {s.id: s for s in store.fewshot_seeds() if s.id is not None and s.id not in out}
        return cls(seeds, collisions, {s.lineage: s for s in seeds.values() if s.lineage})

    def rotation(self, family: str) -> list[int]:
        return [i for i, s in self.seeds.items() if s.family == family]

    def collisions_of(self, family: str) -> list[Collision]:
        return [c for c in self.collisions if c.family == family]

    def block(self, family: str) -> tuple[list[Example], str]:
        """The family's few-shot block: every seed of its rotation in a stable order (by id) and their
        text, numbered from 1 (made once per family: every request of the family shows the same)."""
        if family not in self._blocks:
            seeds = sorted((s for s in self.seeds.values() if s.family == family), key=lambda s: s.id or 0)
            text = "\n".join(f"[{number}] {line}" for number, line in enumerate(_fewshot_lines(seeds), start=1))
            self._blocks[family] = (seeds, f"{FEWSHOT_HEADING}\n{text}" if seeds else "")
        return self._blocks[family]

    def shown(self, store: Store, ids: list[int]) -> list[Example]:
        """The seeds a job planned with `ids` shows now: each id, or the current version of its line
        of versions (an edited seed is a new row), unless it left the rotation."""
        out = []
        for seed_id in ids:
            seed = self.seeds.get(seed_id)
            if seed is None:
                if seed_id not in self._lineage_of:
                    try:
                        self._lineage_of[seed_id] = store.example(seed_id).lineage
                    except KeyError:
                        self._lineage_of[seed_id] = None
                seed = self._by_lineage.get(self._lineage_of[seed_id] or "")
            if seed is not None and all(seed.id != o.id for o in out):
                out.append(seed)
        return out


def _rotate(ids: list[int], index: int, count: int) -> list[int]:
    if not ids or count <= 0:
        return []
    start = (index * count) % len(ids)
    return [ids[(start + i) % len(ids)] for i in range(min(count, len(ids)))]


@dataclass
class Plan:
    jobs: list[Job]
    added: int = 0
    collisions: list[Collision] = field(default_factory=list)

    @property
    def existing(self) -> int:
        return len(self.jobs) - self.added


def plan_generation(store: Store, family: Family, settings: Settings, *, limit: int, per_passage: int = 1,
                    kind: str = "generate", dry_run: bool = False, passage_ids: list[int] | None = None,
                    overrides: dict[str, str] | None = None, fewshot: FewShot | None = None) -> Plan:
    """Plan up to `limit` jobs of a family (planned before or now); with dry_run nothing is written.

    `passage_ids` restricts the plan to those passages (a curator's selection); `overrides` fixes
    dimensions (say task_type) for targeted generation, as a separate set of jobs. Few-shot seeds
    that collide with a private eval item are left out of the rotation and listed in the plan.
    """
    variant = json.dumps(overrides, sort_keys=True, ensure_ascii=False) if overrides else ""
    fewshot = fewshot or FewShot.load(store)
    seed_ids = fewshot.rotation(family.name)
    slots: list[tuple[int | None, int]] = []
    chosen = passage_ids if passage_ids is not None else ([] if family.passage == "none" else store.passage_ids(family=family.name))
    for passage_id in chosen:
        slots.extend((passage_id, k) for k in range(per_passage))
    if family.passage != "required" and passage_ids is None:
        slots.extend((None, k) for k in range(limit))
    plan = Plan(jobs=[], collisions=fewshot.collisions_of(family.name))
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


FEWSHOT_HEADING = ("Style examples (numbered; each request names the ones to imitate — write new content, "
                   "never their sentences):")


def _fewshot_lines(seeds: list[Example]) -> list[str]:
    examples = []
    for ex in seeds:
        item: dict[str, Any] = {"task_type": ex.task_type, "difficulty": ex.difficulty, "topic": ex.topic,
                                "messages": [m.model_dump(exclude_none=True) for m in ex.messages]}
        if ex.tools:
            item["tools"] = ex.tools
        if ex.answer:
            item["answer"] = ex.answer
        examples.append(json.dumps(item, ensure_ascii=False))
    return examples


def _fewshot_text(seeds: list[Example]) -> str:
    return "\n".join(_fewshot_lines(seeds)) or "(none)"


def imitation_text(block: list[Example], imitate: list[Example]) -> str:
    """Which seeds of the family's few-shot block a job imitates, by their numbers in the block."""
    ids = [s.id for s in block]
    numbers = [f"[{ids.index(s.id) + 1}]" for s in imitate if s.id in ids]
    if not numbers:
        return "(none)"
    listed = numbers[0] if len(numbers) == 1 else f"{', '.join(numbers[:-1])} and {numbers[-1]}"
    return f"{listed} of the numbered style examples above"


def prompt_values(store: Store, family: Family, job: Job, shown: list[Example],
                  block: list[Example] | None = None) -> dict[str, Any]:
    """The user template's values for a job. `block`: the family's few-shot block (in the system
    prompt), so `{fewshot}` names the seeds of `shown` to imitate; without it, their text."""
    params = job.params
    values: dict[str, Any] = {
        "task_type": params.get("task_type", ""), "difficulty": params.get("difficulty", ""),
        "topic": params.get("topic", ""), "persona": params.get("persona", "a student"),
        "n": params.get("n", family.items_per_request),
        "fewshot": _fewshot_text(shown) if block is None else imitation_text(block, shown),
        "passage": "", "passage_id": "",
        "tools": tools_prompt_text(job.topic) if family.schema == "ToolBatch" else "",
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


LIVE_TTL = "5m"  # a live run sends a family's requests back to back: each read renews the entry
BATCH_TTL = "1h"  # a batch's requests are processed over a longer span (a write costs 2x input, not 1.25x)


@dataclass
class Request:
    """A job's Messages API body and the few-shot seed ids (versions) it shows the teacher: the
    family's whole few-shot block (`imitated`: those the job is asked to imitate)."""

    body: dict[str, Any]
    fewshot_ids: list[int]
    imitated: list[int] = field(default_factory=list)

    @property
    def detail(self) -> dict[str, Any]:
        """What its attempt records: the seeds shown and imitated, and the bytes of its cacheable prefix
        and whole prompt (what estimates are calibrated on, with the usage measured)."""
        return {"fewshot_ids": self.fewshot_ids, "imitated": self.imitated, "prompt_bytes": list(prompt_bytes(self.body))}


def system_blocks(family: Family, fewshot_block: str, ttl: str | None) -> list[dict[str, Any]]:
    """The family's shared prefix as system blocks in a fixed order — instructions, few-shot block,
    output rules — the last marked with `cache_control` (none when `ttl` is None)."""
    blocks: list[dict[str, Any]] = [{"type": "text", "text": text}
                                    for text in (family.system, fewshot_block, family.output) if text]
    if ttl is not None:
        blocks[-1]["cache_control"] = {"type": "ephemeral", "ttl": ttl}
    return blocks


def build_request(store: Store, family: Family, job: Job, settings: Settings, *, structured: bool | None,
                  fewshot: FewShot | None = None, ttl: str | None = LIVE_TTL) -> Request:
    """The request for a job (no sampling parameters: see the teacher module). `fewshot`: the
    rotation loaded once for many jobs (else loaded here); only its seeds are ever shown. `ttl`: the
    prompt cache's lifetime for the shared prefix (LIVE_TTL, BATCH_TTL; no cache_control if None or
    if `[teacher] prompt_cache` is off)."""
    fewshot = fewshot or FewShot.load(store)
    block, block_text = fewshot.block(family.name)
    imitate = fewshot.shown(store, job.params.get("fewshot_ids", []))
    body: dict[str, Any] = {
        "model": settings.judge.model if job.kind == "judge" else settings.teacher.model_for(family.name),
        "max_tokens": family.max_tokens or settings.teacher.max_tokens,
        "system": system_blocks(family, block_text, ttl if settings.teacher.prompt_cache else None),
        "messages": [{"role": "user", "content": family.render(prompt_values(store, family, job, imitate, block))}],
    }
    if structured is not False:
        body["output_config"] = {"format": {"type": "json_schema", "schema": json_schema(family.schema)}}
    shown = [s.id for s in block if s.id is not None]
    return Request(body, shown, [s.id for s in imitate if s.id in shown])


def estimate_tokens(text: str) -> int:
    """A conservative token estimate without a tokenizer: one token per 3 UTF-8 bytes."""
    return ceil(len(text.encode("utf-8")) / 3)


def _text(content: Any) -> str:
    """The text of a system prompt or a message's content: a string, or a list of blocks."""
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") if b.get("type") == "text" else json.dumps(b, ensure_ascii=False)
                   for b in content or [])


def prompt_text(body: dict[str, Any]) -> str:
    """Everything a request asks the teacher in, as text (the system prompt, then the messages)."""
    return "\n".join([_text(body.get("system", ""))] + [_text(m["content"]) for m in body["messages"]])


@lru_cache(maxsize=256)
def _shared_bytes(text: str) -> int:
    """UTF-8 bytes of a text every request of a family sends (a system block: the same object each
    time, so its hash is cached and the lookup costs nothing)."""
    return len(text.encode())


_schema_bytes: dict[int, tuple[Any, int]] = {}  # id of a (cached, never mutated) schema -> (it, its JSON's bytes)


def _config_bytes(config: dict[str, Any]) -> int:
    schema = (config.get("format") or {}).get("schema")
    known = _schema_bytes.get(id(schema))
    if known is None or known[0] is not schema:
        known = _schema_bytes[id(schema)] = (schema, len(json.dumps(config, ensure_ascii=False).encode()))
    return known[1]


def prompt_bytes(body: dict[str, Any]) -> tuple[int, int]:
    """(bytes of the cacheable prefix, bytes of the whole prompt): the prefix is the output schema and
    the system blocks up to the one marked with cache_control (0 if none is)."""
    schema = _config_bytes(body["output_config"]) if "output_config" in body else 0
    system = body.get("system", "")
    blocks = [{"type": "text", "text": system}] if isinstance(system, str) else list(system or [])
    sizes = [_shared_bytes(b["text"]) if b.get("type") == "text" and isinstance(b.get("text"), str)
             else len(_text([b]).encode()) for b in blocks]
    marked = max((i for i, b in enumerate(blocks) if b.get("cache_control")), default=-1)
    prefix = schema + sum(sizes[:marked + 1]) if marked >= 0 else 0
    rest = sum(len(_text(m["content"]).encode()) for m in body["messages"])
    return prefix, schema + sum(sizes) + rest


def body_input_tokens(body: dict[str, Any]) -> int:
    """A conservative input estimate of a request (one token per 3 bytes): the budget's reservation."""
    return ceil(prompt_bytes(body)[1] / 3)
