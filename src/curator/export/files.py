"""Writing an export's file: streamed, hashed as it goes, flushed to the disk before it counts."""

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
