"""Hand-written seeds and private eval items: import, create, edit (a new version), change role
(logged), and the listing with the few-shot seeds that collide with a private eval item.

A seed row: {"family", "role" (fewshot | eval | polish), "messages", and optionally "task_type",
"difficulty", "topic", "tools", "answer", "metadata"}. Re-importing the same seed adds nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from curator.evalguard import Collision, fewshot_collisions
from curator.trainable import untrainable
from curator.display.wording import counted
from curator.jsonl import objects
from curator.models import Example, field_errors
from curator.store import Store
from curator.store.seeds import SeedError

__all__ = ["SeedError", "SeedReport", "SeedListing", "ROLES", "read_seeds", "import_seeds", "seed_from",
           "create_seed", "edit_seed", "seed_problem", "change_role", "role_change_risk", "list_seeds"]

ROLES = ("fewshot", "eval", "polish")
SEED_DEFAULTS = {"kind": "seed", "source_type": "manual_seed"}
EVAL_DEFAULTS = {"kind": "eval_item", "role": "eval", "source_type": "eval_import", "family": "eval"}


@dataclass
class SeedReport:
    added: int = 0
    existing: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self, what: str = "seed") -> str:
        """"1 seed added (0 already present, 2 lines skipped)"; `what`: the thing counted, in the singular."""
        skipped = f", {counted(len(self.problems), 'line')} skipped" if self.problems else ""
        return f"{counted(self.added, what)} added ({self.existing} already present{skipped})"


def seed_problem(seed: Example, families: Collection[str] | None = None) -> str | None:
    """Why a seed may not be stored, as `field: problem`, or None: a family the project does not have
    (`families`, when known), or, for a few-shot or polish seed (an example to imitate, or to train on),
    a conversation that cannot train (`trainable.untrainable`: the export would drop it anyway)."""
    if families is not None and seed.family not in families:
        return f"family: unknown family {seed.family!r} (known: {', '.join(sorted(families)) or 'none'})"
    if seed.role in ("fewshot", "polish"):
        messages = [m.model_dump(exclude_none=True) for m in seed.messages]
        if why := untrainable(messages, seed.tools):
            return f"messages: a {seed.role} seed must be an example to train on ({why})"
    return None


def read_seeds(path: Path, problems: list[str], *, defaults: dict | None = None,
               families: Collection[str] | None = None) -> list[Example]:
    """Parse and validate a seed file; each bad row is reported as `file:line: field: problem`
    (`seed_problem` with `families`, for seeds)."""
    seeds: list[Example] = []
    try:
        for number, row in objects(path, problems):  # (read and checked line by line: problems in line order)
            problem, example = _seed_of(row, defaults, families)
            if problem:
                problems.append(f"{path}:{number}: {problem}")
            else:
                seeds.append(example)
    except OSError as exc:
        problems.append(f"{path}: cannot read ({exc.strerror or exc})")
        return []
    return seeds


def _seed_of(row: dict, defaults: dict | None, families: Collection[str] | None) -> tuple[str, Any]:
    """("", the seed) of one row, or (its problem as `field: problem`, None)."""
    for key, value in (defaults or SEED_DEFAULTS).items():
        row.setdefault(key, value)
    try:
        example = Example(**row)
    except ValidationError as exc:
        return field_errors(exc), None
    if example.kind in ("seed", "eval_item") and (problem := seed_problem(example, families)):
        return problem, None
    return "", example


def import_seeds(store: Store, path: Path, *, eval_items: bool = False,
                 families: Collection[str] | None = None) -> SeedReport:
    """Store every valid seed of a file (or private eval items, with `eval_items`); bad rows are reported
    (a seed or an eval item of a family not in `families`, when given, is one: the scorecard, the augment
    from an eval run and the leak checks read an item by its family)."""
    report = SeedReport()
    if eval_items and families is not None:  # (an item that names no family is of the family "eval")
        families = {*families, EVAL_DEFAULTS["family"]}
    seeds = read_seeds(path, report.problems, defaults=EVAL_DEFAULTS if eval_items else None, families=families)
    if eval_items:
        known = store.eval_item_keys()
        report.existing = sum(s.key_hash in known for s in seeds)
        seeds = [s for s in seeds if s.key_hash not in known]
    added, existing = store.add_seeds(seeds)
    report.added, report.existing = added, report.existing + existing
    return report


def seed_from(data: dict[str, Any], families: Collection[str] | None = None) -> Example:
    """A seed from a form or a JSON object (SeedError names the first bad field, or `seed_problem`)."""
    try:
        example = Example(**{**{k: v for k, v in data.items() if v is not None}, **SEED_DEFAULTS})
    except ValidationError as exc:
        raise SeedError(field_errors(exc, 1)) from exc
    except TypeError as exc:
        raise SeedError(str(exc)) from exc
    if problem := seed_problem(example, families):
        raise SeedError(problem)
    return example


def create_seed(store: Store, data: dict[str, Any], families: Collection[str] | None = None) -> int:
    """Store a new seed; SeedError if it is invalid (`seed_from`) or another current seed has the same text."""
    seed_id = store.add_example(seed_from(data, families), ignore_existing=True)
    if seed_id is None:
        raise SeedError("another seed already has this text")
    return seed_id


def edit_seed(store: Store, seed_id: int, data: dict[str, Any], families: Collection[str] | None = None) -> int:
    """Save an edit as a new version of the seed (the old one is kept, superseded); returns its id.
    A changed role is logged as with `change_role`. SeedError if it is invalid (`seed_from`; the family it
    has is known to it, even if the project no longer has it)."""
    if families is not None:
        try:
            families = {*families, store.current_seed(seed_id).family}
        except KeyError:
            pass  # (the store says so next)
    return store.add_seed_version(seed_id, seed_from(data, families))


def role_change_risk(old: str | None, new: str) -> str | None:
    """What a role change across the private eval set puts at risk (to be confirmed first), or None."""
    if old == "eval" and new != "eval":
        return (f"it leaves the private eval set: as {new} its text may be sent to the teacher and exported "
                "for training, and candidates are no longer checked against it")
    if new == "eval" and old != "eval":
        return (f"it joins the private eval set, but as {old or 'a seed'} its text may already have reached the "
                "teacher (few-shot prompts) or an export; a leaked eval item measures nothing")
    return None


def change_role(store: Store, seed_id: int, role: str) -> str | None:
    """Give a current seed another role, logged as a decision `role` ("fewshot → eval").
    Returns the old role, or None when it already had this one."""
    if role not in ROLES:
        raise SeedError(f"unknown role {role!r} (known: {', '.join(ROLES)})")
    return store.set_seed_role(seed_id, role)


@dataclass
class SeedListing:
    """Current seeds, how many per family and role, and the few-shot seeds a private eval item holds."""

    seeds: list[Example]
    counts: dict[str, dict[str, int]]  # family -> role -> n
    collisions: list[Collision]

    def role_totals(self) -> dict[str, int]:
        out = dict.fromkeys(ROLES, 0)
        for roles in self.counts.values():
            for role, n in roles.items():
                out[role] = out.get(role, 0) + n
        return out


def list_seeds(store: Store, *, role: str | None = None, family: str | None = None) -> SeedListing:
    """Current seed versions (of one role or family), the counts of all, and every collision."""
    return SeedListing(store.seeds(role=role, family=family), store.seed_counts(), fewshot_collisions(store))
