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
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                problems.append(f"{path}:{number}: invalid UTF-8 at byte {exc.start} of the line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{path}:{number}: not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(obj, dict):
                problems.append(f"{path}:{number}: expected a JSON object, got {type(obj).__name__}")
                continue
            yield number, obj
