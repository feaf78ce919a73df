"""One corpus file → its passages with where they sit: the same reading for `curator import` and
`curator prepare`, so both paths see the same text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from curator.window import Window
from curator.corpus.readers import ByteCount, jsonl_records, parquet_records, text_chunks
from curator.corpus.split import Span, passages, split_text


def file_spans(path: Path, field_name: str, window: Window, counter: ByteCount,
               problems: list[str]) -> Iterator[tuple[Span, int | None]]:
    """Each passage of a file with its record number: JSONL lines and Parquet rows are split one by
    one (offsets inside the record, `line` its 1-based number); text files as one stream (line None)."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".parquet"):
        reader = jsonl_records if suffix == ".jsonl" else parquet_records
        for record in reader(path, field_name, counter, problems):
            for span in split_text(record.text, window):
                yield span, record.line
    else:
        for span in passages(text_chunks(path, counter), window):
            yield span, None
