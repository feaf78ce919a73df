"""What the importer computes for each passage: its match-key hash and its classification.

This runs in worker processes for big files, so it imports only the text core and the classifier
(a worker starts in about 0.1 s) and returns plain strings, which are cheap to send back.
"""

from __future__ import annotations

import functools

import orjson

from curator.config import Window
from curator.corpus.classify import classify
from curator.text.normalize import key_hashes

# key hash, tags JSON, quality, rules JSON, families JSON: ready for the passages table.
Analysis = tuple[str, str, str, str, str]


@functools.lru_cache(maxsize=4096)
def _json_list(items: tuple[str, ...]) -> str:
    return orjson.dumps(items).decode()


def analyse(texts: list[str], window: Window) -> list[Analysis]:
    """Match-key hash and classification of each text, encoded for the store."""
    out = []
    for text, key in zip(texts, key_hashes(texts)):
        c = classify(text, window)
        out.append((key, _json_list(tuple(c.tags)), c.quality, orjson.dumps(c.rules).decode(),
                    _json_list(tuple(c.families))))
    return out
