"""The SQLite store: one file, WAL mode, foreign keys on, forward migrations.

One `Store` per thread (SQLite connections are not shared between threads). All writes go through
`transaction()`, so a batch either lands whole or not at all.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curator.models import Decision, Example, GateVerdict, Job, Passage, Source, now_iso
from curator.store.schema import LATEST_VERSION, MIGRATIONS

if TYPE_CHECKING:
    import sqlite_utils

SQLITE_MAGIC = b"SQLite format 3\x00"
PAGE_SIZE = 8192  # for new files (see Store.__init__)
_JSON_FIELDS = {
    "passages": ("tags", "rules", "families"),
    "examples": ("messages", "tools", "metadata"),
    "gate_verdicts": ("detail",),
    "jobs": ("params",),
    "exports": ("counts",),
}


class StoreError(Exception):
    """The database cannot be used as it is; the message says why and what to do."""


def _encode(table: str, row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for field in _JSON_FIELDS.get(table, ()):
        if field in out and out[field] is not None:
            out[field] = json.dumps(out[field], ensure_ascii=False, sort_keys=True)
    return out


def _decode(table: str, row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for field in _JSON_FIELDS.get(table, ()):
        if out.get(field) is not None:
            out[field] = json.loads(out[field])
    return out


class Store:
    """A curator database file."""

    def __init__(self, path: str | Path, *, migrate: bool = True) -> None:
        self.path = Path(path)
        _check_file(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=10)
            self.conn.execute("PRAGMA busy_timeout = 10000")
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            tables = self.conn.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot read the database ({exc}); the file was left untouched") from exc
        if version > LATEST_VERSION:
            self.conn.close()
            raise StoreError(
                f"{self.path}: written by a newer curator (schema {version}; this one knows up to "
                f"{LATEST_VERSION}). Upgrade curator to open it."
            )
        if version == 0 and tables:
            self.conn.close()
            raise StoreError(f"{self.path}: a SQLite file, but not a curator database; it was left untouched")
        if version == 0:
            # A new file. Passage and example rows run 1-3 KB: on 8 KB pages much less of each page
            # is left empty than on the default 4 KB (the file is ~11% smaller, bulk inserts faster).
            self.conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute("PRAGMA foreign_keys = ON")
        self.conn.execute("PRAGMA cache_size = -65536")  # 64 MB: bulk imports spill less
        if migrate:
            self.migrate()

    @cached_property
    def db(self) -> "sqlite_utils.Database":
        """The sqlite-utils view of the connection, for row-level reads and writes.

        Imported on first use: sqlite-utils imports pandas when it is installed (~0.15 s and ~80 MB),
        which a bulk import, that writes through the connection, does not need.
        """
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self, target: int = LATEST_VERSION) -> None:
        """Apply the forward migrations from the file's version up to `target`, each in one transaction."""
        for number in range(self.version + 1, target + 1):
            script = MIGRATIONS[number - 1]
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                for statement in _statements(script):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {number}")
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self.conn.execute("ROLLBACK")
                raise StoreError(f"{self.path}: migration to schema {number} failed: {exc}") from exc

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back whole on any exception."""
        if self.conn.in_transaction:
            yield self.conn
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- sources and passages -------------------------------------------------------------------

    def add_source(self, source: Source) -> int:
        row = source.model_dump(exclude={"id"})
        with self.transaction():
            self.conn.execute(
                "INSERT INTO sources (path, sha256, size, passages_added, imported_at) VALUES (?,?,?,?,?) "
                "ON CONFLICT (path, sha256) DO UPDATE SET imported_at = excluded.imported_at",
                (row["path"], row["sha256"], row["size"], row["passages_added"], row["imported_at"]),
            )
            return self.conn.execute(
                "SELECT id FROM sources WHERE path = ? AND sha256 = ?", (row["path"], row["sha256"])
            ).fetchone()[0]

    _PASSAGE_COLUMNS = ("source_id", "source_path", "source_line", "start", "end", "text", "key_hash", "tags",
                        "quality", "rules", "families", "created_at")

    def insert_passages(self, passages: Iterable[Passage]) -> int:
        """Insert passages, ignoring any whose match key is already stored; returns how many were added."""
        return self.insert_passage_rows(
            (p.source_id, p.source_path, p.source_line, p.start, p.end, p.text, p.key_hash,
             json.dumps(p.tags, ensure_ascii=False), p.quality, json.dumps(p.rules, ensure_ascii=False),
             json.dumps(p.families, ensure_ascii=False), p.created_at)
            for p in passages
        )

    def insert_passage_rows(self, rows: Iterable[tuple[Any, ...]]) -> int:
        """The bulk path of `insert_passages`: tuples in `_PASSAGE_COLUMNS` order, lists as JSON text."""
        columns = ", ".join(f'"{c}"' for c in self._PASSAGE_COLUMNS)
        sql = f"INSERT OR IGNORE INTO passages ({columns}) VALUES ({', '.join('?' * len(self._PASSAGE_COLUMNS))})"
        before = self.conn.total_changes
        with self.transaction():
            self.conn.executemany(sql, rows)
        return self.conn.total_changes - before

    def passage(self, passage_id: int) -> Passage:
        return Passage(**_decode("passages", self.db["passages"].get(passage_id)))

    def passages(self, where: str | None = None, params: Iterable[Any] = (), *, limit: int | None = None,
                 offset: int = 0) -> list[Passage]:
        rows = self.db["passages"].rows_where(where, list(params), order_by="id", limit=limit, offset=offset or None)
        return [Passage(**_decode("passages", r)) for r in rows]

    def update_passage(self, passage_id: int, **fields: Any) -> None:
        with self.transaction():
            self.db["passages"].update(passage_id, _encode("passages", fields))

    # -- examples, verdicts, decisions, jobs ----------------------------------------------------

    def add_example(self, example: Example, *, job_item: int | None = None, ignore_existing: bool = False) -> int | None:
        """Insert an example; with `ignore_existing`, a seed already stored (same match key) is skipped."""
        row = _encode("examples", example.model_dump(mode="json", exclude={"id"}, exclude_none=False))
        row["job_item"] = job_item
        columns = ", ".join(f'"{c}"' for c in row)
        verb = "INSERT OR IGNORE" if ignore_existing else "INSERT"
        with self.transaction():
            cur = self.conn.execute(
                f"{verb} INTO examples ({columns}) VALUES ({', '.join('?' * len(row))})", list(row.values())
            )
            return cur.lastrowid if cur.rowcount else None

    def example(self, example_id: int) -> Example:
        row = _decode("examples", self.db["examples"].get(example_id))
        row.pop("job_item", None)
        return Example(**row)

    def examples(self, where: str | None = None, params: Iterable[Any] = (), *, limit: int | None = None) -> list[Example]:
        out = []
        for row in self.db["examples"].rows_where(where, list(params), order_by="id", limit=limit):
            row = _decode("examples", row)
            row.pop("job_item", None)
            out.append(Example(**row))
        return out

    def add_verdict(self, verdict: GateVerdict) -> int:
        with self.transaction():
            return self.db["gate_verdicts"].insert(_encode("gate_verdicts", verdict.model_dump(exclude={"id"}))).last_pk

    def verdicts(self, example_id: int) -> list[GateVerdict]:
        rows = self.db["gate_verdicts"].rows_where("example_id = ?", [example_id], order_by="id")
        return [GateVerdict(**_decode("gate_verdicts", r)) for r in rows]

    def add_decision(self, decision: Decision) -> int:
        with self.transaction():
            return self.db["decisions"].insert(decision.model_dump(exclude={"id"})).last_pk

    def decisions(self, example_id: int | None = None) -> list[Decision]:
        where, params = ("example_id = ?", [example_id]) if example_id is not None else (None, [])
        return [Decision(**r) for r in self.db["decisions"].rows_where(where, params, order_by="id")]

    def add_job(self, job: Job) -> int | None:
        """Queue a job; a job whose idempotency key is already stored is not added again (returns None)."""
        row = _encode("jobs", job.model_dump(exclude={"id"}))
        columns = ", ".join(row)
        with self.transaction():
            cur = self.conn.execute(
                f"INSERT OR IGNORE INTO jobs ({columns}) VALUES ({', '.join('?' * len(row))})", list(row.values())
            )
            return cur.lastrowid if cur.rowcount else None

    def job(self, job_id: int) -> Job:
        return Job(**_decode("jobs", self.db["jobs"].get(job_id)))

    def jobs(self, where: str | None = None, params: Iterable[Any] = ()) -> list[Job]:
        return [Job(**_decode("jobs", r)) for r in self.db["jobs"].rows_where(where, list(params), order_by="id")]

    def update_job(self, job_id: int, **fields: Any) -> None:
        fields.setdefault("updated_at", now_iso())
        with self.transaction():
            self.db["jobs"].update(job_id, _encode("jobs", fields))

    # -- counts ----------------------------------------------------------------------------------

    def count(self, table: str, where: str | None = None, params: Iterable[Any] = ()) -> int:
        sql = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
        return self.conn.execute(sql, list(params)).fetchone()[0]

    def table_counts(self) -> dict[str, int]:
        names = ["sources", "passages", "examples", "gate_verdicts", "decisions", "jobs", "exports"]
        return {name: self.count(name) for name in names}

    def group_counts(self, table: str, column: str) -> dict[str, int]:
        """Counts by the values of `column` (a plain column, or a JSON list column such as tags)."""
        if column in _JSON_FIELDS.get(table, ()):
            sql = f"SELECT j.value, count(*) FROM {table}, json_each({table}.{column}) j GROUP BY j.value"
        else:
            sql = f'SELECT "{column}", count(*) FROM {table} GROUP BY "{column}"'
        return {str(k): v for k, v in self.conn.execute(sql).fetchall()}


def _check_file(path: Path) -> None:
    """Refuse a file that exists and is not SQLite, before SQLite can touch it."""
    if path.is_dir():
        raise StoreError(f"{path}: is a folder, not a database file")
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
        if head != SQLITE_MAGIC:
            raise StoreError(f"{path}: not a SQLite database (corrupt or another kind of file); it was left untouched")


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (migrations hold no semicolons inside literals)."""
    return [s.strip() for s in script.split(";") if s.strip()]
