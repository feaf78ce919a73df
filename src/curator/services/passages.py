"""Passages: list and search, set quality, tags and families (each change noted in the passage's
rules), and queue generation for chosen passages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from curator.errors import CuratorError
from curator.config import Settings
from curator.jobs.plan import plan_generation
from curator.models import Passage
from curator.store import Store
from curator.display.wording import counted

QUALITIES = ("high", "medium", "reject")


class PassageError(CuratorError, ValueError):
    """A change that cannot be made (unknown passage, quality or family); nothing was written."""


@dataclass
class PassagePage:
    rows: list[Passage]
    total: int


def list_passages(store: Store, *, search: str | None = None, limit: int = 2000, offset: int = 0) -> PassagePage:
    """Visible passages in id order (those containing `search`), a page at a time, with the total."""
    return PassagePage(store.passages(search=search or None, limit=limit, offset=offset),
                       store.count_passages(search=search or None))


def matching_ids(store: Store, *, search: str | None = None) -> Sequence[int]:
    """The ids of the visible passages (those containing `search`), in id order: the whole list to
    scroll over, 8 bytes an id; the passages themselves are read a screenful at a time (`passages_by_id`)."""
    return store.visible_passage_ids(search=search or None)


def passages_by_id(store: Store, ids: Sequence[int]) -> dict[int, Passage]:
    """The passages with these ids (a screenful: one read by primary key), by id; a passage gone is left out."""
    return store.passages_by_id(ids)


def update_passage(store: Store, passage_id: int, *, quality: str | None = None, tags: list[str] | None = None,
                   families: list[str] | None = None, known_families: dict[str, Any] | None = None) -> Passage:
    """Change a passage's quality, tags or families; returns it as stored. A quality set by the
    curator is noted in its rules, next to the heuristic's."""
    try:
        passage = store.passage(passage_id)
    except KeyError:
        raise PassageError(f"no passage #{passage_id}") from None
    fields: dict[str, Any] = {}
    if quality is not None:
        if quality not in QUALITIES:
            raise PassageError(f"quality must be one of {', '.join(QUALITIES)}, not {quality!r}")
        fields.update(quality=quality, rules=passage.rules + [f"quality {quality}: set by the curator"])
    if tags is not None:
        fields["tags"] = [t.strip() for t in tags if t.strip()]
    if families is not None:
        chosen = [f.strip() for f in families if f.strip()]
        unknown = [f for f in chosen if known_families is not None and f not in known_families]
        if unknown:
            raise PassageError(f"unknown family {unknown[0]!r} (known: {', '.join(sorted(known_families or {}))})")
        fields["families"] = chosen
    if fields:
        store.update_passage(passage_id, **fields)
    return store.passage(passage_id)


def update_passages(store: Store, passage_ids: Sequence[int], **changes: Any) -> list[Passage]:
    """`update_passage` for each of `passage_ids`, all or none: PassageError, and nothing changed, if an id
    names no passage or a change is refused."""
    if missing := store.missing_passages(list(passage_ids)):
        raise PassageError(f"no passage {_listed(missing)}: nothing was changed")
    with store.transaction():
        return [update_passage(store, passage_id, **changes) for passage_id in passage_ids]


def _listed(ids: list[int]) -> str:
    more = f" and {len(ids) - 10} more" if len(ids) > 10 else ""
    return ", ".join(f"#{i}" for i in ids[:10]) + more


@dataclass
class QueueReport:
    family: str
    passages: int
    added: int

    @property
    def queued(self) -> str:
        """What was queued, for the CLI and the app alike ("queued 1 passage_qa job for 1 passage")."""
        return f"queued {counted(self.added, f'{self.family} job')} for {counted(self.passages, 'passage')}"

    @property
    def them(self) -> str:
        return "it" if self.added == 1 else "them"

    def summary(self) -> str:
        return f"{self.queued} (run {self.them} with `curator generate`)"


def queue_generation(store: Store, family: Any, settings: Settings, passage_ids: list[int]) -> QueueReport:
    """Plan one generation job of `family` per chosen passage (idempotent). PassageError, and nothing
    queued, if an id names no passage."""
    if missing := store.missing_passages(passage_ids):
        raise PassageError(f"no passage {_listed(missing)}: nothing was queued")
    plan = plan_generation(store, family, settings, limit=len(passage_ids), passage_ids=passage_ids)
    return QueueReport(family.name, len(passage_ids), plan.added)
