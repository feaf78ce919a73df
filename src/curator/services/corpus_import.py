"""Importing a corpus (`curator import`): files and folders → passages, each file visible only once whole."""

from __future__ import annotations

from pathlib import Path

from curator.config import Window
from curator.corpus.importer import ImportReport, import_paths
from curator.corpus.prepared import is_prepared
from curator.corpus.readers import corpus_files
from curator.services.prepared_import import Selection, import_prepared
from curator.progress import NEVER, Cancel, Progress
from curator.store import Store

__all__ = ["ImportReport", "Selection", "import_corpus", "import_size"]


def import_size(paths: list[Path]) -> int:
    """Bytes of the corpus files `paths` name (what progress counts up to)."""
    return sum(p.stat().st_size for p in corpus_files([Path(p) for p in paths], []))


def import_corpus(store: Store, paths: list[Path], *, field_name: str = "text", window: Window = Window(),
                  workers: int | None = None, selection: Selection = Selection(), progress: Progress | None = None,
                  cancel: Cancel = NEVER) -> ImportReport:
    """Import .txt, .md, .jsonl and .parquet files (folders recursively); bad files and lines are
    reported and skipped. Parquet shards of `curator prepare` are imported as prepared passages, with
    `selection` (which must stay empty when other files are given: it selects prepared passages);
    other Parquet files are a corpus whose `field_name` column is split and classified like JSONL.
    `progress(bytes read, total bytes)`; a set `cancel` stops between batches."""
    step = None
    if progress is not None:
        total, done = import_size(paths), 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            progress(done, total)

    problems: list[str] = []
    files = corpus_files([Path(p) for p in paths], problems)
    shards = [f for f in files if is_prepared(f)]
    others = [f for f in files if f not in shards]
    if selection.active and others:
        raise ValueError("a selection (tags, quality, sample) applies to prepared shards only; "
                         f"not to {others[0]}")
    report = import_paths(store, others, field_name=field_name, window=window, progress=step, workers=workers,
                          cancel=cancel) if others else ImportReport()
    report.problems[:0] = problems
    if shards and not report.cancelled:
        import_prepared(store, shards, selection, progress=step, cancel=cancel, report=report)
    return report
