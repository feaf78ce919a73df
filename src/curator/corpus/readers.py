"""Streaming readers for corpus files. They decode strictly and say where a file went wrong."""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from curator.errors import CuratorError
from curator.jsonl import objects

CHUNK_BYTES = 1 << 20
SUPPORTED = (".txt", ".md", ".jsonl", ".parquet")
# Rows read from a Parquet file at a time: a row group is streamed in slices, never a whole file.
PARQUET_BATCH = 4096


class CorpusError(CuratorError):
    """A file (or a part of it) cannot be imported; the message names the file and where."""


@dataclass
class ByteCount:
    """How many bytes a reader has read so far (for progress bars and error offsets)."""

    bytes_read: int = 0

    def feed(self, data: bytes) -> None:
        self.bytes_read += len(data)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while data := fh.read(CHUNK_BYTES):
            digest.update(data)
    return digest.hexdigest()


def _check_start(path: Path, head: bytes) -> None:
    if not head:
        raise CorpusError(f"{path}: empty file")
    nul = head.find(b"\x00", 0, 8192)
    if nul >= 0:
        raise CorpusError(f"{path}: binary file (NUL byte at byte {nul})")


def text_chunks(path: Path, counter: ByteCount, start: int = 0, chunk_bytes: int | None = None) -> Iterator[str]:
    """Decode a text file as UTF-8 (a BOM is dropped), chunk by chunk; CorpusError on bad bytes.

    From byte `start` on (a multiple of `chunk_bytes`, so the chunks end where those of a reading from
    the start end), its first characters are those that begin there or after: the bytes that finish one
    begun before are skipped (at most three). `chunk_bytes` is CHUNK_BYTES unless given."""
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    decoder = codecs.getincrementaldecoder("utf-8-sig" if start == 0 else "utf-8")("strict")
    with path.open("rb") as fh:
        first = start == 0
        if start:
            fh.seek(start)
            head = fh.read(chunk_bytes)
            skip = 0
            while skip < min(3, len(head)) and head[skip] & 0xC0 == 0x80:
                skip += 1
            counter.bytes_read = start + skip
            pending: bytes | None = head[skip:]
        else:
            pending = None
        while True:
            data = fh.read(chunk_bytes) if pending is None else pending
            pending = None
            if first:
                _check_start(path, data)
                first = False
            final = not data
            offset = counter.bytes_read - len(decoder.getstate()[0])
            counter.feed(data)
            try:
                text = decoder.decode(data, final=final)
            except UnicodeDecodeError as exc:
                raise CorpusError(f"{path}: invalid UTF-8 at byte {offset + exc.start}") from exc
            if text or not final:  # (one text a read, empty or not: a reading's blocks count on it)
                yield text
            if final:
                return


@dataclass(frozen=True)
class JsonlRecord:
    line: int
    text: str


def jsonl_records(path: Path, field: str, counter: ByteCount, problems: list[str]) -> Iterator[JsonlRecord]:
    """Yield the `field` text of each JSONL line; bad lines are added to `problems` and skipped."""
    with path.open("rb") as fh:
        _check_start(path, fh.read(8192))
    for number, obj in objects(path, problems, on_bytes=counter.feed):
        value, problem = field_text(obj, field)
        if problem is not None:
            problems.append(f"{path}:{number}: {problem}")
        elif value is not None:
            yield JsonlRecord(number, value)


def field_text(obj: dict, field: str) -> tuple[str | None, str | None]:
    """The text of a JSONL object's `field` (None if it is blank), or what is wrong with it."""
    if field not in obj:
        return None, f"no field {field!r} (fields: {', '.join(sorted(obj)[:6])})"
    value = obj[field]
    if not isinstance(value, str):
        return None, f"field {field!r} is {type(value).__name__}, not text"
    return (value if value.strip() else None), None


def parquet_records(path: Path, field: str, counter: ByteCount, problems: list[str]) -> Iterator[JsonlRecord]:
    """Yield the `field` text of each Parquet row (`line` is the 1-based row number), batch by batch;
    rows whose field is empty or not text are skipped (non-text rows are added to `problems`)."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises its own error types for bad files
        raise CorpusError(f"{path}: not a Parquet file ({exc})") from exc
    names = parquet.schema_arrow.names
    if field not in names:
        raise CorpusError(f"{path}: no column {field!r} (columns: {', '.join(names[:6])})")
    size, rows = path.stat().st_size, max(parquet.metadata.num_rows, 1)
    number = 0
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH, columns=[field]):
        for value in batch.column(0).to_pylist():
            number += 1
            if isinstance(value, str):
                if value.strip():
                    yield JsonlRecord(number, value)
            elif value is not None:
                problems.append(f"{path}:{number}: column {field!r} is {type(value).__name__}, not text")
        counter.bytes_read = size * number // rows


def corpus_files(paths: list[Path], problems: list[str]) -> list[Path]:
    """Expand folders (recursively) into the supported files they hold, in a stable order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED))
        elif not path.exists():
            problems.append(f"{path}: no such file or folder")
        elif path.suffix.lower() not in SUPPORTED:
            problems.append(f"{path}: unsupported file type {path.suffix or '(none)'} (use .txt, .md, .jsonl or .parquet)")
        else:
            files.append(path)
    return files
