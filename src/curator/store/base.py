"""The connection: opening a database file safely, short write transactions, JSON columns.

Rules this module keeps (see the README's concurrency contract):
- The file is never opened outside SQLite while this process may hold a connection to it: closing
  any descriptor on a database drops every POSIX lock the process holds on it, and another process
  would then delete the WAL a live connection still writes to. The header is read with plain file
  I/O only when no connection to the file is open in this process (a registry counts them).
- An existing file is checked (header, then `PRAGMA quick_check` on a read-only connection) before
  anything writes to it, so a damaged file is reported and left byte-identical. The check reads the
  whole file, so a process that checked it and then closed its last writing connection seals the
  state it leaves (`NAME.checked` beside it: inode, size, change and modification times of the file
  and its WAL); the next process skips the check while that state is unchanged. Anything that
  touches the file afterwards (another writer, a copy, a damaged disk write) changes its times, and
  the file is checked again.
- Read-only stores open the file with `mode=ro`: they never create, migrate or write.
- Writes are `BEGIN IMMEDIATE` transactions; a write that cannot get the lock within the busy
  timeout raises `StoreBusy` (a `StoreError`) for the caller to retry or report.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from curator.errors import CuratorError
from curator.store.schema import LATEST_VERSION, MIGRATIONS

SQLITE_MAGIC = b"SQLite format 3\x00"
PAGE_SIZE = 8192  # for new files (see Store.__init__)
BUSY_TIMEOUT_S = 10.0
# WAL pages between automatic checkpoints during a bulk write (SQLite's default is 1,000): ~80 MB.
BULK_CHECKPOINT_PAGES = 10_000
JSON_FIELDS = {
    "passages": ("tags", "rules", "families"),
    "examples": ("messages", "tools", "metadata"),
    "gate_verdicts": ("detail",),
    "jobs": ("params",),
    "exports": ("counts",),
    "job_attempts": ("detail",),
}

_open_lock = threading.Lock()
_open_count: dict[str, int] = {}  # real path -> connections this process holds on it
_checks: dict[str, "_Check"] = {}  # real path -> this process's quick_check of it (one per process)
_made: dict[str, list[Path]] = {}  # real path -> its -wal/-shm that were not there when this process opened it


class StoreError(CuratorError):
    """The database cannot be used as it is; the message says why and what to do."""


def no_database(path: Path) -> StoreError:
    """The error for a file that is not there where a project's database is expected."""
    return StoreError(f"{path}: no database here (import a corpus or run `curator demo` first)")


class StoreBusy(StoreError):
    """Another writer held the database longer than the busy timeout; nothing was written."""


def encode(table: str, row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for name in JSON_FIELDS.get(table, ()):
        if name in out and out[name] is not None:
            out[name] = json.dumps(out[name], ensure_ascii=False, sort_keys=True)
    return out


def decode(table: str, row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for name in JSON_FIELDS.get(table, ()):
        if out.get(name) is not None:
            out[name] = json.loads(out[name])
    return out


def new_uid() -> str:
    """A stable id for a row, independent of the SQLite rowid."""
    return uuid.uuid4().hex


# -- leases (jobs, imports): an owner and an expiry ----------------------------------------------

HOST = socket.gethostname()


def lease_owner() -> str:
    """`host:pid:token`: who holds a lease (the token tells two stores of one process apart)."""
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_until(seconds: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def owner_is_dead(owner: str | None) -> bool:
    """True only when the owner ran on this host and its process is gone (a lease it can't renew)."""
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != HOST or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:  # not a database file
            return fh.read().split(b") ", 1)[1][:1] == b"Z"
    except (OSError, IndexError):
        return False


def statements(script: str) -> list[str]:
    """Split a migration script into whole statements (a trigger body keeps its semicolons)."""
    out, current = [], ""
    for piece in script.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \n;"):
                out.append(current.strip())
            current = ""
    if current.strip(" \n;"):
        out.append(current.strip())
    return out


class StoreBase:
    """A curator database file and one connection to it (one `Store` per thread)."""

    def __init__(self, path: str | Path, *, migrate: bool = True, readonly: bool = False,
                 busy_timeout: float = BUSY_TIMEOUT_S, check_in_background: bool = False,
                 create: bool = True, checked_by_parent: bool = False) -> None:
        """`check_in_background`: the app's fast start. The file's quick_check runs in a thread, and
        every write of this store waits for it (so nothing writes to a damaged file); used only when
        opening needs no write of its own (the file is already in WAL mode at the current schema).
        `create=False`: the file must exist (a project already open: a file gone is an error, never
        a new empty database). `checked_by_parent` (a reader only): the process that started this one
        has the file open and checks it (the export's curation log process): no quick_check here, which
        would read the whole file again while the export waits."""
        self.path = Path(path)
        self.readonly = readonly
        self.busy_timeout = busy_timeout
        if self.path.is_dir():
            raise StoreError(f"{self.path}: is a folder, not a database file")
        if not create and not self.path.exists():
            raise StoreError(f"{self.path}: the database is gone (moved or deleted while the project was open); "
                             "nothing was written", hint="put the file back, or open another database")
        if readonly and not self.path.exists():
            raise no_database(self.path)
        self._key = os.path.realpath(self.path)
        self.conn: sqlite3.Connection | None = None
        self._check: _Check | None = None
        checked_elsewhere = False
        self._opened = False
        with _open_lock:
            if _open_count.get(self._key, 0) == 0:
                _check_header(self.path)  # plain file I/O is safe only while no connection is open here
                _made[self._key] = [p for p in _siblings(self.path) if not p.exists()]
            if self.path.exists() and self.path.stat().st_size > 0 and not (readonly and checked_by_parent):
                checked_elsewhere = self._key in _checks
                self._check = _checks.get(self._key) or _Check.start(self.path, self._key)
            self.conn = self._connect()
            _open_count[self._key] = _open_count.get(self._key, 0) + 1
        self._identity = _identity(self.path)
        try:
            # A reader in a process that already checks the file (the app's workers) does not wait:
            # it never writes. Everything else waits here, or (the app's own store) at its first write.
            background = (check_in_background and self._opens_without_writing()) or (readonly and checked_elsewhere)
            if self._check is not None and not background:
                self._check.result()
            self._prepare(migrate)
        except BaseException:
            self.close()
            raise
        self._opened = True

    def _opens_without_writing(self) -> bool:
        try:
            mode = self.conn.execute("PRAGMA journal_mode").fetchone()[0]
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError:
            return False
        return mode == "wal" and version == LATEST_VERSION

    def wait_checked(self) -> None:
        """Wait for the file's quick_check; raises StoreError if the file is damaged."""
        if self._check is not None:
            self._check.result()

    def _connect(self) -> sqlite3.Connection:
        if not self.readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        target = f"file:{quote(str(self.path.resolve()))}?mode={'ro' if self.readonly else 'rwc'}"
        try:
            conn = sqlite3.connect(target, uri=True, isolation_level=None, timeout=self.busy_timeout)
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot open the database ({exc}); the file was left untouched") from exc
        return conn

    def _prepare(self, migrate: bool) -> None:
        conn = self.conn
        assert conn is not None
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot read the database ({exc}); the file was left untouched") from exc
        if version > LATEST_VERSION:
            raise StoreError(
                f"{self.path}: written by a newer curator (schema {version}; this one knows up to "
                f"{LATEST_VERSION}). Upgrade curator to open it.")
        if version == 0 and tables:
            raise StoreError(f"{self.path}: a SQLite file, but not a curator database; it was left untouched")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA cache_size = -65536")  # 64 MB: bulk imports spill less
        if self.readonly:
            conn.execute("PRAGMA query_only = ON")
            if version == 0:  # (no table: an empty file, or an empty SQLite database)
                raise StoreError(f"{self.path}: empty, not a curator database yet (a writing command, say "
                                 "`curator import`, makes one there); it was left untouched")
            if version < LATEST_VERSION:
                raise StoreError(f"{self.path}: schema {version} is older than this curator's ({LATEST_VERSION}); "
                                 "run any writing command (say `curator import`) once to upgrade it")
            return
        if version == 0:
            # A new file. Passage and example rows run 1-3 KB: on 8 KB pages much less of each page
            # is left empty than on the default 4 KB (the file is ~11% smaller, bulk inserts faster).
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self._retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL"))
        conn.execute("PRAGMA synchronous = NORMAL")
        if migrate:
            self.migrate()

    def _retry_busy(self, fn):
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreBusy(f"{self.path}: the database is busy (another writer); try again") from exc
            raise

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self, target: int = LATEST_VERSION) -> None:
        """Apply the forward migrations from the file's version up to `target`, each in one transaction."""
        if self.version >= target:
            return
        with self.transaction():
            for number in range(self.version + 1, target + 1):
                try:
                    for statement in statements(MIGRATIONS[number - 1]):
                        self.conn.execute(statement)
                    self.conn.execute(f"PRAGMA user_version = {number}")
                except sqlite3.Error as exc:
                    raise StoreError(f"{self.path}: migration to schema {number} failed: {exc}") from exc

    def close(self) -> None:
        if self.conn is None:
            return
        with _open_lock:
            self.conn.close()  # SQLite keeps the file's descriptor open while another connection holds locks
            self.conn = None
            _open_count[self._key] = max(0, _open_count.get(self._key, 1) - 1)
            check = _checks.get(self._key)
            if _open_count[self._key] > 0 or check is None:
                return
            if check.failed():
                _unmake(_made.pop(self._key, []))  # a damaged file is left as it was found, nothing beside it
            elif self._opened and not self.readonly and check.passed():
                _seal(self.path)  # (a file refused at open, say of a newer schema, is not sealed)

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rows_in(self, sql: str, values: list, params: tuple = ()) -> Iterator[tuple]:
        """The rows of `sql` for every value of `values`, its `{in}` replaced by a list of placeholders
        900 at a time (SQLite's limit on variables); `params` come before them."""
        for start in range(0, len(values), 900):
            part = values[start:start + 900]
            yield from self.conn.execute(sql.format(**{"in": ",".join("?" * len(part))}), (*params, *part))

    @contextmanager
    def bulk_writes(self, pages: int = BULK_CHECKPOINT_PAGES) -> Iterator[None]:
        """A run of many short write transactions (an import): the WAL is copied back into the file
        every `pages` pages instead of every 1,000. A page many commits rewrite (the passages' key index:
        the keys are hashes, so each commit touches most of its pages) is then copied back once a
        checkpoint rather than about once a commit. Durability is unchanged: every commit lands in
        the WAL exactly as before, with the same `synchronous` setting; only checkpoints are rarer."""
        before = self.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        self.conn.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")
        try:
            yield
        finally:
            self.conn.execute(f"PRAGMA wal_autocheckpoint = {int(before)}")

    def change_mark(self) -> tuple[int, int]:
        """A value that changes whenever the file's data may have changed: another connection (this
        process's or another's) committed to it (PRAGMA data_version), or this one wrote (its total
        changes). Cheap: a way to know whether to read again."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0], self.conn.total_changes

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads that all see one state of the file (a read transaction: what commits meanwhile is not
        seen), e.g. the rows and their stamps the curation log reads in separate statements."""
        if self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back whole on any exception. Keep it short (≤ ~0.2 s)."""
        if self.conn.in_transaction:
            yield self.conn
            return
        if self._check is not None:
            self._check.result(self.busy_timeout)  # nothing writes to a file before its check has passed
        self._still_there()
        try:
            self._retry_busy(lambda: self.conn.execute("BEGIN IMMEDIATE"))
        except sqlite3.Error as exc:
            raise self.write_error(exc) from exc
        try:
            yield self.conn
        except BaseException as exc:
            self._rollback()
            if _refused(exc):
                raise self.write_error(exc) from exc
            raise  # (a constraint or a bad statement is the caller's to handle, or a bug)
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            error = self.write_error(exc)
            if type(error) is StoreError and isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                error = StoreBusy(f"{self.path}: could not commit ({exc}); nothing was written")
            raise error from exc

    def _still_there(self) -> None:
        """Refuse to write when the file this store opened is no longer at its path (deleted, moved or
        replaced): SQLite would write on into the unlinked file, and the work would be lost on close."""
        now = _identity(self.path)
        if now != self._identity:
            what = "gone (moved or deleted" if now is None else "replaced by another file ("
            raise StoreError(f"{self.path}: the database is {what} while it was open); nothing was written",
                             hint="put the file back, or open the database again")

    def _rollback(self) -> None:
        """Roll back what is open (a failed write may have ended the transaction already)."""
        if self.conn.in_transaction:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def write_error(self, exc: sqlite3.Error) -> StoreError:
        """A write SQLite refused, as an error naming the file and what to do; nothing was written."""
        text = str(exc)
        if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
            return StoreBusy(f"{self.path}: the database is busy (another writer); nothing was written",
                             hint="try again")
        if "readonly" in text or "read-only" in text:
            return StoreError(f"{self.path}: cannot write: the database is read-only ({text}); nothing was written",
                              hint="check the file's and its folder's permissions, and that the file was not "
                                   "moved or deleted while open")
        if "full" in text:
            return StoreError(f"{self.path}: cannot write: the disk is full ({text}); nothing was written",
                              hint="free some space and do it again")
        if "I/O" in text or "disk" in text:
            return StoreError(f"{self.path}: cannot write: disk I/O error ({text}); nothing was written",
                              hint="the disk may be full or the file gone; check it and do it again")
        return StoreError(f"{self.path}: cannot write: {text}; nothing was written")


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at `path`, or None if there is none (a stat: the file is not opened)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _refused(exc: BaseException) -> bool:
    """SQLite could not write the file (read-only, full, gone, damaged, busy), as opposed to a constraint
    or a statement that is wrong."""
    return isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError


def _check_header(path: Path) -> None:
    """Refuse a file that exists and is not SQLite, before SQLite can touch it."""
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
        if head != SQLITE_MAGIC:
            raise StoreError(f"{path}: not a SQLite database (corrupt or another kind of file); it was left untouched")


class _Check:
    """One quick_check of a file per process, run at once or in a thread; `result()` waits for it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done = threading.Event()
        self.error: StoreError | None = None

    @classmethod
    def start(cls, path: Path, key: str) -> "_Check":
        check = cls(path)
        _checks[key] = check
        threading.Thread(target=check.run, name=f"quick_check {path.name}", daemon=True).start()
        return check

    def passed(self) -> bool:
        return self.done.is_set() and self.error is None

    def failed(self) -> bool:
        return self.done.is_set() and self.error is not None

    def run(self) -> None:
        try:
            if not _sealed(self.path):
                _quick_check(self.path)
        except StoreError as exc:
            self.error = exc
        finally:
            self.done.set()

    def result(self, timeout: float | None = None) -> None:
        """Wait for the check (at most `timeout` seconds: then StoreBusy); StoreError if it failed."""
        if not self.done.wait(timeout):
            raise StoreBusy(f"{self.path}: the file is still being checked (PRAGMA quick_check: the whole file "
                            "is read once); nothing was written, try again in a moment")
        if self.error is not None:
            raise StoreError(str(self.error))


def _file_state(path: Path) -> list:
    """What any change to the file or its WAL changes: inode, size, change and modification times."""
    state = []
    for part in (path, Path(f"{path}-wal")):
        try:
            st = part.stat()
        except FileNotFoundError:
            state.append(None)
            continue
        empty_wal = part is not path and st.st_size == 0  # a reader may leave one: nothing in it to check
        state.append(None if empty_wal else [st.st_ino, st.st_size, st.st_ctime_ns, st.st_mtime_ns])
    return state


def _siblings(path: Path) -> list[Path]:
    """The files SQLite keeps beside a database in WAL mode."""
    return [Path(f"{path}-wal"), Path(f"{path}-shm")]


def _unmake(paths: list[Path]) -> None:
    """Remove the -wal/-shm this process's read-only connections made beside a damaged file (no
    connection to it is open here, and nothing writes a file that failed its check); a WAL with
    anything in it is kept."""
    for path in paths:
        try:
            if path.name.endswith("-wal") and path.stat().st_size > 0:
                continue
            path.unlink()
        except OSError:
            pass


def _seal_file(path: Path) -> Path:
    return path.with_name(path.name + ".checked")


def _seal(path: Path) -> None:
    """Record that the file, as it is now, was checked (written atomically; a failure only means the
    next process checks the file again)."""
    seal = _seal_file(path)
    tmp = seal.with_name(f"{seal.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps({"state": _file_state(path), "sealed_at": datetime.now(timezone.utc).isoformat()}))
        os.replace(tmp, seal)
    except OSError:
        tmp.unlink(missing_ok=True)


def _sealed(path: Path) -> bool:
    """The file is exactly as a process that had checked it left it."""
    try:
        state = json.loads(_seal_file(path).read_text()).get("state")
    except (OSError, ValueError, AttributeError):
        return False
    return state == _file_state(path)


def _quick_check(path: Path) -> None:
    """`PRAGMA quick_check` on a read-only connection: a damaged file is reported, never written."""
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: cannot open the database ({exc}); the file was left untouched") from exc
    try:
        rows = conn.execute("PRAGMA quick_check(5)").fetchall()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: the database is damaged ({exc}); the file was left untouched") from exc
    finally:
        conn.close()
    if rows != [("ok",)]:
        problems = "; ".join(r[0] for r in rows)
        raise StoreError(f"{path}: the database is damaged ({problems}); the file was left untouched")
