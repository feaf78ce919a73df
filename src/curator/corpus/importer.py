"""Corpus import: files → passages in the store, in short batches, a file visible only once whole.

An interrupted import leaves no half file: a source is marked complete only at its end.
Re-importing the same content adds nothing (passages are unique on the hash of their match key).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from multiprocessing import get_context
from pathlib import Path

from curator.batching import batched
from curator.window import Window
from curator.corpus import readers
from curator.corpus.analysis import Analysis, analyse, analyse_packed, pack
from curator.corpus.blocks import Block, Joined, Lines, jsonl_block, text_block
from curator.corpus.readers import ByteCount, CorpusError, corpus_files, file_sha256
from curator.corpus.spans import file_spans
from curator.corpus.split import Span
from curator.models import Source, now_iso
from curator.progress import NEVER, Cancel
from curator.store import SourceBusy, Store
from curator.display.wording import counted

BATCH = 1000
# Analysed batches are written a few at a time: each commit rewrites the key index's pages that its
# rows touched (keys are hashes, so nearly all of them), and fewer, larger commits write much less.
# A write stays short (the concurrency contract: ~0.2 s at most): ~4,000 passages, ~0.1 s. A file's
# writes grow from one batch to WRITE_BATCHES (1, 2, 4, 4...): a small file still commits as it goes.
WRITE_BATCHES = 4
WRITE_CHARS = 3_000_000
# Files at least this big are classified in worker processes (start-up costs ~0.1 s a worker).
PARALLEL_MIN_BYTES = 16 << 20
# A text or JSONL file is read by the workers in blocks of this many of the reader's chunks (1 MB:
# ~1,000 passages; a few blocks are in flight at once). Blocks of 2 MB split no faster (a block reads
# the next one's first chunk too) and cost ~20 MB more at the peak (PSS of all processes, 200 MB file).
BLOCK_CHUNKS = 1
# Blocks in flight a worker. While a commit copies the WAL back into the file (every
# `BULK_CHECKPOINT_PAGES`: ~0.3 s of fsync), this process takes no block; with 2 a worker the workers
# had nothing left to do within ~0.1 s and both cores idled (idle CPU sampled every 0.25 s: 20-45% at
# each checkpoint). With 6 they keep working through it: a 200 MB file in 7.7-8.3 s instead of
# 8.2-8.6 s (alternated), for ~8 MB more at the peak (PSS 275-288 MB).
IN_FLIGHT = 6
Progress = Callable[[int], None]
T = TypeVar("T")


class ImportCancelled(Exception):
    """The caller asked the import to stop; the file in progress was dropped whole."""


@dataclass
class ImportReport:
    """What an import did: files read, passages added and seen, and every problem with where it was."""

    files: int = 0
    passages_added: int = 0
    passages_seen: int = 0
    problems: list[str] = field(default_factory=list)
    cancelled: bool = False

    @property
    def outcome(self) -> str:
        """`ok` (everything was read), `partial` (a file or line was skipped, or the import was
        cancelled after some files) or `nothing` (no file was read)."""
        if self.files == 0:
            return "nothing"
        return "partial" if self.problems or self.cancelled else "ok"

    def summary(self) -> str:
        skipped = f", {len(self.problems)} skipped" if self.problems else ""
        dup = self.passages_seen - self.passages_added
        return (f"{counted(self.files, 'file')}, {counted(self.passages_added, 'passage')} added"
                f" ({dup} already present){skipped}{', cancelled' if self.cancelled else ''}")


Analysed = tuple[list[tuple[Span, int | None]], list[str], list[Analysis]]


def _analysed(batches: Iterable[list[tuple[Span, int | None]]], window: Window,
              pool: Executor | None) -> Iterator[Analysed]:
    """Each batch with its texts and their analyses, in order; with a pool, a few batches are in flight
    at once (bounded memory)."""
    if pool is None:
        for batch in batches:
            texts = [s.text for s, _ in batch]
            yield batch, texts, analyse(texts, window)
        return
    in_flight: deque[tuple[list[tuple[Span, int | None]], list[str], Future[list[Analysis]]]] = deque()
    limit = 2 * (getattr(pool, "_max_workers", 2) or 2)
    for batch in batches:
        texts = [s.text for s, _ in batch]
        packed = pack(texts)
        future = pool.submit(analyse, texts, window) if packed is None else pool.submit(analyse_packed, *packed, window)
        in_flight.append((batch, texts, future))
        if len(in_flight) >= limit:
            done, texts, future = in_flight.popleft()
            yield done, texts, future.result()
    while in_flight:
        done, texts, future = in_flight.popleft()
        yield done, texts, future.result()


def import_file(store: Store, path: Path, *, field_name: str = "text", window: Window = Window(),
                progress: Progress | None = None, pool: Executor | None = None,
                cancel: Cancel = NEVER) -> tuple[int, int, list[str]]:
    """Import one file; returns (added, seen, problems). CorpusError skips the file; a set `cancel`
    raises ImportCancelled between batches (the file is dropped whole).

    Passages commit in short batches (no write transaction holds the database for long); the file's
    source row is marked complete only at its end, so until then none of its passages is visible,
    and an interrupted import is cleaned up by the next writer (see `Store.clean_incomplete_sources`).
    """
    problems: list[str] = []
    counter = ByteCount()
    added = seen = reported = 0
    stamp = now_iso()
    name = str(path)
    found, blocks = _found(path, field_name, window, counter, problems, pool)  # (the workers start on it now)
    try:
        source_id = store.begin_source(Source(path=name, sha256=file_sha256(path), size=path.stat().st_size))
    except BaseException:
        if blocks is not None:
            blocks.close()
        raise
    pending: list[tuple] = []  # rows of the passages table, in `_write`'s column order
    batches = chars = writes = 0
    try:
        for batch in _rebatched(found, BATCH):
            if cancel.is_set():
                raise ImportCancelled(name)
            pending += [(source_id, name, line, start, end, text, key, tags, quality, rules, families, stamp)
                        for line, start, end, text, (key, tags, quality, rules, families) in batch]
            batches += 1
            chars += sum(end - start for _, start, end, _, _ in batch)
            if batches >= min(WRITE_BATCHES, 1 << writes) or chars >= WRITE_CHARS:
                added += _write(store, source_id, pending)
                seen += len(pending)
                pending, batches, chars, writes = [], 0, 0, writes + 1
            if progress:
                progress(counter.bytes_read - reported)
                reported = counter.bytes_read
        if pending:
            added += _write(store, source_id, pending)
            seen += len(pending)
    except BaseException:
        if blocks is not None:
            blocks.close()  # (those still queued are dropped)
        store.abandon_source(source_id)
        raise
    store.complete_source(source_id)
    if progress:
        progress(counter.bytes_read - reported)
    return added, seen, problems


def _rebatched(parts: Iterable[list[T]], size: int) -> Iterator[list[T]]:
    """The items of `parts` (lists of any length) in lists of `size` (the last one shorter), in order."""
    batch: list[T] = []
    for part in parts:
        batch += part
        while len(batch) >= size:
            yield batch[:size]
            batch = batch[size:]
    if batch:
        yield batch


def _found(path: Path, field_name: str, window: Window, counter: ByteCount, problems: list[str],
           pool: Executor | None) -> tuple[Iterator[list[Found]], _Blocks | None]:
    """The passages of a file with their analyses, in order, a list at a time, and the blocks the
    workers read (if they do). A text or JSONL file with a pool is read and split by the workers, each a
    block of it (`curator.corpus.blocks`), and they start on its first blocks at once; otherwise this
    process reads it and the pool (if any) analyses."""
    size = path.stat().st_size
    suffix = path.suffix.lower()
    if pool is not None and size and suffix == ".jsonl":
        lines = _Blocks(path, size, counter, pool, jsonl_block, field_name, window)
        return _jsonl_found(path, lines, problems), lines
    if pool is not None and size and suffix in (".txt", ".md"):
        blocks = _Blocks(path, size, counter, pool, text_block, window, readers.CHUNK_BYTES)
        return _text_found(path, field_name, window, counter, problems, pool, blocks), blocks
    return _analysed_found(file_spans(path, field_name, window, counter, problems), window, pool), None


Found = tuple[int | None, int, int, "str | bytes", Analysis]  # line, start, end, text, analysis


def _analysed_found(spans: Iterable[tuple[Span, int | None]], window: Window, pool: Executor | None
                    ) -> Generator[list[Found], None, None]:
    for batch, _, analyses in _analysed(batched(spans, BATCH), window, pool):
        yield [(line, span.start, span.end, span.text, analysis) for (span, line), analysis in zip(batch, analyses)]


def _jsonl_found(path: Path, blocks: _Blocks[Lines], problems: list[str]) -> Generator[list[Found], None, None]:
    base = 0  # the block's first line, from the file's
    for lines in blocks:
        problems.extend(f"{path}:{base + number}: {problem}" for number, problem in lines.problems)
        yield [(base + line, start, end, text, analysis) for line, start, end, text, analysis
               in zip(lines.lines, lines.starts, lines.ends, lines.texts, lines.analyses)]
        base += lines.count


def _text_found(path: Path, field_name: str, window: Window, counter: ByteCount, problems: list[str],
                pool: Executor, blocks: _Blocks[Block]) -> Generator[list[Found], None, None]:
    joined = Joined(blocks)
    yield from joined
    blocks.close()  # (after a lost block, those still queued are of no use)
    if joined.resume is not None:
        # A block found no place to hand over (a pathological file): the rest is read from the start
        # (progress stands still until then).
        resume = joined.resume
        counter.bytes_read = path.stat().st_size
        yield from _analysed_found(((s, line) for s, line in file_spans(path, field_name, window, ByteCount(), problems)
                                    if s.start >= resume), window, pool)


class _Blocks(Generic[T]):
    """`work(path, start, stop, size, *args)` for each block of a file, in the pool, in order; a few are
    in flight at once, the first ones from the moment this is made."""

    def __init__(self, path: Path, size: int, counter: ByteCount, pool: Executor, work: Callable[..., T],
                 *args: object) -> None:
        block = BLOCK_CHUNKS * readers.CHUNK_BYTES
        self.counter, self.pool, self.work, self.args, self.path, self.size = counter, pool, work, args, path, size
        self.starts = iter(range(0, size, block))
        self.block = block
        self.in_flight: deque[tuple[int, Future[T]]] = deque()
        for _ in range(IN_FLIGHT * (getattr(pool, "_max_workers", 2) or 2)):
            self._submit()

    def _submit(self) -> None:
        start = next(self.starts, None)
        if start is not None:
            stop = min(start + self.block, self.size)
            self.in_flight.append((stop, self.pool.submit(self.work, self.path, start, stop, self.size, *self.args)))

    def __iter__(self) -> Iterator[T]:
        while self.in_flight:
            stop, future = self.in_flight[0]
            result = future.result()
            self.in_flight.popleft()
            self._submit()
            self.counter.bytes_read = stop
            yield result

    def close(self) -> None:
        """Drop the blocks still queued (those being worked on finish, unread)."""
        for _, future in self.in_flight:
            future.cancel()
        self.in_flight.clear()


def _write(store: Store, source_id: int, rows: list[tuple]) -> int:
    """Insert analysed passages (rows in the store's passage column order: source id, path, line, start,
    end, text, the analysis, the time stamp) in one short transaction; returns how many were new."""
    with store.transaction():
        n = store.insert_passage_rows(rows)
        store.renew_source(source_id, n)
    return n


def _pool_for(files: list[Path], workers: int | None, window: Window) -> Executor | None:
    workers = workers if workers is not None else (os.cpu_count() or 1)
    big = any(f.stat().st_size >= PARALLEL_MIN_BYTES for f in files if f.exists())
    if workers < 2 or not big:
        return None
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
    for _ in range(workers):  # start the workers now: they load while this process hashes the file
        pool.submit(analyse, [], window)
    return pool


def import_paths(store: Store, paths: list[Path], *, field_name: str = "text", window: Window = Window(),
                 progress: Progress | None = None, workers: int | None = None,
                 cancel: Cancel = NEVER) -> ImportReport:
    """Import files and folders (recursively); bad files and lines are reported and skipped.

    Big files are classified in `workers` processes (default: one per core); 1 keeps it in-process.
    A set `cancel` stops between batches: the files before are kept, the one in progress dropped.
    """
    report = ImportReport()
    files = corpus_files([Path(p) for p in paths], report.problems)
    pool = _pool_for(files, workers, window)
    try:
        with store.bulk_writes():
            _import_each(store, files, report, field_name, window, progress, pool, cancel)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return report


def _import_each(store: Store, files: list[Path], report: ImportReport, field_name: str, window: Window,
                 progress: Progress | None, pool: Executor | None, cancel: Cancel) -> None:
    for path in files:
        try:
            added, seen, problems = import_file(store, path, field_name=field_name, window=window,
                                                progress=progress, pool=pool, cancel=cancel)
        except ImportCancelled:
            report.cancelled = True
            return
        except (CorpusError, SourceBusy) as exc:
            report.problems.append(str(exc))
            continue
        except OSError as exc:
            report.problems.append(f"{path}: cannot read ({exc.strerror or exc})")
            continue
        report.files += 1
        report.passages_added += added
        report.passages_seen += seen
        report.problems.extend(problems)
