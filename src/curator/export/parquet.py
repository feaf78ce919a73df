"""Parquet copies of the exported files: the same rows and columns as the JSONL ones, typed for Arrow.

`tools` is stored the way the installed `datasets` reads it best (TRL's recommendation follows it):
from datasets 4.8 a list of JSON values (`list<arrow.json>`, read back as `List(Json())`: each tool
schema decodes to its own dict); before that, or without datasets, the JSONL's JSON string. A struct
column is never used: Arrow unifies the rows' differing parameter schemas into one struct, and every
tool comes back carrying the other tools' properties as nulls.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

JSON_LIST = "json_list"
JSON_STRING = "json_string"
DATASETS_WITH_JSON = (4, 8)  # the release that added the `Json()` feature type

_CALL = pa.struct([("type", pa.string()), ("id", pa.string()),
                   ("function", pa.struct([("name", pa.string()), ("arguments", pa.string())]))])
_MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string()),
                                ("tool_calls", pa.list_(_CALL)), ("tool_call_id", pa.string())]))
_METADATA = [("id", pa.int64()), ("family", pa.string()), ("task_type", pa.string()), ("difficulty", pa.string()),
             ("source_type", pa.string()), ("source_passage_id", pa.int64()), ("verified", pa.bool_())]
# The columns of each row shape that `curator.export.formats` writes; None stands for the tools column.
SHAPES: dict[str, list[tuple[str, pa.DataType | None]]] = {
    "trl": [("messages", _MESSAGES), ("tools", None), *_METADATA],
    "prompt_completion": [("prompt", _MESSAGES), ("completion", _MESSAGES), ("tools", None), *_METADATA],
    "alpaca": [("instruction", pa.string()), ("input", pa.string()), ("output", pa.string()),
               ("system", pa.string()), *_METADATA],
}


@dataclass(frozen=True)
class ToolsColumn:
    """How the tools column is stored, and why (the datasets release it was chosen for)."""

    mode: str
    datasets: str | None

    @property
    def arrow_type(self) -> pa.DataType:
        return pa.list_(pa.json_()) if self.mode == JSON_LIST else pa.string()

    def describe(self) -> dict[str, Any]:
        return {"tools": self.mode, "tools_arrow_type": str(self.arrow_type), "datasets": self.datasets,
                "pyarrow": pa.__version__}


def _release(version: str) -> tuple[int, ...]:
    parts = []
    for part in version.split(".")[:2]:
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def tools_column(datasets_version: str | None = None) -> ToolsColumn:
    """The tools column for the installed `datasets` (or the given version): a list of JSON values
    where it reads them, else JSON strings."""
    if datasets_version is None:
        try:
            datasets_version = metadata.version("datasets")
        except metadata.PackageNotFoundError:
            return ToolsColumn(JSON_STRING, None)
    mode = JSON_LIST if _release(datasets_version) >= DATASETS_WITH_JSON else JSON_STRING
    return ToolsColumn(mode, datasets_version)


def _tools_value(value: str | None, tools: ToolsColumn) -> str | list[str] | None:
    if value is None or tools.mode == JSON_STRING:
        return value
    return [orjson.dumps(tool, option=orjson.OPT_SORT_KEYS).decode() for tool in orjson.loads(value)]


def table(rows: list[dict[str, Any]], shape: str, tools: ToolsColumn) -> pa.Table:
    """The rows as an Arrow table of the shape's columns (a key the shape does not know is an error:
    the Parquet file must carry every column the JSONL does)."""
    columns = SHAPES[shape]
    names = {name for name, _ in columns}
    for row in rows:
        if extra := set(row) - names:
            raise ValueError(f"{shape} rows carry columns the Parquet schema lacks: {sorted(extra)}")
    arrays, fields = [], []
    for name, type_ in columns:
        if type_ is None:
            type_ = tools.arrow_type
            values = [_tools_value(row.get(name), tools) for row in rows]
            storage = pa.list_(pa.string()) if tools.mode == JSON_LIST else pa.string()
            arrays.append(pa.array(values, storage).cast(type_))  # extension types are built from their storage
        else:
            arrays.append(pa.array([row.get(name) for row in rows], type_))
        fields.append(pa.field(name, type_))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def parquet_bytes(rows: list[dict[str, Any]], shape: str, tools: ToolsColumn) -> bytes:
    """One Parquet file in memory (deterministic for a given pyarrow: nothing in it depends on the clock)."""
    sink = pa.BufferOutputStream()
    pq.write_table(table(rows, shape, tools), sink, compression="zstd")
    return sink.getvalue().to_pybytes()
