"""The export's curation log: one JSON line per candidate, revision and seed (id order), with its gates'
verdicts, clusters, decontamination hits, the evidence of each duplicate or leak, its decisions, and
whether and why it was exported.

Only `exported` and `why` depend on the mix; everything else is known from the store alone. So each
entry is made in two parts that leave those two keys out (`parts`): the keys sorted before `exported`
(`head`) and those between it and `why` (`tail`), with the row's own reason (`fallback`: why it cannot
be exported, or its state) for a row the mix does not name. `lines` joins them once the mix's reasons
are known; the bytes are those of the whole entry dumped with sorted keys.

A large log is made in a second process (`LogWriter(..., in_child=True)`), started with the export, so
it runs on the other core while this one loads rows, builds the mix and writes the data files: the
child reads the store in one read transaction on its own connection and spools the parts to a file in
the staging folder, saying how far it has written every 8 MB (SAY_EVERY). Once its own work is done, the
export joins the spooled parts with the mix's reasons into the log as they come (`LogWriter.finish`),
while the child still spools: the join is off the child's path, the longer of the two. A small log is
made in this process, after the mix.

The spool is kept beside the versions for the next export (CACHE): each entry with its row's stamp
(`Store.log_stamps`, or `stamp` from a row read whole: whatever can change what the log says of the
row). The next large log copies the entry of every row whose stamp is unchanged and makes the others;
an entry that holds evidence (which also depends on the row matched) is never kept.
"""

from __future__ import annotations

import contextlib
import gc
import mmap
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from curator.batching import batched
from curator.errors import CuratorError
from curator.export.files import code_key, write_file
from curator.export.mix import Row, load_rows, stream_rows
from curator.gates.evidence import SET_LEVEL, matches, word_diff
from curator.policy import exclusion_reason
from curator.store import Store

NAME = "curation_log.jsonl"
# Logs of more rows than this are made in a second process (a test lowers it to run that path).
IN_CHILD_FROM = 20_000

_SORTED = orjson.OPT_SORT_KEYS
_NO_CLUSTER = orjson.Fragment(b'{"keeper":null,"size":null}')
_RECORD = struct.Struct("<qIIII")  # a spooled entry: id, then the lengths of stamp, head, tail and fallback


class _Fragments:
    """The parts of entries that repeat from row to row (the gates' verdicts), serialized once: orjson
    writes a Fragment as it is, so an entry's bytes are those of the plain dicts, keys sorted."""

    def __init__(self) -> None:
        self.gates: dict[tuple, orjson.Fragment] = {}

    def of_gates(self, verdicts: dict[str, dict]) -> orjson.Fragment:
        key = tuple([(g, v["verdict"], v["reason"], v["score"]) for g, v in verdicts.items()])
        found = self.gates.get(key)
        if found is None:
            if len(self.gates) > 100_000:  # (scores vary freely in some stores: keep the cache bounded)
                self.gates.clear()
            found = self.gates[key] = orjson.Fragment(orjson.dumps(
                {g: {"verdict": verdict, "reason": reason, "score": score} for g, verdict, reason, score in key},
                option=_SORTED))
        return found


def _said(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("content") or "" for m in messages if m.get("role") in ("user", "assistant"))


def _cluster(detail: dict, size: str) -> Any:
    keeper, n = detail.get("keeper"), detail.get(size)
    return _NO_CLUSTER if keeper is None and n is None else {"keeper": keeper, "size": n}


_SET_LEVEL = frozenset(SET_LEVEL)


def _any_set_level_failure(verdicts: dict[str, dict]) -> bool:
    for gate, v in verdicts.items():
        if gate in _SET_LEVEL and v.get("verdict") == "fail":
            return True
    return False


def parts(store: Store, rows: Iterable[Row], others: Iterable[Row] = (),
          chunk: int = 2000) -> Iterator[tuple[int, bytes, bytes, str]]:
    """(id, head, tail, fallback) for each of `rows` (streamed: `chunk` rows at a time, with their
    decisions and eval runs read for that chunk). The evidence of a duplicate or a leak names the matched
    item, the content they share and the word diff against it (an item of `others`, else read from the
    store)."""
    known = {r.id: r.messages for r in others}
    fragments = _Fragments()
    for batch in batched(rows, chunk):
        for example_id, head, tail, fallback, _ in _parts_of(store, batch, known, fragments):
            yield example_id, head, tail, fallback
        del batch  # (not alive while the next one is read: see `batched`)


def stamp(d: dict[str, Any], verdict_ids: tuple[int, ...], decisions: list[tuple[dict, bool]]) -> bytes:
    """A row's stamp (`Store.log_stamps`, the same text) from the row, its current verdicts' ids (in gate
    order) and its decisions."""
    ids = ",".join(map(str, verdict_ids))
    last = max(e["id"] for e, _ in decisions) if decisions else ""
    replaced = "" if d["superseded_by"] is None else d["superseded_by"]
    return (f"{d['uid'] or ''}|{d['state'] or ''}|{replaced}|{d['role'] or ''}|{ids}|{len(decisions)}:{last}"
            ).encode()


def _parts_of(store: Store, rows: list[Row], known: dict[int, list],
              fragments: _Fragments) -> Iterator[tuple[int, bytes, bytes, str, bytes]]:
    """`parts` of one chunk, each with its row's stamp, or b"" when the entry may not be kept for the next
    export (it holds the evidence of a duplicate or a leak, which also depends on the row it matched)."""
    decisions = store.export_decisions([r.data["id"] for r in rows])
    steered = store.steering_runs(sorted({r.data["job_id"] for r in rows if r.data.get("job_id") is not None}))
    found = {r.data["id"]: matches(r.verdicts) for r in rows if _any_set_level_failure(r.verdicts)}
    said = {**{r.data["id"]: r.messages for r in rows if r.messages is not None}, **known}
    # The messages the evidence compares: of each row found and of what it matched (read if not at hand).
    wanted = sorted({m["matched"] for ms in found.values() for m in ms if m["matched"] is not None} | set(found))
    for example_id, messages in store.export_messages([i for i in wanted if i not in said]).items():
        said[example_id] = messages
    empty: dict = {}
    dumps = orjson.dumps
    for r in rows:
        d, verdicts = r.data, r.verdicts
        example_id, state, job = d["id"], d["state"], d["job_id"]
        dedup = decontam = paraphrase = meaning_dedup = empty
        for gate, v in verdicts.items():  # (one look at each gate the row has)
            if gate in _SET_LEVEL:
                detail = v.get("detail") or empty
                if gate == "dedup":
                    dedup = detail
                elif gate == "decontam":
                    decontam = detail
                elif gate == "decontam_meaning":
                    paraphrase = detail
                else:
                    meaning_dedup = detail
        logged = [{"id": e["id"], "action": e["action"], "reason": e["reason"], "note": e["note"],
                   "seconds": e["seconds"], "undoes": e["undoes"], "undone": undone, "at": e["created_at"],
                   "bulk": e["bulk"]} for e, undone in decisions.get(example_id, ())]
        reject_reason = None
        if state == "rejected":
            rejects = [e for e in logged if e["action"] in ("accept", "reject") and not e["undone"]]
            if rejects and rejects[-1]["action"] == "reject":
                reject_reason = rejects[-1]["reason"]
        hits = decontam.get("hits", [])
        if paraphrase.get("eval_item") is not None:
            hits = hits + [{"eval_item": paraphrase["eval_item"], "score": paraphrase.get("score"), "how": "meaning",
                            "matched": paraphrase.get("matched")}]
        head = dumps({
            "decisions": logged,
            "decontamination_hits": hits,
            "dedup_cluster": _cluster(dedup, "cluster_size"),
            "eval_run": steered.get(job) if job is not None else None,  # the eval run whose failures made it
            "evidence": [{**m, "word_diff": word_diff(_said(said[example_id]), _said(said[m["matched"]]))
                          if m["matched"] in said and example_id in said else None}
                         for m in found.get(example_id, ())],
        }, option=_SORTED)
        tail = dumps({
            "id": example_id, "kind": d["kind"], "family": d["family"], "task_type": d["task_type"], "state": state,
            "source_type": d["source_type"], "parent_id": d["parent_id"], "model": d["model"], "job_id": job,
            "lineage": d["lineage"], "version": d["version"], "superseded_by": d["superseded_by"],
            "gates": fragments.of_gates(verdicts),
            "paraphrase_cluster": _cluster(meaning_dedup, "cluster_size"),
            "reject_reason": reject_reason,
        }, option=_SORTED)
        if d["kind"] != "seed" and (state == "accepted" or d["superseded_by"] is not None):
            fallback = f"not accepted (state {state})"  # (the mix names every accepted or replaced row)
        else:
            fallback = exclusion_reason(d, verdicts) or f"not accepted (state {state})"
        yield example_id, head, tail, fallback, b"" if example_id in found else \
            stamp(d, r.verdict_ids, decisions.get(example_id, ()))


def lines(entries: Iterable[tuple[int, bytes, bytes, str]], reasons: dict[int, str],
          size: int = 5000) -> Iterator[bytes]:
    """The log's lines, `size` at a time: each entry's parts joined with `exported` and `why` (the mix's
    reason for the row, else its own)."""
    dumps, get = orjson.dumps, reasons.get
    for batch in batched(entries, size):
        joined = []
        for example_id, head, tail, fallback in batch:
            why = get(example_id) or fallback
            joined.append(b"".join((head[:-1], b',"exported":true,' if why.startswith("exported")
                                    else b',"exported":false,', tail[1:-1], b',"why":', dumps(why), b"}\n")))
        yield b"".join(joined)


def logged_rows(store: Store) -> Iterator[Row]:
    """What the log covers, in its order: every candidate and revision in id order, then every seed."""
    return chain(stream_rows(store, "considered", for_log=True), stream_rows(store, "seeds", for_log=True))


def entries(store: Store, rows: Iterable[Row], reasons: dict[int, str], others: Iterable[Row] = ()) -> Iterator[dict]:
    """The log's entries as dicts (what its lines hold); `reasons`: the mix's, which name every accepted or
    replaced row."""
    for chunk in lines(parts(store, rows, others), reasons):
        yield from map(orjson.loads, chunk.splitlines())


class LogError(CuratorError):
    """The second process that makes the curation log failed: nothing was written."""


# The second process spools each entry with its row's stamp (`Store.log_stamps`); the spool is then kept
# beside the versions (CACHE), and the next export copies the entry of every row whose stamp is unchanged.
CACHE = ".curation_log.cache"
_WINDOW = 2000  # rows whose stamps are compared with the cache at a time


def _cache_key(store: Store) -> bytes:
    """What cached entries were made by: this format, the code that shapes an entry and the store's schema
    (a migration may rewrite rows)."""
    from curator import policy
    from curator import trainable
    from curator.gates import evidence
    from curator.store import stats

    return code_key(b"curation log cache 1", store.version,
                    (__file__, policy.__file__, evidence.__file__, trainable.__file__, stats.__file__))


def _record(example_id: int, stamp: bytes, head: bytes, tail: bytes, fallback: str) -> bytes:
    why = fallback.encode()
    return b"".join((_RECORD.pack(example_id, len(stamp), len(head), len(tail), len(why)), stamp, head, tail, why))


class _Previous:
    """The cache the last export left: each row's record, found by its id and stamp (an empty stamp
    never matches). A cache made by other code, damaged or missing is not used."""

    def __init__(self, path: Path, key: bytes) -> None:
        self.where: dict[int, tuple[bytes, int, int]] = {}  # id -> (stamp, start, end of the whole record)
        self.data: Any = b""
        try:
            with open(path, "rb") as fh:
                self.data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # (missing, or empty)
            return
        size, unpack, data, end = _RECORD.size, _RECORD.unpack_from, self.data, len(self.data)
        where, at = {}, 0
        while at + size <= end:
            example_id, n_stamp, n_head, n_tail, n_why = unpack(data, at)
            stop = at + size + n_stamp + n_head + n_tail + n_why
            if stop > end:
                return  # (damaged: nothing of it is used)
            stamp = data[at + size:at + size + n_stamp]
            if at == 0 and (example_id != -1 or stamp != key):
                return  # (made by other code)
            if n_stamp and at:
                where[example_id] = (stamp, at, stop)
            at = stop
        if at == end:
            self.where = where

    def __bool__(self) -> bool:
        return bool(self.where)

    def record(self, example_id: int, stamp: bytes) -> bytes | None:
        found = self.where.get(example_id)
        if found is None or found[0] != stamp:
            return None
        return self.data[found[1]:found[2]]

    def close(self) -> None:
        if isinstance(self.data, mmap.mmap):
            self.data.close()


def _records(store: Store, evals: list[Row], previous: _Previous) -> Iterator[bytes]:
    """The spool's records, in the log's order: each row's entry and stamp, copied from `previous` when
    its stamp is unchanged, else made (streamed with the stamps when there is no cache)."""
    known = {r.id: r.messages for r in evals}
    fragments = _Fragments()
    for part in ("considered", "seeds"):
        if not previous:
            for rows in batched(stream_rows(store, part, for_log=True), _WINDOW):
                for example_id, head, tail, fallback, stamped in _parts_of(store, rows, known, fragments):
                    yield _record(example_id, stamped, head, tail, fallback)
                del rows
            continue
        for window in batched(store.log_stamps(part), _WINDOW):
            ids = [example_id for example_id, _ in window]
            found = {example_id: previous.record(example_id, stamped.encode()) for example_id, stamped in window}
            del window
            missing = [example_id for example_id in ids if found[example_id] is None]
            if missing:
                rows = list(stream_rows(store, part, for_log=True, ids=missing))
                for example_id, head, tail, fallback, stamped in _parts_of(store, rows, known, fragments):
                    found[example_id] = _record(example_id, stamped, head, tail, fallback)
                del rows
            for example_id in ids:
                yield found[example_id]


SPOOL = ".curation_log.parts"  # (in the staging folder, while the child writes it)


# Spooled bytes between two words of progress from the second process (a few hundred words fill no pipe;
# a test lowers it to a word a record).
SAY_EVERY = 8 << 20


def _spool(records: Iterable[bytes], path: Path, key: bytes, say: Callable[..., None], every: int) -> int:
    """Write the spool, saying ("progress", bytes written) every `every` bytes or so (whole records,
    flushed, so the export can read that far); its size."""
    with open(path, "wb", buffering=1 << 20) as fh:
        written = fh.write(_record(-1, key, b"", b"", ""))
        told = 0
        for record in records:
            written += fh.write(record)
            if written - told >= every:
                fh.flush()
                say("progress", written)
                told = written
        fh.flush()
        return written


def _unspool(fh: BinaryIO, start: int, end: int) -> Iterator[tuple[int, bytes, bytes, str]]:
    """(id, head, tail, fallback) of the spooled records from byte `start` (a record's start) to `end`."""
    size, unpack, read = _RECORD.size, _RECORD.unpack_from, fh.read
    at = start
    while at < end:
        example_id, n_stamp, n_head, n_tail, n_why = unpack(read(size))
        read(n_stamp)
        head, tail, why = read(n_head), read(n_tail), read(n_why).decode()
        at += size + n_stamp + n_head + n_tail + n_why
        if example_id != -1:
            yield example_id, head, tail, why


def _child(db_path: str, folder: str, every: str) -> None:
    """The second process (`python -m curator.export.curation_log DB FOLDER SAY_EVERY`): spool the parts,
    saying how far every SAY_EVERY bytes and when it is done; then, once the export says it has read the
    spool, keep it for the next export and say "kept" (an export that stops kills it instead). It speaks
    pickles on its standard input and output; an error goes back the same way."""
    into, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # (nothing else may write to the export's pipe)
    gc.disable()  # (a short life making 200k+ entries that hold no cycles: the collector would rescan them)

    def say(*message: Any) -> None:
        pickle.dump(message, out)
        out.flush()

    spool = Path(folder) / SPOOL
    cache = Path(folder).parent / CACHE
    try:
        with Store(db_path, readonly=True, migrate=False, create=False, checked_by_parent=True) as store:
            key = _cache_key(store)
            previous = _Previous(cache, key)
            try:
                with store.snapshot():  # (the rows and their stamps as of one moment)
                    evals = load_rows(store, "eval")
                    size = _spool(_records(store, evals, previous), spool, key, say, int(every))
            finally:
                previous.close()
        say("spooled", size)
        if pickle.load(into):
            os.replace(spool, cache)  # (kept for the next export, before the export renames the folder into place)
        say("kept", None)
    except (EOFError, BrokenPipeError):  # the export is gone
        pass
    except Exception as exc:  # noqa: BLE001 - everything goes back to the export, which raises it
        say("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}")
    finally:
        spool.unlink(missing_ok=True)


class LogWriter:
    """Makes `curation_log.jsonl` in `folder`: started before the mix, finished with its reasons.
    `in_child`: in a second process (see the module; a new interpreter, never a fork: the app runs
    threads), else here when `finish` is called."""

    def __init__(self, store: Store, folder: Path, evals: list[Row], *, in_child: bool) -> None:
        self.store, self.folder, self.evals = store, folder, evals
        self.process: subprocess.Popen | None = None
        if in_child:
            self.errors = tempfile.TemporaryFile()  # what the process prints, shown if it fails
            self.process = subprocess.Popen(
                [sys.executable, "-m", "curator.export.curation_log", str(store.path), str(folder), str(SAY_EVERY)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors)

    def finish(self, reasons: dict[int, str], rows: Iterable[Row] | None = None) -> str:
        """Write the log with the mix's `reasons`; its sha256. LogError if the second process failed.
        `rows`: what the log covers, in its order, when it is made here (default: read from the store).
        With the second process, its spool is joined as far as it has written, then as it goes on."""
        if self.process is None:
            rows = logged_rows(self.store) if rows is None else rows
            return write_file(self.folder / NAME, lines(parts(self.store, rows, self.evals), reasons))
        try:
            digest = write_file(self.folder / NAME, lines(self._spooled(), reasons))
        except BaseException:
            (self.folder / NAME).unlink(missing_ok=True)  # (no half log, even in a folder that stays)
            raise
        try:
            pickle.dump(True, self.process.stdin)  # (read whole: keep it for the next export)
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # (what it said is read next)
        self._expect("kept")
        self.process.wait()
        return digest

    def _spooled(self) -> Iterator[tuple[int, bytes, bytes, str]]:
        """The second process's spooled entries, in order: read as far as it says it has written, until it
        says it is done."""
        fh: BinaryIO | None = None
        at = 0
        try:
            while True:
                kind, value = self._next()
                if kind not in ("progress", "spooled"):
                    raise LogError(f"the curation log's process said {kind!r} while spooling")
                if fh is None:  # (it exists once the process says how far it has written)
                    fh = open(self.folder / SPOOL, "rb", buffering=1 << 20)
                yield from _unspool(fh, at, value)
                at = value
                if kind == "spooled":
                    return
        finally:
            if fh is not None:
                fh.close()

    def _next(self) -> tuple[str, Any]:
        """What the second process says next; LogError if it failed or ended without a word."""
        try:
            kind, value = pickle.load(self.process.stdout)
        except (EOFError, pickle.UnpicklingError):
            code = self.process.wait()
            self.errors.seek(0)
            printed = self.errors.read().decode(errors="replace").strip()[-2000:]
            raise LogError(f"the curation log's process ended without a word (exit code {code}); nothing was "
                           f"written{': ' + printed if printed else ''}") from None
        if kind == "error":
            raise LogError(f"the curation log could not be made: {value}")
        return kind, value

    def _expect(self, what: str) -> Any:
        kind, value = self._next()
        if kind != what:
            raise LogError(f"the curation log's process said {kind!r} where {what!r} was expected")
        return value

    def cancel(self) -> None:
        """Stop the second process, if any (finished or not; the staging folder goes with the export)."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            for stream in (self.process.stdin, self.process.stdout, self.errors):
                with contextlib.suppress(OSError):  # (a pipe to a process gone may not flush)
                    stream.close()


if __name__ == "__main__":
    _child(*sys.argv[1:4])
