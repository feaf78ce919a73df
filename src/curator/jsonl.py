"""Reading JSONL one object at a time, with every bad line reported as `file:line: problem`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


def objects(path: Path, problems: list[str], on_bytes: Callable[[bytes], None] | None = None
            ) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each valid line; invalid UTF-8, invalid JSON and non-objects go to problems."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if on_bytes:
                on_bytes(raw)
            got = parse_line(raw, number == 1)
            if got is None:
                continue
            if isinstance(got, str):
                problems.append(f"{path}:{number}: {got}")
                continue
            yield number, got


def parse_line(raw: bytes, first: bool) -> dict[str, Any] | str | None:
    """The object on one line (`first`: the file's first, which may open with a BOM), or what is wrong
    with it (the problem after `file:line: `), or None for a blank line."""
    if not raw.strip():
        return None
    try:
        line = raw.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start} of the line"
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg} at column {exc.colno})"
    if not isinstance(obj, dict):
        return f"expected a JSON object, got {type(obj).__name__}"
    return obj
