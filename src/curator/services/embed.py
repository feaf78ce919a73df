"""Embedding examples (`curator embed`, and the first step of `curator gate`): every candidate, seed
and eval item without a vector from the current model gets one, a batch per transaction. Resumable by
construction (what is stored is never recomputed); a new candidate costs one embedding."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from curator.config import MeaningSettings
from curator.gates.content import stored_messages
from curator.meaning.embedder import Embedder, EmbedderUnavailable, active_model_id, default_embedder, pack
from curator.meaning.texts import ask_text, number_signature, whole_text
from curator.progress import NEVER, Cancel, Progress
from curator.store import Store
from curator.display.wording import counted


@dataclass
class EmbedReport:
    model: str = ""
    embedded: int = 0
    remaining: int = 0  # still without a vector (stopped early, or over the limit)
    total: int = 0  # examples the meaning gates look at
    seconds: float = 0.0
    unavailable: str | None = None  # why no embedding could be made

    def summary(self) -> str:
        if self.unavailable:
            return f"embeddings: none made ({self.unavailable}); the meaning gates cannot run"
        rate = f" ({self.embedded / self.seconds:.1f}/s)" if self.embedded and self.seconds else ""
        text = f"embedded {counted(self.embedded, 'example')} in {self.seconds:.1f} s{rate} with {self.model}"
        if self.remaining:
            text += f"; {self.remaining} of {self.total} still to embed (run again to continue)"
        return text


def pending(store: Store) -> int:
    """Examples the meaning gates look at that have no vector from the installed model."""
    model = active_model_id()
    return store.count_unembedded(model)[0] if model else 0


def embed_missing(store: Store, settings: MeaningSettings = MeaningSettings(), *, embedder: Embedder | None = None,
                  limit: int | None = None, progress: Progress | None = None, cancel: Cancel = NEVER) -> EmbedReport:
    """Embed up to `limit` (default: all) examples that have no vector from the model, eval items first.
    `cancel` is checked between batches; what is embedded stays."""
    report = EmbedReport()
    # The model is loaded only when there is something to embed (loading it takes about a second).
    model = embedder.model_id if embedder is not None else active_model_id()
    if model is None:  # not installed: loading it says why
        if (embedder := _loaded(settings, report)) is None:
            return report
        model = embedder.model_id
    report.model = model
    if limit == 0:  # nothing to embed: no need to count what has no vector
        return report
    missing, report.total = store.count_unembedded(model)
    todo = missing if limit is None else min(missing, limit)
    if todo and embedder is None and (embedder := _loaded(settings, report)) is None:
        return report
    start = time.perf_counter()
    passage = store.passage_texts()
    # The examples to embed are listed once (a pass over the store), then embedded a batch at a time
    # (each batch only what still has no vector: another process may have embedded some meanwhile).
    ids = store.unembedded_ids(model, todo) if todo else []
    for first in range(0, len(ids), settings.batch):
        if cancel.is_set():
            break
        rows = store.unembedded_of(embedder.model_id, ids[first:first + settings.batch])
        if rows:
            _embed_rows(store, embedder, rows, passage)
        report.embedded += len(rows)
        if progress:
            progress(report.embedded, todo)
    report.seconds = time.perf_counter() - start
    report.remaining = missing - report.embedded
    return report


def _loaded(settings: MeaningSettings, report: EmbedReport) -> Embedder | None:
    """The process's embedder, or None with why it could not be loaded in `report`."""
    try:
        return default_embedder(settings.threads)
    except EmbedderUnavailable as exc:
        report.unavailable = str(exc)
        return None


def embed_ids(store: Store, embedder: Embedder, ids: list[int], settings: MeaningSettings = MeaningSettings(),
              progress: Progress | None = None) -> int:
    """Embed those of `ids` that have no vector yet, `settings.batch` at a time (progress after each);
    returns how many were embedded."""
    rows = store.unembedded_of(embedder.model_id, ids)
    passage = store.passage_texts()
    for start in range(0, len(rows), settings.batch):
        _embed_rows(store, embedder, rows[start:start + settings.batch], passage)
        if progress:
            progress(min(start + settings.batch, len(rows)), len(rows))
    return len(rows)


def _embed_rows(store: Store, embedder: Embedder, rows: list[tuple[int, str, int | None, int]],
                passage: Callable[[int | None], str | None]) -> None:
    """One vector per example (ask + response); eval items also get their ask's."""
    asks, wholes = [], []
    for _, messages_json, passage_id, _ in rows:
        messages, text = stored_messages(messages_json), passage(passage_id)
        asks.append(ask_text(messages, text))
        wholes.append(whole_text(messages, text))
    evals = [i for i, row in enumerate(rows) if row[3]]
    vectors = embedder.embed(wholes + [asks[i] for i in evals])
    ask_of = {i: pack(vectors[len(rows) + k]) for k, i in enumerate(evals)}
    store.put_embeddings(embedder.model_id, [
        (row[0], ask_of.get(i), pack(vectors[i]), number_signature(asks[i])) for i, row in enumerate(rows)])
