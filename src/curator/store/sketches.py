"""What the lexical set-level gates keep so that a run does only new work: each example's match keys,
LSH band keys and content units (computed once: examples never change; eval items are sketched too),
the keys of its heaviest content units under its family's scaffold, the duplicate cluster it is in
(its keeper's id), what its decontamination verdict was checked against, the families' scaffolds, the
curator's keeper choices (read from the decision log), and marks that say which decisions and verdicts
the last run had seen."""

from __future__ import annotations

import json

import numpy as np

from typing import NamedTuple

from curator.store.predicates import EVAL, SET_POOL

SKETCHED = f"({SET_POOL}) OR ({EVAL})"  # what gets a sketch: the set-level pool and the private eval items

class SketchText(NamedTuple):
    """What the content gates read of a sketched example."""

    id: int
    family: str
    key: str  # match key of the ask (without a pasted passage) and the answer
    question: str  # match key of the ask
    content: str  # its content units (`gates.content.Content`, JSON); "" when it has none


class ScaffoldRow(NamedTuple):
    """A family's scaffold as kept: how many items it was learned at, its units' document frequencies
    (JSON: [items sampled, {unit: count}]), its fingerprint, and the family's meaning threshold."""

    items: int
    df: str
    fingerprint: str
    meaning_items: int | None
    meaning_threshold: float | None


SET_LEVEL_GATES = ("dedup", "decontam", "dedup_meaning", "decontam_meaning")
CONTENT_KEYS = 8  # content keys per example (`gates.dedup.CONTENT_KEYS`)
_NOT_SET_LEVEL = f"gate NOT IN ({', '.join(repr(g) for g in SET_LEVEL_GATES)})"


def _integers(text: str) -> np.ndarray:
    """The integers of a `group_concat` (comma-separated), parsed in C."""
    return np.fromstring(text, dtype=np.int64, sep=",")


class SketchQueries:
    # -- sketches ------------------------------------------------------------------------------

    def unsketched(self, version: str, limit: int, after: int = 0) -> list[tuple[int, str, int | None]]:
        """(id, messages JSON, passage id) of up to `limit` examples of the set-level pool and the eval set
        after id `after` with no sketch of `version`, oldest first."""
        return self.conn.execute(
            f"SELECT id, messages, passage_id FROM examples WHERE id > ? AND ({SKETCHED}) AND NOT EXISTS "
            "(SELECT 1 FROM sketches s WHERE s.example_id = examples.id AND s.version = ?) ORDER BY id LIMIT ?",
            (after, version, limit)).fetchall()

    def unsketched_of(self, version: str, ids: list[int]) -> list[tuple[int, str, int | None]]:
        """(id, messages JSON, passage id) of those of `ids` in the pool or the eval set with no sketch of
        `version`."""
        return sorted(self.rows_in(
            f"SELECT id, messages, passage_id FROM examples WHERE ({SKETCHED}) AND NOT EXISTS (SELECT 1 FROM "
            "sketches s WHERE s.example_id = examples.id AND s.version = ?) AND id IN ({in})", ids, (version,)))

    def put_sketches(self, version: str, rows: list[tuple[int, str, str, int, bytes, str]]) -> None:
        """Store (id, key, question, key hash, band keys, content JSON) rows in one transaction; a sketch
        of another version is replaced (its cluster, eval set and content keys with it)."""
        with self.transaction():
            self.conn.executemany(
                "INSERT OR REPLACE INTO sketches (example_id, version, key, question, key_hash, bands) "
                "VALUES (?, ?, ?, ?, ?, ?)", [(i, version, k, q, h, b) for i, k, q, h, b, _ in rows])
            self.conn.executemany("INSERT OR REPLACE INTO contents (example_id, content) VALUES (?, ?)",
                                  [(i, c) for i, _, _, _, _, c in rows])

    def pool_sketches(self, version: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The sketched pool as arrays: ids, key hashes, clusters (0: alone), band keys (n x bands) and
        content keys (n x CONTENT_KEYS; 0 where there is none)."""
        # Two reads, each in one row, beat a join that visits every example's row and a row object per
        # sketch: the pool's ids (from their own index, `examples_pool`) and every sketch's arrays,
        # concatenated by SQLite (the aggregates read the rows in one order; NULL content keys are zeros).
        # The eval items' sketches are then left out.
        pool = self.conn.execute(f"SELECT group_concat(id) FROM examples WHERE {SET_POOL}").fetchone()[0]
        blank = 8 * CONTENT_KEYS
        ids, hashes, clusters, bands, content = self.conn.execute(
            "SELECT group_concat(example_id), group_concat(key_hash), group_concat(coalesce(cluster, 0)), "
            f"CAST(group_concat(bands, '') AS BLOB), CAST(group_concat(coalesce(content_keys, zeroblob({blank})), '') "
            "AS BLOB) FROM sketches WHERE version = ?", (version,)).fetchone()
        if not ids or not pool:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty, np.zeros((0, 0), dtype=np.uint64), np.zeros((0, CONTENT_KEYS), np.uint64)
        ids = _integers(ids)
        keep = np.isin(ids, _integers(pool))
        order = np.argsort(ids[keep], kind="stable")
        rows = np.flatnonzero(keep)[order]
        return (ids[rows], _integers(hashes)[rows], _integers(clusters)[rows],
                np.frombuffer(bands, dtype=np.uint64).reshape(len(ids), -1)[rows],
                np.frombuffer(content, dtype=np.uint64).reshape(len(ids), CONTENT_KEYS)[rows])

    def sketched_after(self, example_id: int) -> tuple[list[int], int]:
        """(ids of the sketches of examples after `example_id`, the last sketched example's id)."""
        ids = [r[0] for r in self.conn.execute("SELECT example_id FROM sketches WHERE example_id > ?", (example_id,))]
        last = self.conn.execute("SELECT coalesce(max(example_id), 0) FROM sketches").fetchone()[0]
        return ids, last

    def sketch_keys(self, ids: list[int]) -> dict[int, SketchText]:
        """The sketches of those of `ids` that have one."""
        return {r[0]: SketchText(r[0], r[4], r[1], r[2], r[3] or "") for r in self.rows_in(
            "SELECT s.example_id, s.key, s.question, c.content, e.family FROM sketches s JOIN examples e "
            "ON e.id = s.example_id LEFT JOIN contents c ON c.example_id = s.example_id "
            "WHERE s.example_id IN ({in})", ids)}

    def eval_sketches(self, version: str) -> list[SketchText]:
        """Every private eval item's sketch."""
        # (from the eval items' own index, `examples_eval`: CROSS JOIN keeps SQLite from scanning every sketch)
        return self._sketch_texts(self.conn.execute(
            "SELECT s.example_id, e.family, s.key, s.question, c.content FROM examples e CROSS JOIN sketches s "
            "ON s.example_id = e.id LEFT JOIN contents c ON c.example_id = s.example_id "
            f"WHERE s.version = ? AND {EVAL.replace('kind', 'e.kind').replace('role', 'e.role')} "
            "ORDER BY e.id", (version,)))

    @staticmethod
    def _sketch_texts(rows) -> list[SketchText]:
        return [SketchText(i, family, key, question, content or "") for i, family, key, question, content in rows]

    # -- scaffolds: what each family's items share ---------------------------------------------

    def family_sizes(self, version: str) -> dict[str, int]:
        """{family: sketched examples of the pool and the eval set}."""
        return dict(self.conn.execute(
            "SELECT e.family, count(*) FROM sketches s JOIN examples e ON e.id = s.example_id "
            f"WHERE s.version = ? AND (({SET_POOL}) OR ({EVAL})) GROUP BY e.family", (version,)).fetchall())

    def family_contents(self, version: str, family: str, every: int = 1) -> list[str]:
        """Content JSON of a family's sketched examples (every `every`-th by id) and all its eval items."""
        return [r[0] for r in self.conn.execute(
            "SELECT c.content FROM sketches s JOIN examples e ON e.id = s.example_id JOIN contents c "
            "ON c.example_id = s.example_id WHERE s.version = ? "
            f"AND e.family = ? AND ((({SET_POOL}) AND s.example_id % ? = 0) OR ({EVAL}))",
            (version, family, every))]

    def scaffolds(self, *, df: bool = True) -> dict[str, ScaffoldRow]:
        """{family: its scaffold as kept} (without its document frequencies, which may run to megabytes,
        unless `df`)."""
        return {r[0]: ScaffoldRow._make(r[1:]) for r in self.conn.execute(
            f"SELECT family, items, {'df' if df else chr(39) * 2}, fingerprint, meaning_items, meaning_threshold "
            "FROM scaffolds")}

    def put_scaffold(self, family: str, items: int, df: str, fingerprint: str) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT INTO scaffolds (family, items, df, fingerprint, learned_at) VALUES (?, ?, ?, ?, "
                "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')) ON CONFLICT(family) DO UPDATE SET items = excluded.items, "
                "df = excluded.df, fingerprint = excluded.fingerprint, learned_at = excluded.learned_at",
                (family, items, df, fingerprint))

    def set_meaning_threshold(self, family: str, items: int, threshold: float) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT INTO scaffolds (family, items, df, fingerprint, meaning_items, meaning_threshold, learned_at) "
                "VALUES (?, 0, '{}', '', ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')) ON CONFLICT(family) DO UPDATE "
                "SET meaning_items = excluded.meaning_items, meaning_threshold = excluded.meaning_threshold",
                (family, items, threshold))

    def unkeyed(self, version: str, family: str, epoch: str, limit: int, after: int = 0) -> list[tuple[int, str]]:
        """(id, content JSON) of up to `limit` pool sketches of a family after id `after` whose content
        keys were not made under the scaffold `epoch`."""
        return self.conn.execute(
            "SELECT s.example_id, c.content FROM sketches s JOIN examples e ON e.id = s.example_id JOIN contents c "
            f"ON c.example_id = s.example_id WHERE s.version = ? AND e.family = ? AND s.example_id > ? AND ({SET_POOL}) "
            "AND (s.keys_epoch IS NULL OR s.keys_epoch != ?) ORDER BY s.example_id LIMIT ?",
            (version, family, after, epoch, limit)).fetchall()

    def unkeyed_of(self, ids: list[int]) -> list[tuple[int, str, str, str | None]]:
        """(id, family, content JSON, keys epoch) of those of `ids` in the pool that have a sketch."""
        return sorted(self.rows_in(
            "SELECT s.example_id, e.family, c.content, s.keys_epoch FROM sketches s JOIN examples e "
            f"ON e.id = s.example_id JOIN contents c ON c.example_id = s.example_id WHERE ({SET_POOL}) "
            "AND s.example_id IN ({in})", ids))

    def family_counts_of(self, ids: list[int]) -> dict[str, int]:
        """{family: how many of `ids`}."""
        counts: dict[str, int] = {}
        for family, n in self.rows_in("SELECT family, count(*) FROM examples WHERE id IN ({in}) GROUP BY family", ids):
            counts[family] = counts.get(family, 0) + n
        return counts

    def put_content_keys(self, epoch: str, rows: list[tuple[int, bytes]]) -> None:
        """Set (id, content keys) made under the scaffold `epoch`, in one transaction."""
        with self.transaction():
            self.conn.executemany("UPDATE sketches SET content_keys = ?, keys_epoch = ? WHERE example_id = ?",
                                  [(keys, epoch, ex_id) for ex_id, keys in rows])

    def set_clusters(self, rows: list[tuple[int | None, int]]) -> None:
        """Set (cluster keeper id or None, example id) in one transaction."""
        with self.transaction():
            self.conn.executemany("UPDATE sketches SET cluster = ? WHERE example_id = ?", rows)

    def left_pool_clusters(self) -> list[tuple[int, int]]:
        """(id, cluster) of sketched examples in a duplicate cluster that left the pool (rejected, replaced
        by a revision, made an eval item): their clusters need another look."""
        return self.conn.execute(
            "SELECT s.example_id, s.cluster FROM sketches s JOIN examples e ON e.id = s.example_id "
            f"WHERE s.cluster IS NOT NULL AND NOT ({SET_POOL})").fetchall()

    def decontam_todo(self, checked: list[str], limit: int, after: int = 0) -> list[SketchText]:
        """Up to `limit` sketched pool candidates (not seeds) with id > `after` not checked against any of
        `checked` (each names a family, the eval set and that family's scaffold, so a candidate of another
        family never matches)."""
        # Through the index `sketches_eval_set`: the unchecked ones and those checked against another
        # value (the few values are found by seeks, not by scanning every sketch).
        stale = [v for v in self._eval_set_values() if v not in checked]
        where = "s.eval_set IS NULL" + (f" OR s.eval_set IN ({','.join('?' * len(stale))})" if stale else "")
        return self._sketch_texts(self.conn.execute(
            "SELECT s.example_id, e.family, s.key, s.question, c.content FROM sketches s JOIN examples e "
            "ON e.id = s.example_id LEFT JOIN contents c ON c.example_id = s.example_id "
            f"WHERE ({where}) AND s.example_id > ? AND e.kind != 'seed' AND ({SET_POOL}) "
            "ORDER BY s.example_id LIMIT ?", (*stale, after, limit)))

    def _eval_set_values(self) -> list[str]:
        """The distinct values of `sketches.eval_set`, one index seek each."""
        values: list[str] = []
        while (found := self.conn.execute("SELECT min(eval_set) FROM sketches WHERE eval_set > ?",
                                          (values[-1] if values else "",)).fetchone()[0]) is not None:
            values.append(found)
        return values

    def set_checked_eval_set(self, rows: list[tuple[str, int]]) -> None:
        """Set (what it was checked against, id) in one transaction."""
        with self.transaction():
            self.conn.executemany("UPDATE sketches SET eval_set = ? WHERE example_id = ?", rows)

    def failed_elsewhere(self, ids: list[int] | None = None) -> set[int]:
        """Examples (of `ids`, or all) failed by a gate that is not set-level: they give way to others
        in a duplicate cluster."""
        sql = f"SELECT DISTINCT example_id FROM current_verdicts WHERE verdict = 'fail' AND {_NOT_SET_LEVEL}"
        if ids is None:
            return {r[0] for r in self.conn.execute(sql)}
        return {r[0] for r in self.rows_in(sql + " AND example_id IN ({in})", ids)}

    def dedup_facts(self, ids: list[int]) -> dict[int, tuple[str, str, bool, float, str]]:
        """{id: (kind, state, failed by a gate that is not set-level, judge score, family)}: what decides a
        cluster's keeper (and the family's own threshold)."""
        rows = {r[0]: list(r[1:]) for r in self.rows_in("SELECT id, kind, state, family FROM examples "
                                                         "WHERE id IN ({in})", ids)}
        failed = self.failed_elsewhere(ids)
        judge = dict(self.rows_in("SELECT c.example_id, v.score FROM current_verdicts c JOIN gate_verdicts v "
                                  "ON v.id = c.verdict_id WHERE c.gate = 'judge' AND c.example_id IN ({in})", ids))
        return {i: (kind, state, i in failed, judge.get(i) or 0.0, family) for i, (kind, state, family) in rows.items()}

    def current_verdicts_of(self, gate: str, ids: list[int], keys: tuple[str, ...]) -> dict[int, dict]:
        """{id: {verdict, reason, detail: only `keys`}} of a gate's current verdicts for `ids`."""
        fields = ", ".join(f"json_extract(v.detail, '$.{k}')" for k in keys)
        return {ex_id: {"verdict": verdict, "reason": reason, "detail": dict(zip(keys, values))}
                for ex_id, verdict, reason, *values in self.rows_in(
                    f"SELECT c.example_id, v.verdict, v.reason, {fields} FROM current_verdicts c "
                    "JOIN gate_verdicts v ON v.id = c.verdict_id WHERE c.gate = ? AND c.example_id IN ({in})",
                    ids, (gate,))}

    # -- the curator's keepers: which of a duplicate cluster is kept -----------------------------

    def keeper_choices(self, ids: list[int] | None = None) -> dict[int, int]:
        """{id: its latest `keeper` decision's id} of the examples (of `ids`, or all) the curator made the
        keeper of their duplicates (`services.keeper`); a later choice outranks an earlier one."""
        sql = ("SELECT example_id, max(id) FROM decisions WHERE action = 'keeper' AND NOT EXISTS "
               "(SELECT 1 FROM decisions u WHERE u.undoes = decisions.id)")
        if ids is None:
            return dict(self.conn.execute(sql + " GROUP BY example_id").fetchall())
        return dict(self.rows_in(sql + " AND example_id IN ({in}) GROUP BY example_id", ids))

    def cluster_members(self, gate: str, keeper: int) -> dict[int, dict]:
        """{id: {verdict, reason, score, detail}} of the pool examples a dedup gate (`dedup`,
        `dedup_meaning`) fails naming `keeper`: the others of its duplicate cluster."""
        # (through `current_verdicts_gate`: only the gate's fails are looked at)
        rows = self.conn.execute(
            "SELECT c.example_id, v.verdict, v.reason, v.score, v.detail FROM current_verdicts c "
            "JOIN gate_verdicts v ON v.id = c.verdict_id JOIN examples e ON e.id = c.example_id "
            f"WHERE c.gate = ? AND c.verdict = 'fail' AND json_extract(v.detail, '$.keeper') = ? AND ({SET_POOL})",
            (gate, keeper)).fetchall()
        return {ex_id: {"verdict": verdict, "reason": reason, "score": score, "detail": json.loads(detail)}
                for ex_id, verdict, reason, score, detail in rows}

    # -- marks: what the last run had seen -----------------------------------------------------

    def gate_marks(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT name, value FROM gate_marks").fetchall())

    def set_gate_marks(self, marks: dict[str, str]) -> None:
        with self.transaction():
            self.conn.executemany("INSERT OR REPLACE INTO gate_marks (name, value) VALUES (?, ?)",
                                  [(k, str(v)) for k, v in marks.items()])

    def change_marks(self) -> dict[str, str]:
        """Where the logs stand now: the last decision, the last verdict, and the private eval set's
        rows (which only grow: a new version is a new row; a role change is a decision)."""
        decision = self.conn.execute("SELECT coalesce(max(id), 0) FROM decisions").fetchone()[0]
        verdict = self.conn.execute("SELECT coalesce(max(id), 0) FROM gate_verdicts").fetchone()[0]
        audit = self.conn.execute("SELECT coalesce(max(id), 0) FROM gate_audits").fetchone()[0]
        evals = self.conn.execute(f"SELECT count(*), coalesce(max(id), 0) FROM examples WHERE {EVAL}").fetchone()
        return {"decision": str(decision), "verdict": str(verdict), "audit": str(audit),
                "evals": f"{evals[0]}:{evals[1]}"}

    def changed_since(self, decision: int, verdict: int) -> set[int]:
        """Examples decided on, or given a verdict by a gate that is not set-level, after these marks."""
        # (no DISTINCT: it would make SQLite scan an index of every row instead of the new ones by id)
        found = {r[0] for r in self.conn.execute("SELECT example_id FROM decisions WHERE id > ?", (decision,))}
        found.update(r[0] for r in self.conn.execute(
            f"SELECT example_id FROM gate_verdicts WHERE id > ? AND {_NOT_SET_LEVEL}", (verdict,)))
        return found

    def verdicts_since(self, verdict: int, audit: int) -> list[int]:
        """Examples given any verdict or audit after these marks (their status may have changed)."""
        found = {r[0] for r in self.conn.execute("SELECT example_id FROM gate_verdicts WHERE id > ?", (verdict,))}
        found.update(r[0] for r in self.conn.execute("SELECT example_id FROM gate_audits WHERE id > ?", (audit,)))
        return sorted(found)
