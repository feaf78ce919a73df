"""What the importer computes for each passage: its match-key hash and its classification.

This runs in worker processes for big files, so it imports only the text core, the classifier and
numpy (a worker starts in about 0.2 s) and returns plain strings, which are cheap to send back. A batch
is classified at once (`classify_batch`), its match keys made in one pass (`key_hashes`).
"""

from __future__ import annotations

import functools

import orjson

from curator.window import Window
from curator.corpus.batch import classify_batch
from curator.text.normalize import batch_codes, key_hashes

# key hash, tags JSON, quality, rules JSON, families JSON: ready for the passages table.
Analysis = tuple[str, str, str, str, str]


@functools.lru_cache(maxsize=4096)
def _json_list(items: tuple[str, ...]) -> str:
    return orjson.dumps(items).decode()


# Texts a numpy pass holds at once: a batch's code-point arrays (4-8 bytes a character, a few of them)
# stay a few MB, so two import workers stay small (the import's memory target: 300 MB in all).
ANALYSIS_PART = 250


def analyse_packed(packed: bytes, lengths: list[int], window: Window) -> list[Analysis]:
    """`analyse` of the texts `pack` packed (what a worker process is sent)."""
    return analyse(unpack(packed, lengths), window)


def pack(texts: list[str]) -> tuple[bytes, list[int]] | None:
    """The texts as one UTF-16 string and their lengths: a tenth of what pickling them costs (pickle
    encodes each as UTF-8, and UTF-8 is slow to decode). None if a text cannot be encoded (a lone
    surrogate; strict encoding refuses it, so what decodes is always exactly what was packed)."""
    try:
        return "".join(texts).encode("utf-16-le"), [len(t) for t in texts]
    except UnicodeEncodeError:
        return None


def unpack(packed: bytes, lengths: list[int]) -> list[str]:
    joined, texts, at = packed.decode("utf-16-le"), [], 0
    for n in lengths:
        texts.append(joined[at:at + n])
        at += n
    return texts


def analyse(texts: list[str], window: Window) -> list[Analysis]:
    """Match-key hash and classification of each text, encoded for the store."""
    out = []
    for first in range(0, len(texts), ANALYSIS_PART):
        part = texts[first:first + ANALYSIS_PART]
        codes = batch_codes(part)  # (one array for both: the keys and the classification read it)
        for key, c in zip(key_hashes(part, codes), classify_batch(part, window, codes)):
            out.append((key, _json_list(tuple(c.tags)), c.quality, orjson.dumps(c.rules).decode(),
                        _json_list(tuple(c.families))))
    return out
