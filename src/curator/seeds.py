"""Hand-written seed examples: read from JSONL, validated, stored with their role.

A seed row: {"family", "role" (fewshot | eval | polish), "messages", and optionally "task_type",
"difficulty", "topic", "tools", "answer", "metadata"}. Re-importing the same seed adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from curator.jsonl import objects
from curator.models import Example, conversation_text
from curator.store import Store
from curator.text.normalize import key_hash


@dataclass
class SeedReport:
    added: int = 0
    existing: int = 0
    problems: list[str] = field(default_factory=list)


def _field_errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(row)'}: {e['msg']}" for e in exc.errors()[:3]
    )


def read_seeds(path: Path, problems: list[str], *, defaults: dict | None = None) -> list[Example]:
    """Parse and validate a seed file; each bad row is reported as `file:line: field: problem`."""
    seeds = []
    try:
        rows = list(objects(path, problems))
    except OSError as exc:
        problems.append(f"{path}: cannot read ({exc.strerror or exc})")
        return seeds
    for number, row in rows:
        for key, value in (defaults or {"kind": "seed", "source_type": "manual_seed"}).items():
            row.setdefault(key, value)
        try:
            example = Example(**row)
        except ValidationError as exc:
            problems.append(f"{path}:{number}: {_field_errors(exc)}")
            continue
        example.key_hash = key_hash(conversation_text(example.messages))
        seeds.append(example)
    return seeds


EVAL_DEFAULTS = {"kind": "eval_item", "role": "eval", "source_type": "eval_import", "family": "eval"}


def import_seeds(store: Store, path: Path, *, eval_items: bool = False) -> SeedReport:
    """Store every valid seed of a file in one transaction (or private eval items, with `eval_items`)."""
    report = SeedReport()
    seeds = read_seeds(path, report.problems, defaults=EVAL_DEFAULTS if eval_items else None)
    if eval_items:
        known = {r[0] for r in store.conn.execute("SELECT key_hash FROM examples WHERE kind = 'eval_item'")}
        report.existing = sum(s.key_hash in known for s in seeds)
        seeds = [s for s in seeds if s.key_hash not in known]
    with store.transaction():
        for seed in seeds:
            if store.add_example(seed, ignore_existing=True) is None:
                report.existing += 1
            else:
                report.added += 1
    return report
