"""What an export derives from a row's conversation alone, kept beside the versions for the next export.

A row's conversation and its fixed fields never change (a revision is a new row; the store only
rewrites a row's state, role and replacement), and its `uid` names it. So a large export reads its
accepted rows without their messages: for each row it has seen before (same id and uid) it takes from
`exports/.rows.cache` its TRL line up to `verified` (the one field of that line that follows the
verdicts), why it cannot train, and its lengths; it reads the conversations of the others only.
A cache made by other code, damaged or missing is not used; it is rewritten (atomically) when rows were
added to it.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from curator.export.files import code_key
from curator.export.mix import Row, stream_rows
from curator.trainable import facts
from curator.store import Store

NAME = ".rows.cache"
_RECORD = struct.Struct("<qIIiiiI")  # id, then the lengths of uid and why, the lengths of the row, then of the line
_SORTED = orjson.OPT_SORT_KEYS


@dataclass(slots=True)
class Facts:
    """Of one row: why it cannot train (None: it can), its prompt and response characters (the turns'
    text joined by newlines), its turns, and its TRL line up to `"verified":`."""

    untrainable: str | None
    prompt_chars: int
    response_chars: int
    turns: int
    line: bytes


def facts_of(d: dict) -> Facts:
    """The facts of a row read whole (`messages`, `tools` decoded; those the store kept, `kept`, when it has
    them: see `Store.export_rows`)."""
    from curator.export.formats import trl_without_verified

    known = d.get("kept") or facts(d["messages"], d.get("tools"))
    line = orjson.dumps(trl_without_verified(d), option=_SORTED)
    return Facts(*known, line[:-1] + b',"verified":')


def _key(store: Store) -> bytes:
    """What the kept facts were made by: this format, the code that makes them and the store's schema
    (a migration may rewrite rows)."""
    from curator.export import formats
    from curator import trainable

    return code_key(b"row facts 1", store.version, (__file__, formats.__file__, trainable.__file__))


def _read(path: Path, key: bytes) -> dict[int, tuple[bytes, Facts]]:
    """{id: (uid, facts)} kept in `path` ({} if it is missing, damaged or made by other code)."""
    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _parse(data, key)
    except (OSError, ValueError):
        return {}


def _parse(data: mmap.mmap, key: bytes) -> dict[int, tuple[bytes, Facts]]:
    size, unpack, end = _RECORD.size, _RECORD.unpack_from, len(data)
    found: dict[int, tuple[bytes, Facts]] = {}
    at = 0
    while at + size <= end:
        example_id, n_uid, n_why, prompt, response, turns, n_line = unpack(data, at)
        start = at + size
        stop = start + n_uid + n_why + n_line
        if stop > end:
            return {}
        uid = data[start:start + n_uid]
        if at == 0:
            if example_id != -1 or uid != key:
                return {}
        else:
            why = data[start + n_uid:start + n_uid + n_why].decode() if n_why else None
            found[example_id] = (uid, Facts(why, prompt, response, turns, data[start + n_uid + n_why:stop]))
        at = stop
    return found if at == end else {}


def _records(kept: list[tuple[int, tuple[bytes, Facts]]]) -> bytes:
    pack, out = _RECORD.pack, []
    for example_id, (uid, f) in kept:
        why = f.untrainable.encode() if f.untrainable else b""
        out.append(b"".join((pack(example_id, len(uid), len(why), f.prompt_chars, f.response_chars, f.turns,
                                  len(f.line)), uid, why, f.line)))
    return b"".join(out)


def partials(exports_dir: Path) -> Iterator[tuple[Path, str]]:
    """The caches being written in `exports_dir` (or left half-written by a killed export), each with the
    pid of the process writing it (`_write` names them so)."""
    for path in exports_dir.glob(f"{NAME}.*"):
        yield path, path.name[len(NAME) + 1:]


def _write(path: Path, key: bytes, kept: dict[int, tuple[bytes, Facts]]) -> None:
    """Every kept row's facts to `path`, atomically (a new file renamed over the old)."""
    partial = path.with_name(f"{path.name}.{os.getpid()}")
    try:
        with open(partial, "wb") as fh:
            fh.write(_RECORD.pack(-1, len(key), 0, 0, 0, 0, 0) + key)
            items = sorted(kept.items())
            for start in range(0, len(items), 20_000):
                fh.write(_records(items[start:start + 20_000]))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _append(path: Path, added: dict[int, tuple[bytes, Facts]]) -> None:
    """The facts of rows not kept yet, added at the end of `path` in one write (a later record of an id
    stands; a write cut short makes the whole file unused, never a wrong record)."""
    with open(path, "ab") as fh:
        fh.write(_records(sorted(added.items())))


def kept(store: Store, exports_dir: Path) -> dict[int, tuple[bytes, Facts]]:
    """{id: (uid, facts)} kept in `exports_dir` by the last export of `store` ({} if none, damaged or made by
    other code)."""
    return _read(exports_dir / NAME, _key(store))


def attach(store: Store, rows: list[Row], part: str, exports_dir: Path,
           known: dict[int, tuple[bytes, Facts]]) -> dict[int, Facts]:
    """The facts of `rows` (in id order; those read without their messages are found in `known`, what
    `kept` gave, by id and uid, or made from their conversations, read then); each row's `untrainable` is
    set from them. The facts made are added to the cache in `exports_dir`."""
    facts: dict[int, Facts] = {}
    missing = []
    added: dict[int, tuple[bytes, Facts]] = {}
    for r in rows:
        d = r.data
        if d["messages"] is not None:  # (read whole)
            f = facts[d["id"]] = facts_of(d)
            if d["uid"]:
                added[d["id"]] = (d["uid"].encode(), f)
            continue
        uid = (d["uid"] or "").encode()
        found = known.get(d["id"])
        if uid and found is not None and found[0] == uid:
            facts[d["id"]] = found[1]
        else:
            missing.append(d["id"])
    for start in range(0, len(missing), 2000):
        for whole in stream_rows(store, part, verdicts=False, ids=missing[start:start + 2000]):
            d = whole.data
            f = facts[d["id"]] = facts_of(d)
            if d["uid"]:
                added[d["id"]] = (d["uid"].encode(), f)
    for r in rows:
        r.data["untrainable"] = facts[r.data["id"]].untrainable
    if added and known and len(added) <= len(known) // 10:  # (a few rows new to the cache: added at its end)
        _append(exports_dir / NAME, added)
    elif added:
        _write(exports_dir / NAME, _key(store), {**known, **added})
    return facts
