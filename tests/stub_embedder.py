"""Fixed vectors for the TUI tests: no model, so no screen depends on a model's floats (the bundled
model's last digits differ from one CPU to another).

Each word of the text's match key adds 1 to one of the 384 dimensions (a stable hash of the word), and
the row is scaled to unit length: texts that share words are close, the same text gives the same vector
on every machine, and nothing is downloaded or loaded.
"""

from __future__ import annotations

import hashlib

import numpy as np

from curator.meaning.embedder import DIM
from curator.text import match_key


class StubEmbedder:
    model_id = "stub/hashed-words"

    def embed(self, texts: list[str], batch: int = 16) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in match_key(text).split() or ["-"]:
                out[i, int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little") % DIM] += 1
        return out / np.linalg.norm(out, axis=1, keepdims=True)


STUB = StubEmbedder()
