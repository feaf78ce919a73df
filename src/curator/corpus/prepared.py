"""Prepared passages as Parquet: the columns `curator prepare` writes and `curator import` reads.

A shard is marked in its schema metadata, so any other Parquet file is read as a corpus (a text
column split and classified like JSONL). Offsets are the original file's: `source_path` is the file
a passage came from, `start`/`end` its character offsets there (inside the record for JSONL/Parquet
rows, whose number is `source_line`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

MARK_KEY = b"curator"
MARK = b"passages/1"
BATCH_ROWS = 2048

# (column, pyarrow type name) in order; lists are lists of strings.
COLUMNS = (
    ("text", "string"), ("source_path", "string"), ("source_sha256", "string"), ("source_size", "int64"),
    ("source_line", "int64"), ("start", "int64"), ("end", "int64"), ("key_hash", "string"),
    ("tags", "list"), ("quality", "string"), ("rules", "list"), ("families", "list"),
)


def schema() -> Any:
    """The pyarrow schema of a prepared shard, marked as curator's."""
    import pyarrow as pa

    types = {"string": pa.string(), "int64": pa.int64(), "list": pa.list_(pa.string())}
    return pa.schema([pa.field(name, types[kind], nullable=name == "source_line") for name, kind in COLUMNS],
                     metadata={MARK_KEY: MARK})


def is_prepared(path: Path) -> bool:
    """Whether `path` is a Parquet shard written by `curator prepare`."""
    if path.suffix.lower() != ".parquet":
        return False
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_schema(path).metadata or {}
    except Exception:  # not a readable Parquet file: the corpus reader says why
        return False
    return metadata.get(MARK_KEY) == MARK


def shard_rows(path: Path, batch_rows: int = BATCH_ROWS) -> Iterator[list[dict[str, Any]]]:
    """The rows of a shard as dicts, a batch at a time (row groups are streamed, never the file)."""
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows):
        yield batch.to_pylist()


def shard_size(path: Path) -> int:
    """How many passages a shard holds (from its footer)."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows
