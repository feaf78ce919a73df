"""Sources and passages. An import marks its source complete only at its end; until then its
passages are invisible, and an interrupted one is cleaned up by the next writer that opens the file."""

from __future__ import annotations

import json
import sqlite3
from array import array
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from curator.errors import CuratorError
from curator.models import Passage, Source, now_iso
from curator.store.base import StoreError, decode, encode, lease_owner, lease_until, owner_is_dead
from curator.store.predicates import VISIBLE_PASSAGE

SOURCE_LEASE_S = 120.0
_PASSAGE_COLUMNS = ("source_id", "source_path", "source_line", "start", "end", "text", "key_hash", "tags",
                    "quality", "rules", "families", "created_at")


class SourceBusy(CuratorError):
    """Another live process is importing this very file."""


def _lapsed(owner: str | None, expires: str | None) -> bool:
    """An import lease nobody holds any more: its owner is dead or it expired."""
    return owner_is_dead(owner) or (expires or "") < now_iso()


class CorpusQueries:
    # -- sources ------------------------------------------------------------------------------

    def begin_source(self, source: Source) -> int:
        """Register a file being imported (incomplete, leased by this store); returns its id.

        A file imported before is taken again (its passages are deduplicated, it stays visible); one
        left incomplete by a dead importer is taken over and its passages dropped first; one another
        live process is importing raises SourceBusy. The check and the claim are one transaction.
        """
        owner = getattr(self, "_owner", None) or lease_owner()
        self._owner = owner
        with self.transaction():
            row = self.conn.execute("SELECT id, complete, lease_owner, lease_expires FROM sources "
                                    "WHERE path = ? AND sha256 = ?", (source.path, source.sha256)).fetchone()
            if row is None:
                return self.conn.execute(
                    "INSERT INTO sources (path, sha256, size, passages_added, imported_at, complete, lease_owner, "
                    "lease_expires) VALUES (?,?,?,?,?,0,?,?)",
                    (source.path, source.sha256, source.size, 0, source.imported_at, owner,
                     lease_until(SOURCE_LEASE_S))).lastrowid
            source_id, complete, holder, expires = row
            if not complete and not _lapsed(holder, expires):
                raise SourceBusy(f"{source.path}: being imported by another process ({holder})")
            self.conn.execute("UPDATE sources SET imported_at = ?, lease_owner = ?, lease_expires = ?, "
                              "passages_added = CASE complete WHEN 0 THEN 0 ELSE passages_added END WHERE id = ?",
                              (source.imported_at, owner, lease_until(SOURCE_LEASE_S), source_id))
        if not complete:
            self._drop_source_passages(source_id, keep_source=True)
        return source_id

    def renew_source(self, source_id: int, added: int) -> None:
        """Count passages added so far and extend the lease (call once per committed batch)."""
        self.conn.execute("UPDATE sources SET passages_added = passages_added + ?, lease_expires = ? WHERE id = ?",
                          (added, lease_until(SOURCE_LEASE_S), source_id))

    def complete_source(self, source_id: int) -> None:
        """The import of this file ended: its passages become visible."""
        with self.transaction():
            self.conn.execute("UPDATE sources SET complete = 1, lease_owner = NULL, lease_expires = NULL "
                              "WHERE id = ?", (source_id,))

    def abandon_source(self, source_id: int) -> None:
        """An import that failed part-way. A new file's passages go (it can be imported again); a file
        imported whole before keeps its passages (a re-import adds nothing a reader could miss)."""
        with self.transaction():
            row = self.conn.execute("SELECT complete FROM sources WHERE id = ?", (source_id,)).fetchone()
            if row is not None and row[0]:
                self.conn.execute("UPDATE sources SET lease_owner = NULL, lease_expires = NULL WHERE id = ?",
                                  (source_id,))
                return
        self._drop_source_passages(source_id)

    def clean_incomplete_sources(self) -> int:
        """Remove what interrupted imports left (their importer is dead or its lease expired)."""
        rows = self.conn.execute("SELECT id, lease_owner, lease_expires FROM sources WHERE complete = 0").fetchall()
        cleaned = 0
        for source_id, owner, expires in rows:
            if _lapsed(owner, expires):
                self._drop_source_passages(source_id)
                cleaned += 1
        return cleaned

    def _drop_source_passages(self, source_id: int, batch: int = 5000, *, keep_source: bool = False) -> None:
        """Delete an incomplete source's passages in short transactions, then (unless kept) its row."""
        while True:  # short transactions, so the app never waits long on a cleanup
            with self.transaction():
                n = self.conn.execute(
                    "DELETE FROM passages WHERE id IN (SELECT id FROM passages WHERE source_id = ? "
                    "AND id NOT IN (SELECT passage_id FROM examples WHERE passage_id IS NOT NULL) "
                    "AND id NOT IN (SELECT passage_id FROM jobs WHERE passage_id IS NOT NULL) LIMIT ?)",
                    (source_id, batch)).rowcount
                if n == 0:
                    if not keep_source:
                        self.conn.execute("DELETE FROM sources WHERE id = ? AND complete = 0 AND NOT EXISTS "
                                          "(SELECT 1 FROM passages WHERE source_id = ?)", (source_id, source_id))
                    return

    def foreign_content(self, files: set[str]) -> tuple[int, int]:
        """(files imported whose sha256 is not among `files`, candidates imported from a file): what a
        project of its own holds and the sample project never does (`services.demo`)."""
        marks = ",".join("?" * len(files)) or "NULL"
        sources = self.conn.execute(f"SELECT count(*) FROM sources WHERE sha256 NOT IN ({marks})",
                                    sorted(files)).fetchone()[0]
        imported = self.conn.execute("SELECT count(*) FROM examples WHERE source_type = 'imported'").fetchone()[0]
        return sources, imported

    def source_paths(self, passage_ids: list[int]) -> list[dict[str, str]]:
        """The files (path, sha256) the given passages came from."""
        if not passage_ids:
            return []
        marks = ",".join("?" * len(passage_ids))
        return [{"path": p, "sha256": h} for p, h in self.conn.execute(
            f"SELECT DISTINCT s.path, s.sha256 FROM sources s JOIN passages p ON p.source_id = s.id "
            f"WHERE p.id IN ({marks}) ORDER BY s.path", passage_ids)]

    # -- passages -----------------------------------------------------------------------------

    def insert_passages(self, passages: Iterable[Passage]) -> int:
        """Insert passages, ignoring any whose match key is already stored; returns how many were added."""
        return self.insert_passage_rows(
            (p.source_id, p.source_path, p.source_line, p.start, p.end, p.text, p.key_hash,
             json.dumps(p.tags, ensure_ascii=False), p.quality, json.dumps(p.rules, ensure_ascii=False),
             json.dumps(p.families, ensure_ascii=False), p.created_at)
            for p in passages
        )

    def insert_passage_rows(self, rows: Iterable[tuple[Any, ...]]) -> int:
        """The bulk path of `insert_passages`: tuples in `_PASSAGE_COLUMNS` order, lists as JSON text; the
        text as str or as its UTF-8 bytes (stored as the same text: the import's workers send bytes)."""
        columns = ", ".join(f'"{c}"' for c in _PASSAGE_COLUMNS)
        values = ", ".join("CAST(? AS TEXT)" if c == "text" else "?" for c in _PASSAGE_COLUMNS)
        sql = f"INSERT OR IGNORE INTO passages ({columns}) VALUES ({values})"
        before = self.conn.total_changes
        with self.transaction():
            self.conn.executemany(sql, rows)
        return self.conn.total_changes - before

    def passage(self, passage_id: int) -> Passage:
        row = self.conn.execute("SELECT * FROM passages WHERE id = ?", (passage_id,))
        cols = [c[0] for c in row.description]
        values = row.fetchone()
        if values is None:
            raise KeyError(passage_id)
        return Passage(**decode("passages", dict(zip(cols, values))))

    def passage_texts(self) -> "Callable[[int | None], str | None]":
        """A lookup of passage texts by id that reads each passage once (None for no id, "" for a passage
        that is gone): what the gates take out of an ask that pasted it."""
        texts: dict[int, str] = {}

        def text(passage_id: int | None) -> str | None:
            if passage_id is None:
                return None
            if passage_id not in texts:
                row = self.conn.execute("SELECT text FROM passages WHERE id = ?", (passage_id,)).fetchone()
                texts[passage_id] = row[0] if row else ""
            return texts[passage_id]
        return text

    def passages(self, *, search: str | None = None, limit: int | None = None, offset: int = 0) -> list[Passage]:
        """Visible passages in id order, optionally those containing `search`."""
        where, params = self._passage_filter(search)
        sql = f"SELECT * FROM passages WHERE {where} ORDER BY id LIMIT ? OFFSET ?"
        cur = self.conn.execute(sql, [*params, -1 if limit is None else limit, offset])
        cols = [c[0] for c in cur.description]
        return [Passage(**decode("passages", dict(zip(cols, r)))) for r in cur]

    def visible_passage_ids(self, *, search: str | None = None) -> array:
        """The ids of the visible passages (those containing `search`), in id order, as a compact array
        (8 bytes an id): a list to scroll over without reading the passages."""
        where, params = self._passage_filter(search)
        ids = array("q")
        cur = self.conn.execute(f"SELECT id FROM passages WHERE {where} ORDER BY id", params)
        while chunk := cur.fetchmany(20_000):
            ids.extend(r[0] for r in chunk)
        return ids

    def missing_passages(self, ids: Sequence[int]) -> list[int]:
        """Those of `ids` that name no passage, in their order (any number of ids)."""
        found = {row[0] for row in self.rows_in("SELECT id FROM passages WHERE id IN ({in})", list(ids))}
        return [i for i in ids if i not in found]

    def passages_by_id(self, ids: Sequence[int]) -> dict[int, Passage]:
        """The passages with these ids, by id, in one read by primary key (meant for a screenful); an id
        with no passage is left out. StoreError if the file cannot be read."""
        if not ids:
            return {}
        try:
            cur = self.conn.execute(f"SELECT * FROM passages WHERE id IN ({','.join('?' * len(ids))})", list(ids))
            cols = [c[0] for c in cur.description]
            rows = cur.fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot read passages ({exc})") from exc
        passages = (Passage(**decode("passages", dict(zip(cols, r)))) for r in rows)
        return {p.id: p for p in passages}

    def count_passages(self, *, search: str | None = None) -> int:
        where, params = self._passage_filter(search)
        return self.conn.execute(f"SELECT count(*) FROM passages WHERE {where}", params).fetchone()[0]

    @staticmethod
    def _passage_filter(search: str | None) -> tuple[str, list[Any]]:
        if search:
            return f"{VISIBLE_PASSAGE} AND text LIKE ?", [f"%{search}%"]
        return VISIBLE_PASSAGE, []

    def passage_ids(self, *, family: str | None = None, limit: int | None = None) -> list[int]:
        """Visible passages not rejected, of one family (or all), in id order."""
        sql = f"SELECT id FROM passages WHERE {VISIBLE_PASSAGE}"
        params: list[Any] = []
        if family is not None:
            sql += " AND quality != 'reject' AND EXISTS (SELECT 1 FROM json_each(passages.families) WHERE value = ?)"
            params.append(family)
        sql += " ORDER BY id LIMIT ?"
        params.append(-1 if limit is None else limit)
        return [r[0] for r in self.conn.execute(sql, params)]

    def passage_tags(self) -> list[str]:
        return sorted(r[0] for r in self.conn.execute(
            f"SELECT DISTINCT t.value FROM passages, json_each(tags) t WHERE {VISIBLE_PASSAGE}"))

    def update_passage(self, passage_id: int, **fields: Any) -> None:
        with self.transaction():
            sets = encode("passages", fields)
            assignments = ", ".join('"' + k + '" = ?' for k in sets)
            self.conn.execute(f"UPDATE passages SET {assignments} WHERE id = ?", [*sets.values(), passage_id])
