"""Importing a corpus (`curator import`): files and folders → passages, each file visible only once whole."""

from __future__ import annotations

from pathlib import Path

from curator.config import Window
from curator.corpus.importer import ImportReport, import_paths
from curator.corpus.readers import corpus_files
from curator.progress import NEVER, Cancel, Progress
from curator.store import Store

__all__ = ["ImportReport", "import_corpus", "import_size"]


def import_size(paths: list[Path]) -> int:
    """Bytes of the corpus files `paths` name (what progress counts up to)."""
    return sum(p.stat().st_size for p in corpus_files([Path(p) for p in paths], []))


def import_corpus(store: Store, paths: list[Path], *, field_name: str = "text", window: Window = Window(),
                  workers: int | None = None, progress: Progress | None = None,
                  cancel: Cancel = NEVER) -> ImportReport:
    """Import .txt, .md and .jsonl files (folders recursively); bad files and lines are reported and
    skipped. `progress(bytes read, total bytes)`; a set `cancel` stops between batches."""
    step = None
    if progress is not None:
        total, done = import_size(paths), 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            progress(done, total)

    return import_paths(store, [Path(p) for p in paths], field_name=field_name, window=window, progress=step,
                        workers=workers, cancel=cancel)
