"""Sentence embeddings of examples: a float16 vector of the ask + response (and, for private eval
items, of the ask alone), with the model that made them and the numbers of the ask. Computed once; a
vector from another model counts as missing."""

from __future__ import annotations

from typing import NamedTuple

from curator.models import now_iso
from curator.store.predicates import ACCEPTED, ACTIVE, CURRENT_SEED, EVAL, TRAINABLE_SEED

# What the meaning gates compare: candidates, seeds and the private eval set.
_EMBEDDABLE = f"(({ACTIVE}) OR ({CURRENT_SEED}) OR ({EVAL}))"
_MISSING = "NOT EXISTS (SELECT 1 FROM embeddings v WHERE v.example_id = examples.id AND v.model = ?)"


class PoolVector(NamedTuple):
    """An embedded example of the meaning gates' pool."""

    id: int
    kind: str
    state: str
    family: str
    numbers: str  # the numbers of its ask (`meaning.texts.number_signature`)
    whole: bytes  # its vector (ask + answer), float16


class EmbeddingQueries:
    def unembedded(self, model: str, limit: int) -> list[tuple[int, str, int | None, int]]:
        """(id, messages JSON, passage id, is an eval item) of up to `limit` examples with no vector
        from `model`: eval items first (decontamination needs them all), then the oldest."""
        return self.conn.execute(
            f"SELECT id, messages, passage_id, ({EVAL}) FROM examples WHERE {_EMBEDDABLE} AND {_MISSING} "
            f"ORDER BY ({EVAL}) DESC, id LIMIT ?", (model, limit)).fetchall()

    def unembedded_ids(self, model: str, limit: int | None = None) -> list[int]:
        """Ids of up to `limit` (default: all) examples with no vector from `model`, in the order
        `unembedded` gives them: one pass over the examples, however many batches embed them."""
        return [r[0] for r in self.conn.execute(
            f"SELECT id FROM examples WHERE {_EMBEDDABLE} AND {_MISSING} ORDER BY ({EVAL}) DESC, id LIMIT ?",
            (model, -1 if limit is None else limit))]

    def unembedded_of(self, model: str, ids: list[int]) -> list[tuple[int, str, int | None, int]]:
        """(id, messages JSON, passage id, is an eval item) of those of `ids` with no vector from `model`."""
        return sorted(self.rows_in(f"SELECT id, messages, passage_id, ({EVAL}) FROM examples "
                                   f"WHERE {_MISSING} AND id IN ({{in}})", ids, (model,)))

    def eval_ids(self) -> list[int]:
        """Every private eval item, every version."""
        return [r[0] for r in self.conn.execute(f"SELECT id FROM examples WHERE {EVAL} ORDER BY id")]

    def count_unembedded(self, model: str) -> tuple[int, int]:
        """(examples without a vector from `model`, examples to embed in all)."""
        missing, total = self.conn.execute(
            f"SELECT SUM({_MISSING}), COUNT(*) FROM examples WHERE {_EMBEDDABLE}", (model,)).fetchone()
        return missing or 0, total

    def count_unembedded_exportable(self, model: str) -> int:
        """How many rows an export may hold (accepted candidates and revisions, current few-shot and polish
        seeds) have no vector from `model`: an export counts them before it builds its mix."""
        return self.conn.execute(f"SELECT count(*) FROM examples WHERE (({ACCEPTED}) OR ({TRAINABLE_SEED})) "
                                 f"AND {_MISSING}", (model,)).fetchone()[0]

    def embedding_mark(self, model: str) -> str:
        """Where the vectors of `model` stand (how many, and which): changes when any is added."""
        count, total = self.conn.execute("SELECT count(*), coalesce(sum(example_id), 0) FROM embeddings "
                                         "WHERE model = ?", (model,)).fetchone()
        return f"{count}:{total}"

    def put_embeddings(self, model: str, rows: list[tuple[int, bytes | None, bytes, str]]) -> None:
        """Store (example id, ask vector or None, whole vector, numbers) rows in one transaction."""
        stamp = now_iso()
        with self.transaction():
            self.conn.executemany(
                "INSERT OR REPLACE INTO embeddings (example_id, model, ask, whole, numbers, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)", [(i, model, a, w, n, stamp) for i, a, w, n in rows])

    def meaning_pool(self, model: str) -> list[PoolVector]:
        """Embedded active candidates and current non-eval seeds: what semantic dedup compares and (less
        the seeds) decontamination checks."""
        return [PoolVector._make(r) for r in self.conn.execute(
            "SELECT e.id, e.kind, e.state, e.family, v.numbers, v.whole FROM examples e "
            "JOIN embeddings v ON v.example_id = e.id AND v.model = ? "
            f"WHERE (({ACTIVE}) OR ({CURRENT_SEED} AND role != 'eval')) ORDER BY e.id", (model,))]

    def eval_embeddings(self, model: str) -> list[tuple[int, str, bytes, bytes]]:  # (id, numbers, ask, whole)
        """(id, numbers, ask, whole) of every embedded private eval item."""
        return self.conn.execute(
            "SELECT e.id, v.numbers, v.ask, v.whole FROM examples e "
            f"JOIN embeddings v ON v.example_id = e.id AND v.model = ? WHERE {EVAL} ORDER BY e.id",
            (model,)).fetchall()

    def embeddings_of(self, model: str, ids: list[int]) -> dict[int, tuple[str, bytes]]:
        """{id: (numbers, whole)} for those of `ids` embedded by `model`."""
        return {row[0]: row[1:] for row in self.rows_in(
            "SELECT example_id, numbers, whole FROM embeddings WHERE model = ? AND example_id IN ({in})", ids, (model,))}
