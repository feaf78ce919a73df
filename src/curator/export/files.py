"""Writing an export's file: streamed, hashed as it goes, flushed to the disk before it counts; and the key
of a file an export keeps for the next one."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def write_file(path: Path, chunks: Iterable[bytes], also: Any = None) -> str:
    """Write `chunks` to `path` (flushed and fsynced), feeding them to the hash `also` too if given; the
    file's sha256."""
    digest = hashlib.sha256()
    with open(path, "wb") as fh:
        for chunk in chunks:
            digest.update(chunk)
            if also is not None:
                also.update(chunk)
            fh.write(chunk)
        fh.flush()
        os.fsync(fh.fileno())
    return digest.hexdigest()


def code_key(what: bytes, schema_version: int, modules: Iterable[str]) -> bytes:
    """The key a file kept for the next export starts with: what it holds and in which format (`what`), the
    store's schema version (a migration may rewrite rows) and the code that made it (the `modules`' bytes).
    A file with another key is not used."""
    digest = hashlib.sha256(b"%s %d" % (what, schema_version))
    for module in modules:
        digest.update(Path(module).read_bytes())
    return digest.hexdigest().encode()
