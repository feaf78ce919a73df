"""Importing prepared passages (the Parquet shards of `curator prepare`), with a selection: tags,
quality levels, and a seeded sample of N passages per family or per tag, so a huge preparation
becomes a small store. Passages keep their original file and offsets; shards are streamed."""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

import orjson

from curator.batching import batched
from curator.corpus.importer import ImportCancelled, ImportReport
from curator.corpus.prepared import shard_rows, shard_size
from curator.models import Source, now_iso
from curator.progress import NEVER, Cancel
from curator.store import SourceBusy, Store

BATCH = 500
GROUPINGS = ("family", "tag")


@dataclass(frozen=True)
class Selection:
    """Which prepared passages to import: any of `tags` (none: all), one of `qualities` (none: all),
    then, with `sample`, N passages per family (or tag) chosen by a seeded hash of their match key:
    the same seed gives the same sample whatever the shards or their order. With `per="family"` a
    passage without a family (rejected, or no useful tag) is never sampled; likewise for tags."""

    tags: tuple[str, ...] = ()
    qualities: tuple[str, ...] = ()
    sample: int | None = None
    per: str = "family"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.per not in GROUPINGS:
            raise ValueError(f"sample per {self.per!r}: use family or tag")
        if self.sample is not None and self.sample < 1:
            raise ValueError("the sample size must be at least 1")

    @property
    def active(self) -> bool:
        return bool(self.tags or self.qualities or self.sample)

    def keeps(self, row: dict[str, Any]) -> bool:
        return ((not self.tags or any(t in self.tags for t in row["tags"]))
                and (not self.qualities or row["quality"] in self.qualities))

    def rank(self, key_hash: str) -> int:
        """The passage's place in the seeded sample order (smaller is chosen first)."""
        return int.from_bytes(hashlib.blake2b(f"{self.seed}:{key_hash}".encode(), digest_size=8).digest(), "big")


def _sampled(rows: Iterable[dict[str, Any]], selection: Selection) -> list[dict[str, Any]]:
    """The N lowest-ranked passages of each group (bounded heaps: N rows a group in memory)."""
    field = "families" if selection.per == "family" else "tags"
    heaps: dict[str, list[tuple[int, str, int, dict[str, Any]]]] = {}
    for n, row in enumerate(rows):
        rank = selection.rank(row["key_hash"])
        for group in row[field]:
            heap = heaps.setdefault(group, [])
            item = (-rank, row["key_hash"], -n, row)  # -n: never compare the rows themselves
            if len(heap) < selection.sample:
                heapq.heappush(heap, item)
            elif item > heap[0]:
                heapq.heapreplace(heap, item)
    chosen = {key: row for heap in heaps.values() for _, key, _, row in heap}
    return sorted(chosen.values(), key=lambda r: (r["source_path"], r["source_line"] or 0, r["start"]))


def _json(items: list[str]) -> str:
    return orjson.dumps(items).decode()


class _Writer:
    """Inserts rows in short transactions; each original file becomes a source row, begun when its
    first passage comes, complete (visible) when `complete()` is called, dropped on `abandon()`."""

    def __init__(self, store: Store, report: ImportReport):
        self.store, self.report, self.open, self.stamp = store, report, {}, now_iso()

    def _source(self, row: dict[str, Any]) -> int:
        path = row["source_path"]
        if path not in self.open:
            self.open[path] = self.store.begin_source(
                Source(path=path, sha256=row["source_sha256"], size=row["source_size"]))
        return self.open[path]

    def write(self, batch: list[dict[str, Any]]) -> None:
        for path, rows in groupby(batch, key=lambda r: r["source_path"]):
            rows = list(rows)
            try:
                source_id = self._source(rows[0])
            except SourceBusy as exc:
                self.report.problems.append(str(exc))
                continue
            with self.store.transaction():
                n = self.store.insert_passage_rows(
                    (source_id, path, r["source_line"], r["start"], r["end"], r["text"], r["key_hash"],
                     _json(r["tags"]), r["quality"], _json(r["rules"]), _json(r["families"]), self.stamp)
                    for r in rows)
                self.store.renew_source(source_id, n)
            self.report.passages_added += n
            self.report.passages_seen += len(rows)

    def complete(self) -> None:
        for source_id in self.open.values():
            self.store.complete_source(source_id)
        self.open.clear()

    def abandon(self) -> None:
        for source_id in self.open.values():
            self.store.abandon_source(source_id)
        self.open.clear()


def import_prepared(store: Store, shards: list[Path], selection: Selection = Selection(), *,
                    progress: Callable[[int], None] | None = None, cancel: Cancel = NEVER,
                    report: ImportReport | None = None) -> ImportReport:
    """Import prepared shards (their selection). `progress(bytes)` counts shard bytes as read; a set
    `cancel` stops between batches (the shard in progress, or the whole sample, is dropped).
    Without a sample each shard's files are complete at its end (a task's files stay in its shard)."""
    report = report or ImportReport()
    writer = _Writer(store, report)

    def rows_of(shard: Path) -> Iterator[dict[str, Any]]:
        total, read, size = max(shard_size(shard), 1), 0, shard.stat().st_size
        for rows in shard_rows(shard):
            read += len(rows)
            yield from (r for r in rows if selection.keeps(r))
            if progress:
                progress(size * read // total - size * (read - len(rows)) // total)

    def write_all(rows: Iterable[dict[str, Any]]) -> None:
        for batch in batched(rows, BATCH):
            if cancel.is_set():
                raise ImportCancelled()
            writer.write(batch)

    try:
        if selection.sample:
            sample = _sampled((r for shard in shards for r in rows_of(shard)), selection)
            report.files = len(shards)
            write_all(sample)
            writer.complete()
        else:
            for shard in shards:
                write_all(rows_of(shard))
                writer.complete()
                report.files += 1
    except ImportCancelled:
        writer.abandon()
        report.cancelled = True
    except BaseException:
        writer.abandon()
        raise
    return report
