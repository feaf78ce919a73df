"""Counts for `curator stats` and the dashboard (one function feeds both: services.stats)."""

from __future__ import annotations

from typing import Any

from curator.store.base import JSON_FIELDS
from curator.store.predicates import CURRENT_SEED, DECIDABLE, VISIBLE_PASSAGE

TABLES = ("sources", "passages", "examples", "gate_verdicts", "decisions", "jobs", "exports")


class StatsQueries:
    def count(self, table: str, where: str | None = None, params: list[Any] | tuple = ()) -> int:
        """Rows of a table (a predicate from `predicates`, or a test's own)."""
        sql = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
        return self.conn.execute(sql, list(params)).fetchone()[0]

    def count_examples(self, *, kind: str | None = None) -> int:
        """Examples of every kind, or of one (candidate, revision, seed, eval_item)."""
        if kind is None:
            return self.count("examples")
        return self.count("examples", "kind = ?", [kind])

    def table_counts(self) -> dict[str, int]:
        return {name: self.count(name) for name in TABLES}

    def group_counts(self, table: str, column: str, where: str | None = None) -> dict[str, int]:
        """Counts by the values of `column` (a plain column, or a JSON list column such as tags)."""
        condition = f" WHERE {where}" if where else ""
        if column in JSON_FIELDS.get(table, ()):
            sql = f"SELECT j.value, count(*) FROM {table}, json_each({table}.{column}) j{condition} GROUP BY j.value"
        else:
            sql = f'SELECT coalesce("{column}", \'(none)\'), count(*) FROM {table}{condition} GROUP BY 1'
        return {str(k): v for k, v in self.conn.execute(sql).fetchall()}

    def pipeline_counts(self) -> dict[str, dict[str, int]]:
        """Every count `curator stats` prints and the dashboard shows."""
        return {
            "tables": self.table_counts(),
            "passage quality": self.group_counts("passages", "quality", VISIBLE_PASSAGE),
            "passage tags": self.group_counts("passages", "tags", VISIBLE_PASSAGE),
            "passage families": self.group_counts("passages", "families", VISIBLE_PASSAGE),
            "example kinds": self.group_counts("examples", "kind"),
            "seed roles": self.group_counts("examples", "role", CURRENT_SEED),
            "candidates by state": self.group_counts("examples", "state", DECIDABLE),
            "gate status": self.group_counts("examples", "gate_status", DECIDABLE),
            "accepted by family": self.group_counts("examples", "family", f"{DECIDABLE} AND state = 'accepted'"),
        }

    def record_export(self, version: str, path: str, counts_json: str, manifest_sha256: str, created_at: str) -> None:
        with self.transaction():
            self.conn.execute("INSERT OR IGNORE INTO exports (version, path, counts, manifest_sha256, created_at) "
                              "VALUES (?,?,?,?,?)", (version, path, counts_json, manifest_sha256, created_at))
