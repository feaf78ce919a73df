"""What the importer computes for each passage: its match-key hash and its classification.

This runs in worker processes for big files, so it imports only the text core, the classifier and
numpy (a worker starts in about 0.2 s) and returns plain strings, which are cheap to send back. A batch
is classified at once (`classify_batch`), its match keys made in one pass (`key_hashes`).
"""

from __future__ import annotations

import functools

import orjson

from curator.config import Window
from curator.corpus.batch import classify_batch
from curator.text.normalize import key_hashes

# key hash, tags JSON, quality, rules JSON, families JSON: ready for the passages table.
Analysis = tuple[str, str, str, str, str]


@functools.lru_cache(maxsize=4096)
def _json_list(items: tuple[str, ...]) -> str:
    return orjson.dumps(items).decode()


def analyse(texts: list[str], window: Window) -> list[Analysis]:
    """Match-key hash and classification of each text, encoded for the store."""
    out = []
    for key, c in zip(key_hashes(texts), classify_batch(texts, window)):
        out.append((key, _json_list(tuple(c.tags)), c.quality, orjson.dumps(c.rules).decode(),
                    _json_list(tuple(c.families))))
    return out
