"""Corpus import: files → passages in the store, one transaction per file.

An interrupted import leaves no half file: the file's passages and its source row commit together.
Re-importing the same content adds nothing (passages are unique on the hash of their match key).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from curator.config import Window
from curator.corpus.classify import classify
from curator.corpus.readers import ByteCount, CorpusError, corpus_files, file_sha256, jsonl_records, text_chunks
from curator.corpus.split import Span, passages, split_text
from curator.models import Passage, Source, now_iso
from curator.store import Store
from curator.text.normalize import key_hash

BATCH = 2000
Progress = Callable[[int], None]


@dataclass
class ImportReport:
    """What an import did: files read, passages added and seen, and every problem with where it was."""

    files: int = 0
    passages_added: int = 0
    passages_seen: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        skipped = f", {len(self.problems)} skipped" if self.problems else ""
        dup = self.passages_seen - self.passages_added
        return (f"{self.files} files, {self.passages_added} passages added"
                f" ({dup} already present){skipped}")


def _spans(path: Path, field_name: str, window: Window, hashing: ByteCount,
           problems: list[str]) -> Iterator[tuple[Span, int | None]]:
    if path.suffix.lower() == ".jsonl":
        for record in jsonl_records(path, field_name, hashing, problems):
            for span in split_text(record.text, window):
                yield span, record.line
    else:
        for span in passages(text_chunks(path, hashing), window):
            yield span, None


def _passage(span: Span, line: int | None, source_id: int, source_path: str, window: Window, stamp: str) -> Passage:
    c = classify(span.text, window)
    return Passage(
        source_id=source_id, source_path=source_path, source_line=line, start=span.start, end=span.end,
        text=span.text, key_hash=key_hash(span.text), tags=c.tags, quality=c.quality, rules=c.rules,
        families=c.families, created_at=stamp,
    )


def import_file(store: Store, path: Path, *, field_name: str = "text", window: Window = Window(),
                progress: Progress | None = None) -> tuple[int, int, list[str]]:
    """Import one file in one transaction; returns (added, seen, problems). CorpusError skips the file."""
    problems: list[str] = []
    hashing = ByteCount()
    added = seen = 0
    stamp = now_iso()
    reported = 0
    with store.transaction():
        source_id = store.add_source(Source(path=str(path), sha256=file_sha256(path), size=path.stat().st_size))
        batch: list[Passage] = []
        for span, line in _spans(path, field_name, window, hashing, problems):
            batch.append(_passage(span, line, source_id, str(path), window, stamp))
            if len(batch) >= BATCH:
                added += store.insert_passages(batch)
                seen += len(batch)
                batch.clear()
                if progress:
                    progress(hashing.bytes_read - reported)
                    reported = hashing.bytes_read
        added += store.insert_passages(batch)
        seen += len(batch)
        store.conn.execute(
            "UPDATE sources SET passages_added = passages_added + ? WHERE id = ?", (added, source_id),
        )
    if progress:
        progress(hashing.bytes_read - reported)
    return added, seen, problems


def import_paths(store: Store, paths: list[Path], *, field_name: str = "text", window: Window = Window(),
                 progress: Progress | None = None) -> ImportReport:
    """Import files and folders (recursively); bad files and lines are reported and skipped."""
    report = ImportReport()
    for path in corpus_files([Path(p) for p in paths], report.problems):
        try:
            added, seen, problems = import_file(store, path, field_name=field_name, window=window, progress=progress)
        except CorpusError as exc:
            report.problems.append(str(exc))
            continue
        except OSError as exc:
            report.problems.append(f"{path}: cannot read ({exc.strerror or exc})")
            continue
        report.files += 1
        report.passages_added += added
        report.passages_seen += seen
        report.problems.extend(problems)
    return report
