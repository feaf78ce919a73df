"""Counts for `curator stats` and the dashboard (one function feeds both: services.stats), the rows
coverage counts, and the rows an export reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from curator import trainable
from curator.store.base import JSON_FIELDS
from curator.store.examples import FACT_COLUMNS
from curator.store.predicates import ACCEPTED, CURRENT_SEED, DECIDABLE, EVAL, TRAINABLE_SEED, VISIBLE_PASSAGE

# What coverage counts: accepted candidates and revisions and the trainable seeds, current versions only.
COUNTED = f"(({ACCEPTED}) OR ({TRAINABLE_SEED}))"
COVERAGE_COLUMNS = ("id", "kind", "role", "family", "task_type", "difficulty", "topic", "source_type", "metadata")
EXPORT_COLUMNS = ("id", "uid", "lineage", "version", "superseded_by", "kind", "role", "family", "task_type",
                  "difficulty", "topic", "source_type", "passage_id", "messages", "tools", "answer", "metadata",
                  "model", "template_hash", "job_id", "parent_id", "state", "gate_status")
# The rows an export reads, by part: every candidate and revision (each is logged), every seed version,
# and the private eval set (imported items and eval seeds, every version: the leak check's reference).
# "mixable": the considered rows the mix looks at (accepted, or replaced by a revision: the log names it);
# "unmixable": the other considered rows (only the curation log reads them).
EXPORT_PARTS = {"considered": "kind IN ('candidate', 'revision')", "seeds": "kind = 'seed'", "eval": EVAL,
                "mixable": "kind IN ('candidate', 'revision') AND (state = 'accepted' OR superseded_by IS NOT NULL)",
                "unmixable": "kind IN ('candidate', 'revision') AND NOT (state = 'accepted' OR superseded_by IS NOT NULL)"}

# What the curation log reads of a row (`export_rows(..., for_log=True)`).
LOG_COLUMNS = ("id", "uid", "kind", "role", "family", "task_type", "state", "source_type", "messages", "tools", "model",
               "job_id", "parent_id", "lineage", "version", "superseded_by")

TABLES = ("sources", "passages", "examples", "gate_verdicts", "decisions", "jobs", "exports")


class StatsQueries:
    def count(self, table: str, where: str | None = None, params: list[Any] | tuple = ()) -> int:
        """Rows of a table (a predicate from `predicates`, or a test's own)."""
        sql = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
        return self.conn.execute(sql, list(params)).fetchone()[0]

    def has_exportable(self) -> bool:
        """Whether an export has anything to train on: an accepted candidate or revision, or a current
        few-shot or polish seed."""
        return bool(self.conn.execute(
            f"SELECT EXISTS (SELECT 1 FROM examples WHERE {COUNTED})").fetchone()[0])

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
            "accepted by family": self.group_counts("examples", "family", ACCEPTED),
        }

    # -- coverage ---------------------------------------------------------------------------------

    def counted_ids(self) -> set[int]:
        """Ids of every example coverage counts."""
        return {r[0] for r in self.conn.execute(f"SELECT id FROM examples WHERE {COUNTED}")}

    def counted_row(self, example_id: int) -> dict[str, Any] | None:
        """One example's coverage fields (metadata decoded), or None when coverage does not count it."""
        rows = list(self._coverage_rows(f"id = ? AND {COUNTED}", (example_id,)))
        return rows[0] if rows else None

    def coverage_fields(self, example_id: int) -> dict[str, Any]:
        """One example's coverage fields, counted or not (KeyError if there is no such example)."""
        rows = list(self._coverage_rows("id = ?", (example_id,)))
        if not rows:
            raise KeyError(example_id)
        return rows[0]

    def counted_rows(self) -> Iterator[dict[str, Any]]:
        """The coverage fields of every counted example (metadata decoded)."""
        return self._coverage_rows(COUNTED, ())

    def counted_groups(self) -> list[tuple[dict[str, Any], int]]:
        """Counted examples grouped by kind, role, family, task type, difficulty, topic and source type
        (metadata left out): one grouped query for a full recount."""
        names = COVERAGE_COLUMNS[1:-1]
        sql = (f"SELECT {', '.join(names)}, count(*) FROM examples WHERE {COUNTED} "
               f"GROUP BY {', '.join(str(i + 1) for i in range(len(names)))}")
        return [({**dict(zip(names, r[:-1])), "metadata": {}}, r[-1]) for r in self.conn.execute(sql)]

    def _coverage_rows(self, where: str, params: tuple) -> Iterator[dict[str, Any]]:
        for values in self.conn.execute(f"SELECT {', '.join(COVERAGE_COLUMNS)} FROM examples WHERE {where}", params):
            row = dict(zip(COVERAGE_COLUMNS, values))
            row["metadata"] = orjson.loads(row["metadata"]) if row["metadata"] else {}
            yield row

    # -- export -----------------------------------------------------------------------------------

    def export_rows(self, part: str, *, for_log: bool = False, light: bool = False, ids: list[int] | None = None
                    ) -> Iterator[dict[str, Any]]:
        """Rows of one part of an export (`considered`, `mixable`, `unmixable`, `seeds` or `eval`, see
        EXPORT_PARTS) in id order, as plain dicts with JSON decoded (no per-row validation: exports read
        100k+ rows), streamed from a cursor. A row whose facts the store kept under the current rules has
        them as `kept` (`trainable.Facts`) and `untrainable` (what `policy.exclusion_reason` reads).
        `for_log`: only what the curation log reads (LOG_COLUMNS), and the messages left out (None) of an
        accepted or replaced candidate and of a row with kept facts (the log needs them only for the
        evidence of a duplicate, read then). `light`: without `messages` and `tools` (None).
        `ids` (ascending): only those rows."""
        rules = trainable.RULES
        if light:
            columns = EXPORT_COLUMNS
            selected = ", ".join("NULL" if c in ("messages", "tools") else c for c in columns)
        elif for_log:
            columns = LOG_COLUMNS
            selected = ", ".join(f"CASE WHEN {EXPORT_PARTS['mixable']} OR facts_rules = '{rules}' THEN NULL "
                                 "ELSE messages END" if c == "messages" else c for c in columns)
        else:
            columns, selected = EXPORT_COLUMNS, ", ".join(EXPORT_COLUMNS)
        n = len(columns)
        sql = f"SELECT {selected}, {', '.join(FACT_COLUMNS)} FROM examples WHERE {EXPORT_PARTS[part]}"
        if ids is None:
            cursor = self.conn.execute(f"{sql} ORDER BY id")
            chunks = iter(lambda: cursor.fetchmany(2000), [])
        else:
            chunks = iter([sorted(self.rows_in(f"{sql} AND id IN ({{in}})", ids))])
        loads, made = orjson.loads, trainable.Facts._make
        for chunk in chunks:
            for values in chunk:
                data = dict(zip(columns, values))
                if values[-1] == rules:
                    kept = data["kept"] = made(values[n:n + 4])
                    data["untrainable"] = kept.untrainable
                if data["messages"] is not None or not (for_log or light):
                    data["messages"] = loads(data["messages"])
                data["tools"] = loads(data["tools"]) if data["tools"] else None
                if not for_log:
                    data["metadata"] = loads(data["metadata"]) if data["metadata"] else {}
                yield data

    def log_stamps(self, part: str) -> Iterator[tuple[int, str]]:
        """(id, stamp) of every row of one part of an export, in id order: the stamp changes whenever
        anything the curation log says of the row may change (its uid, state, role, replacement, current
        verdicts, decisions; the rest of a row is never rewritten), so a log entry made for one stamp
        holds for as long as the row keeps it. `export.curation_log.stamp` makes the same from a row read
        whole."""
        cursor = self.conn.execute(
            "SELECT e.id, coalesce(e.uid, '') || '|' || coalesce(e.state, '') || '|' || "
            "coalesce(e.superseded_by, '') || '|' || "
            "coalesce(e.role, '') || '|' || coalesce((SELECT group_concat(verdict_id) FROM (SELECT verdict_id "
            "FROM current_verdicts c WHERE c.example_id = e.id ORDER BY c.gate)), '') || '|' || "
            "(SELECT count(*) || ':' || coalesce(max(d.id), '') FROM decisions d WHERE d.example_id = e.id) "
            f"FROM examples e WHERE {EXPORT_PARTS[part]} ORDER BY e.id")
        while chunk := cursor.fetchmany(5000):
            yield from chunk

    def export_part_counts(self, part: str) -> tuple[int, int]:
        """(rows, accepted rows) of one part of an export."""
        total, accepted = self.conn.execute(
            f"SELECT count(*), coalesce(sum(state = 'accepted'), 0) FROM examples WHERE {EXPORT_PARTS[part]}").fetchone()
        return total, accepted

    def export_verdicts(self, part: str, *, details: tuple[str, ...] | None = None, ids: list[int] | None = None,
                        gates: tuple[str, ...] | None = None
                        ) -> Iterator[tuple[int, dict[str, dict[str, Any]], tuple[int, ...]]]:
        """(example id, gate -> its current verdict: verdict, score, reason, detail; the verdicts' ids in gate
        order) for every example of one part of an export that has a verdict, in id order, streamed (the
        curator's audits are not applied). Identical verdicts are one dict, shared by the rows that have
        them (an export reads 100k+ rows, most with the same few verdicts): read them, never change them.
        `details`: the gates whose detail is read (the others' is {}); default all. `ids` (ascending, of
        that part): only those examples. `gates`: only those gates' verdicts (default all)."""
        where = EXPORT_PARTS[part]
        detail = "v.detail" if details is None else \
            f"CASE WHEN c.gate IN ({', '.join(repr(g) for g in details)}) THEN v.detail ELSE '{{}}' END"
        sql = (f"SELECT c.example_id, c.gate, c.verdict, v.score, v.reason, {detail}, c.verdict_id "
               f"FROM current_verdicts c JOIN gate_verdicts v ON v.id = c.verdict_id ")
        # (`+`: each example's verdicts are walked once along the primary key and filtered, not searched
        # for gate by gate: most examples lack some of the gates asked for)
        only = "" if gates is None else f"AND +c.gate IN ({', '.join(repr(g) for g in gates)}) "
        if ids is None:  # (in the order of the primary key, example and then gate: no sort)
            cursor = self.conn.execute(f"{sql} WHERE c.example_id IN (SELECT id FROM examples WHERE {where}) "
                                       f"{only}ORDER BY c.example_id, c.gate")
            chunks = iter(lambda: cursor.fetchmany(5000), [])
        else:
            escaped = sql.replace("{", "{{").replace("}", "}}")  # (`rows_in` formats the statement)
            chunks = iter([sorted(self.rows_in(f"{escaped} WHERE c.example_id IN ({{in}}) {only}", ids),
                                  key=lambda r: (r[0], r[1]))])
        loads = orjson.loads
        shared: dict[tuple, dict[str, Any]] = {}
        current, found, verdict_ids = None, {}, []
        for chunk in chunks:
            for example_id, gate, verdict, score, reason, detail, verdict_id in chunk:
                if example_id != current:
                    if current is not None:
                        yield current, found, tuple(verdict_ids)
                    current, found, verdict_ids = example_id, {}, []
                # (equal scores are written alike: the REAL column gives a float or None, -0.0 as 0.0)
                key = (gate, verdict, score, reason, detail)
                v = shared.get(key)
                if v is None:
                    if len(shared) >= 50_000:  # (scores vary freely in some stores: bounded)
                        shared.clear()
                    v = shared[key] = {"verdict": verdict, "score": score, "reason": reason,
                                       "detail": {} if detail == "{}" else loads(detail)}
                found[gate] = v
                verdict_ids.append(verdict_id)
        if current is not None:
            yield current, found, tuple(verdict_ids)

    def export_decisions(self, example_ids: list[int]) -> dict[int, list[tuple[dict[str, Any], bool]]]:
        """{example id: its decisions in log order, each with whether it was undone} for those of
        `example_ids` with any (for the curation log, a chunk of rows at a time)."""
        columns = ("id", "example_id", "action", "note", "seconds", "undoes", "created_at", "reason", "bulk")
        found: dict[int, list[tuple[dict[str, Any], bool]]] = {}
        for values in sorted(self.rows_in(
                f"SELECT {', '.join('d.' + c for c in columns)}, EXISTS (SELECT 1 FROM decisions u WHERE "
                "u.undoes = d.id) FROM decisions d WHERE d.example_id IN ({in})", example_ids)):
            found.setdefault(values[1], []).append((dict(zip(columns, values[:-1])), bool(values[-1])))
        return found

    def export_messages(self, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        """{id: messages} of those of `ids` that exist (any kind)."""
        return {i: orjson.loads(m) for i, m in self.rows_in("SELECT id, messages FROM examples WHERE id IN ({in})", ids)}

    def record_export(self, version: str, path: str, counts_json: str, manifest_sha256: str, created_at: str) -> None:
        with self.transaction():
            self.conn.execute("INSERT OR IGNORE INTO exports (version, path, counts, manifest_sha256, created_at) "
                              "VALUES (?,?,?,?,?)", (version, path, counts_json, manifest_sha256, created_at))
