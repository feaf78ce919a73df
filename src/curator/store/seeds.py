"""Seed versions and role changes (an edit makes a new version; a role change is logged)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from curator.errors import CuratorError
from curator.models import Decision, Example, now_iso
from curator.store.predicates import CURRENT_SEED

BATCH = 500


class SeedError(CuratorError):
    """A seed write that cannot be done as asked (the same text exists, the version was replaced)."""


_CONTENT = ("family", "role", "task_type", "difficulty", "topic", "messages", "tools", "answer", "metadata")


def _content(seed: Example) -> dict:
    return seed.model_dump(mode="json", include=set(_CONTENT))


class SeedQueries:
    def add_seeds(self, seeds: Iterable[Example]) -> tuple[int, int]:
        """Store seeds or eval items in short transactions; one already stored (the same current seed,
        by match key) is skipped. Returns (added, already present)."""
        added = existing = 0
        batch: list[Example] = []

        def flush() -> None:
            nonlocal added, existing
            with self.transaction():
                for seed in batch:
                    if self.add_example(seed, ignore_existing=True) is None:
                        existing += 1
                    else:
                        added += 1
            batch.clear()

        for seed in seeds:
            batch.append(seed)
            if len(batch) >= BATCH:
                flush()
        if batch:
            flush()
        return added, existing

    def eval_item_keys(self) -> set[str]:
        """Match-key hashes of the imported private eval items."""
        return {r[0] for r in self.conn.execute("SELECT key_hash FROM examples WHERE kind = 'eval_item'")}

    def current_seed(self, seed_id: int) -> Example:
        """A seed's current version (KeyError if no such seed; SeedError if it was replaced)."""
        seed = self.example(seed_id)
        if seed.kind != "seed":
            raise KeyError(seed_id)
        if seed.superseded_by is not None:
            raise SeedError(f"seed #{seed_id} was replaced by #{seed.superseded_by}: edit the newest version")
        return seed

    def add_seed_version(self, old_id: int, seed: Example) -> int:
        """Store `seed` as the next version of seed `old_id`, in one transaction: the new row has
        version + 1, the same lineage and `parent_id` = the old one, which gets `superseded_by`.
        A seed saved unchanged makes no version (the old id is returned)."""
        with self.transaction():
            old = self.current_seed(old_id)
            if _content(old) == _content(seed):
                return old.id  # saved without a change: no new version
            new = seed.model_copy(update={
                "id": None, "uid": None, "lineage": old.lineage, "version": old.version + 1, "parent_id": old.id,
                "kind": "seed", "superseded_by": None, "created_at": now_iso()})
            # The old version leaves the unique index of current seeds first (the text may be unchanged).
            self.conn.execute("UPDATE examples SET superseded_by = id WHERE id = ?", (old.id,))
            try:
                new_id = self.add_example(new)
            except sqlite3.IntegrityError as exc:
                raise SeedError("another seed already has this text") from exc
            self.supersede(old.id, new_id)
            if old.role != new.role:
                self._log_role(new_id, old.role, new.role)
        return new_id

    def set_seed_role(self, seed_id: int, role: str) -> str | None:
        """Change a current seed's role in place and log it (a decision `role`, note "old → new").
        Returns the old role (None if it already had this role: nothing is written)."""
        with self.transaction():
            seed = self.current_seed(seed_id)
            if seed.role == role:
                return None
            self.conn.execute("UPDATE examples SET role = ? WHERE id = ?", (role, seed_id))
            self._log_role(seed_id, seed.role, role)
        return seed.role

    def _log_role(self, seed_id: int, old: str | None, new: str | None) -> None:
        self.add_decision(Decision(example_id=seed_id, action="role", note=f"{old} → {new}"))

    def seed_counts(self) -> dict[str, dict[str, int]]:
        """family -> role -> current seeds."""
        out: dict[str, dict[str, int]] = {}
        for family, role, n in self.conn.execute(
                f"SELECT family, role, count(*) FROM examples WHERE {CURRENT_SEED} GROUP BY family, role"):
            out.setdefault(family, {})[role] = n
        return out
