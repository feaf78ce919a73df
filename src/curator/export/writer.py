"""Writing a versioned export: `exports/<date>-<content hash>/`, atomically.

The mix is built and checked first (the leak check refuses any train or polish row that matches a
private eval item) from the rows it may hold: the accepted and replaced rows, read in one streamed pass.
Then the files go into a hidden temporary folder that is renamed into place once the version (the hash
of the data files) is known, so a failed or killed export leaves no partial version. Data files are
converted and written a chunk at a time; the curation log merges those rows with the other candidates
and the seeds, streamed from the store, with their decisions, a chunk at a time. The same state
exported twice gives byte-identical files (nothing in them depends on the clock). With the "parquet"
format every JSONL data file gets a Parquet twin built from the same rows (`curator.export.parquet`)."""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import json
import os
import shutil
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import chain
from datetime import date
from pathlib import Path
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from curator.batching import batched
from curator.errors import CuratorError
from curator.target_mix import CoverageMap, bar
from curator.export.formats import FORMATS, jsonl, trl, verified
from curator.export import curation_log, row_facts
from curator.export.curation_log import LogWriter
from curator.export.files import write_file
from curator.export.mix import MIX_GATES, Row, build_mix, load_rows, stream_rows, trainable
from curator.export.parquet import parquet_bytes, tools_column
from curator.gates.base import approx_chars_tokens
from curator.gates.decontam import DecontamSettings, Text, decontaminate, fingerprint, text_of
from curator.gates.scaffold import Scaffold
from curator.trainable import lengths
from curator.models import ExportRecord
from curator.store import Store
from curator.display.wording import counted

EXPORT_VERSION = "1"


class LeakError(CuratorError):
    """Rows that would leak private eval items into training; nothing was written."""

    def __init__(self, leaks: list[dict[str, Any]]) -> None:
        self.leaks = leaks
        listed = "; ".join(f"#{leak['id']} ({leak['file']}) matches eval {leak['eval_items']}" for leak in leaks[:20])
        super().__init__(f"{self.headline}: {listed}")

    @property
    def headline(self) -> str:
        """The refusal in one line ("export refused: 2 rows match private eval items")."""
        n = len(self.leaks)
        return f"export refused: {counted(n, 'row')} {'matches' if n == 1 else 'match'} private eval items"


@dataclass
class ExportResult:
    version: str
    path: Path
    counts: dict[str, int]
    reused: bool = False
    files: dict[str, str] = field(default_factory=dict)  # name -> sha256

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        return f"{'already exported' if self.reused else 'exported'} {self.version} to {self.path} ({counts})"


def leak_check(rows: dict[str, list[Row]], evals: list[Row], settings: DecontamSettings,
               scaffolds: dict[str, Scaffold] | None = None,
               passage: Callable[[int | None], str | None] = lambda _: None,
               messages_of: Callable[[list[int]], dict[int, list]] | None = None) -> list[dict[str, Any]]:
    """Every train or polish row that matches an eval item under the decontamination rules (each row judged
    with its family's scaffold, as the gate judges it; `passage(id)` gives a row's source passage;
    `messages_of(ids)` the messages of rows read without them).

    A row whose latest decontamination verdict passed against this very eval set (same items, same
    settings: the fingerprint) is already verified; every other row is checked here and now.
    """
    read: dict[int, list] = {}

    def _text(row: Row) -> Text:
        messages = row.messages if row.messages is not None else read[row.id]
        return text_of(row.id, messages, row.family, passage(row.data.get("passage_id")))

    eval_texts = [_text(e) for e in evals]
    current = fingerprint(eval_texts, settings)
    leaks = []
    for name, group in rows.items():
        unverified = [r for r in group if not (
            (r.verdicts.get("decontam") or {}).get("verdict") == "pass"
            and ((r.verdicts.get("decontam") or {}).get("detail") or {}).get("eval_set") == current)]
        if messages_of is not None:
            read.update(messages_of([r.id for r in unverified if r.messages is None]))
        verdicts = decontaminate([_text(r) for r in unverified], eval_texts, settings, scaffolds)
        for r in unverified:
            v = verdicts[r.id]
            if v.verdict == "fail":
                leaks.append({"id": r.id, "file": name, "eval_items": v.detail["eval_items"]})
    return leaks


def _lengths(values: list[int]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {"min": ordered[0], "p50": ordered[len(ordered) // 2], "p90": ordered[int(len(ordered) * 0.9)],
            "max": ordered[-1], "mean": round(statistics.fmean(ordered), 1)}


def _cells(rows: list[Row], cmap: CoverageMap, cells: dict[tuple, int] | None) -> dict[tuple, int]:
    """How many of `rows` each cell holds (`cells`, when the mix counted them already)."""
    if cells is not None:
        return cells
    counts: Counter = Counter()
    keys_of = cmap.remembered_keys()
    for r in rows:
        counts.update(keys_of(r.data))
    return counts


def stats(rows: list[Row], cmap: CoverageMap, cells: dict[tuple, int] | None = None,
          facts: dict[int, row_facts.Facts] | None = None) -> dict[str, Any]:
    """The mix's counts per cell (`cells`: already counted), sources and lengths (`facts`: those measured
    already, by row id)."""
    cells = _cells(rows, cmap, cells)
    per_dim: dict[str, dict[str, int]] = {}
    for (family, dim, value), n in cells.items():  # (each cell is one key and value: no two add up)
        per_dim.setdefault("family" if dim == "family" else f"{family}.{dim}", {})[value] = n
    prompt_chars, response_chars, turns = [], [], []
    for r in rows:
        f = facts.get(r.id) if facts is not None else None
        if f is None:
            f = r.data.get("kept")  # (what the store kept of the row's conversation)
        if f is not None:
            prompt_chars.append(f.prompt_chars)
            response_chars.append(f.response_chars)
            turns.append(f.turns)
            continue
        prompt, response = lengths(r.data["messages"])
        prompt_chars.append(prompt)
        response_chars.append(response)
        turns.append(len(r.data["messages"]))
    return {
        "rows": len(rows), "counts": per_dim,
        "source_types": _count(r.data["source_type"] for r in rows),
        "length": {"prompt_chars": _lengths(prompt_chars),
                   "prompt_tokens_approx": _lengths([approx_chars_tokens(n) for n in prompt_chars]),
                   "response_chars": _lengths(response_chars),
                   "response_tokens_approx": _lengths([approx_chars_tokens(n) for n in response_chars]),
                   "turns": _lengths(turns)},
    }


def _count(values) -> dict[str, int]:
    out: Counter = Counter()
    for v, n in Counter(values).items():
        out[str(v)] += n
    return dict(sorted(out.items()))


def reason_lines(reasons: dict[str, int]) -> list[str]:
    """Reject reasons as a Markdown table (reason code, rejected examples)."""
    if not reasons:
        return ["No rejected examples."]
    return ["| reject reason | rejected |", "|---|---:|"] + [
        f"| {reason or '(no reason)'} | {n} |" for reason, n in reasons.items()]


def coverage_report(rows: list[Row], cmap: CoverageMap, version: str, reject_reasons: dict[str, int],
                    cells: dict[tuple, int] | None = None) -> str:
    counts = _cells(rows, cmap, cells)
    lines = [f"# Coverage report: {version}", "", f"Thin means below {cmap.thin_share:.0%} of the target.", "",
             "| family | dimension | value | in the mix | target | share | |", "|---|---|---|---:|---:|---:|---|"]
    thin = []
    for key, target in cmap.targets.items():
        n = counts.get(key, 0)
        share = n / target if target else 1.0
        state = "full" if n >= target else "THIN" if share < cmap.thin_share else "ok"
        if state == "THIN":
            thin.append(key)
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {n} | {target} | {share:.0%} | `{bar(share, 12)}` {state} |")
    lines += ["", f"{len(thin)} thin cells."] + [f"- {f} / {d} = {v}" for f, d, v in thin]
    lines += ["", "## Why candidates were rejected", ""] + reason_lines(reject_reasons)
    return "\n".join(lines) + "\n"


def manifest(store: Store, files: dict[str, str], counts: dict[str, int], rows: list[Row], settings: dict[str, Any],
             formats: dict[str, Any] | None = None) -> str:
    """The version's manifest; `formats` describes the file formats written beside the JSONL (Parquet:
    how the tools column is stored, and each file's rows and sha256)."""
    data = [r.data for r in rows]
    passage_ids = sorted({d["passage_id"] for d in data if d["passage_id"] is not None})
    sources = store.source_paths(passage_ids)
    body = {
        "export_format_version": EXPORT_VERSION, "counts": counts, "files": files,
        "template_hashes": _count(d["template_hash"] for d in data if d["template_hash"]),
        "models": _count(d["model"] for d in data if d["model"]),
        "settings": settings,
        "lineage": {"passages": passage_ids, "source_files": sources,
                    "jobs": sorted({d["job_id"] for d in data if d["job_id"] is not None})},
    }
    steered = store.steering_runs(body["lineage"]["jobs"])
    if steered:  # which eval runs steered the generation of what this version holds (augment --from-eval)
        body["eval_runs"] = {str(run): sum(1 for d in data if steered.get(d["job_id"]) == run)
                             for run in sorted(set(steered.values()))}
    if formats:
        body["formats"] = formats
    return json.dumps(body, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


def _clean_stale(out_dir: Path) -> None:
    """Remove what exports whose process is gone (killed mid-export) left: their staging folders
    (`.tmp-PID-…`) and half-written rows' caches (`.rows.cache.PID`); an export running at the same
    time (the app's while a command's runs) keeps its own."""
    for stale in out_dir.glob(".tmp-*"):
        if not _alive(stale.name.split("-")[1]):
            shutil.rmtree(stale, ignore_errors=True)
    for partial, pid in row_facts.partials(out_dir):
        if not _alive(pid):
            with contextlib.suppress(OSError):  # (one it cannot remove is left, as a folder would be)
                partial.unlink(missing_ok=True)


def _alive(pid: str) -> bool:
    """Whether the process a leftover is named after runs on this machine (a reused pid keeps a dead
    export's leftover until a later export finds that process gone too; no pid: gone)."""
    try:
        number = int(pid)
    except ValueError:
        return False
    if number <= 0:
        return False  # (0 would ask after this process's group)
    if number == os.getpid():
        return True  # (this process's own exports remove theirs)
    try:
        os.kill(number, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # (another user's process)
    except (OverflowError, OSError):  # (no such pid can exist)
        return False
    return True


class _Staging:
    """A hidden folder beside the final one, named before the version is known; `commit(version)` renames
    it into place (atomic), anything else removes it. Files are fsynced before the rename, and the folder
    after it."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.tmp = out_dir / f".tmp-{os.getpid()}-{os.urandom(4).hex()}"
        self.hashes: dict[str, str] = {}
        self.content: Any = None  # a hash every file written is also fed to, while set (the version's)

    def __enter__(self) -> "_Staging":
        self.tmp.mkdir(parents=True)
        return self

    def write(self, name: str, chunks: Iterable[bytes]) -> None:
        """Write `chunks` to `name`, hashing them (and feeding them to `content`, if set)."""
        self.hashes[name] = write_file(self.tmp / name, chunks, self.content)

    def commit(self, version: str) -> Path:
        final = self.out_dir / version
        os.rename(self.tmp, final)  # the version appears whole or not at all
        fd = os.open(self.out_dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return final

    def __exit__(self, *exc: object) -> None:
        if self.tmp.exists():
            shutil.rmtree(self.tmp, ignore_errors=True)


def _chunked(rows: Iterable[dict[str, Any]], size: int = 5000) -> Iterator[bytes]:
    return (jsonl(batch) for batch in batched(rows, size))


def _trl_lines(rows: list[Row], convert: Callable[[Row], dict[str, Any] | None], facts: dict[int, row_facts.Facts],
               size: int = 5000) -> Iterator[bytes]:
    """TRL lines, `size` rows at a time: a row with `facts` from its line (`verified` added), any other
    converted (the same bytes: keys sorted, `verified` last)."""
    for start in range(0, len(rows), size):
        out = []
        for r in rows[start:start + size]:
            f = facts.get(r.id)
            if f is not None:
                out.append(f.line + (b"true}\n" if verified(r) else b"false}\n"))
            else:
                out.append(orjson.dumps(convert(r), option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE))
        yield b"".join(out)


MeaningCheck = Callable[[list[Row]], tuple[list[dict[str, Any]], str]]


class PhaseClock:
    """Seconds spent in each phase of an export, added up into `into` (None: nothing is timed);
    `benchmarks/export_bench.py` prints them."""

    def __init__(self, into: dict[str, float] | None = None) -> None:
        self.into, self.last = into, time.perf_counter()

    def mark(self, phase: str) -> None:
        """The time since the previous mark was spent in `phase`."""
        if self.into is not None:
            now = time.perf_counter()
            self.into[phase] = self.into.get(phase, 0.0) + now - self.last
            self.last = now


def write_export(store: Store, cmap: CoverageMap, *, out_dir: Path, seed: int, formats: tuple[str, ...],
                 today: date | None, decontam: DecontamSettings,
                 meaning_check: MeaningCheck | None = None, scaffolds: dict[str, Scaffold] | None = None,
                 clock: PhaseClock | None = None) -> ExportResult:
    """Build the mix, check it for leaks (each row with its family's scaffold), and write a new version
    folder (or find the identical one). `clock` times the phases."""
    clock = clock or PhaseClock()
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    _clean_stale(out_dir)
    considered, accepted = store.export_part_counts("considered")
    try:
        return _staged(store, cmap, out_dir, (considered, accepted), seed=seed, formats=formats, today=today,
                       decontam=decontam, meaning_check=meaning_check, scaffolds=scaffolds, clock=clock)
    except BaseException:
        if created:  # a refused or failed export leaves nothing behind, not even the folder it made
            for kept in (row_facts.NAME, curation_log.CACHE):  # (nor what it kept for the next export)
                (out_dir / kept).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                out_dir.rmdir()  # (only if empty)
        raise


def _staged(store: Store, cmap: CoverageMap, out_dir: Path, counts: tuple[int, int], **options: Any) -> ExportResult:
    considered, _ = counts
    with _Staging(out_dir) as staging:
        evals = load_rows(store, "eval")  # every version: the leak check's reference (no verdicts)
        # A large log is made by a second process from now on (the other core); a small one here, at the end.
        log = LogWriter(store, staging.tmp, evals, in_child=considered >= curation_log.IN_CHILD_FROM)
        try:
            return _write(store, cmap, staging, log, evals, counts=counts, **options)
        finally:
            log.cancel()


def _write(store: Store, cmap: CoverageMap, staging: _Staging, log: LogWriter, evals: list[Row],
           *, counts: tuple[int, int], seed: int, formats: tuple[str, ...], today: date | None,
           decontam: DecontamSettings, meaning_check: MeaningCheck | None, scaffolds: dict[str, Scaffold] | None,
           clock: PhaseClock) -> ExportResult:
    seeds = list(stream_rows(store, "seeds"))
    clock.mark("load rows")
    # Only the accepted and the replaced rows are held in memory; the curation log streams the others.
    # With the log made by the second process and no other format, they are read without their messages:
    # what the export needs of those is kept between exports (`row_facts`).
    known = row_facts.kept(store, staging.out_dir) if log.process is not None and not formats else None
    # (read whole when nothing is kept yet; only the verdicts this process reads when the log is not made here)
    mixable = list(stream_rows(store, "mixable", light=bool(known), gates=None if known is None else MIX_GATES))
    facts = row_facts.attach(store, mixable, "mixable", staging.out_dir, known) if known is not None else None
    pool, reasons = trainable(mixable, seeds)
    clock.mark("load rows")
    mix = build_mix(pool, cmap, seed=seed, reasons=reasons)
    del pool
    polish = [s for s in seeds if s.role == "polish" and s.superseded_by is None]
    for row in polish:
        mix.reasons[row.id] = "exported: polish.jsonl"
    clock.mark("mix")
    leaks = leak_check({"train": mix.selected, "polish": polish}, evals, decontam, scaffolds, store.passage_texts(),
                       store.export_messages)
    clock.mark("leak check (words)")
    meaning_note = "not checked"
    if meaning_check is not None:
        found, meaning_note = meaning_check(mix.selected + polish)
        train_ids, by_words = {r.id for r in mix.selected}, {leak["id"] for leak in leaks}
        leaks += [{**leak, "file": "train" if leak["id"] in train_ids else "polish"} for leak in found
                  if leak["id"] not in by_words]
        clock.mark("leak check (meaning)")
    if leaks:
        raise LeakError(leaks)
    private = [r for r in evals if r.superseded_by is None]
    # name -> (shape, rows, conversion): each file is converted and written a chunk at a time
    tables: dict[str, tuple[str, list[Row], Callable[[Row], dict[str, Any] | None]]] = {
        "train": ("trl", mix.selected, trl), "polish": ("trl", polish, trl), "eval_private": ("trl", private, trl)}
    for name in formats:
        if name == "parquet":
            continue
        if name not in FORMATS:
            raise ValueError(f"unknown format {name!r} (known: {', '.join([*FORMATS, 'parquet'])})")
        tables[f"train.{name}"] = (name, mix.selected, FORMATS[name])
    considered, accepted = counts
    counts_by_file = {"train": len(mix.selected), "polish": len(polish), "eval_private": len(private),
                      "considered": considered, "accepted": accepted}
    settings = {"seed": seed, "formats": sorted(formats), "thin_share": cmap.thin_share,
                "decontamination": {"ngram": decontam.ngram, "fuzzy_threshold": decontam.fuzzy_threshold,
                                    "word_threshold": decontam.word_threshold, "meaning": meaning_note}}
    out_dir = staging.out_dir
    digest, described = _write_rows(staging, tables, "parquet" in formats, facts)
    version = f"{(today or date.today()).isoformat()}-{digest}"
    clock.mark("messages files")
    def reused() -> ExportResult:  # (the same data files were exported before: that version stands)
        return ExportResult(version, out_dir / version, counts_by_file, reused=True, files=dict(staging.hashes))

    if (out_dir / version).exists():
        return reused()
    staging.write("stats.json", [(json.dumps(stats(mix.selected, cmap, mix.cells, facts), ensure_ascii=False, sort_keys=True,
                                             indent=1) + "\n").encode()])
    clock.mark("stats")
    staging.write("coverage_report.md", [coverage_report(mix.selected, cmap, version,
                                                         store.reject_reason_counts(), mix.cells).encode()])
    clock.mark("coverage report")
    # (made here: every candidate and revision in id order, the mixable ones already at hand, then the seeds)
    staging.hashes[curation_log.NAME] = log.finish(mix.reasons, chain(
        heapq.merge(mixable, stream_rows(store, "unmixable"), key=lambda r: r.data["id"]), stream_rows(store, "seeds")))
    clock.mark("curation log")
    files = dict(sorted(staging.hashes.items()))
    staging.write("manifest.json", [manifest(store, files, counts_by_file, mix.selected + polish, settings,
                                             described).encode()])
    clock.mark("manifest")
    try:
        path = staging.commit(version)
    except OSError:
        if (out_dir / version).is_dir():  # (another export of the same rows committed it meanwhile)
            return reused()
        raise
    record = ExportRecord(version=version, path=str(path), counts=counts_by_file,
                          manifest_sha256=staging.hashes["manifest.json"])
    store.record_export(record.version, record.path, json.dumps(counts_by_file), record.manifest_sha256,
                        record.created_at)
    clock.mark("commit")
    return ExportResult(version, path, counts_by_file, files=files)


def _write_rows(staging: _Staging, tables: dict[str, tuple[str, list[Row], Callable[[Row], dict[str, Any] | None]]],
                parquet: bool, facts: dict[int, row_facts.Facts] | None = None) -> tuple[str, dict[str, Any]]:
    """Write every data file (JSONL, and with `parquet` its Parquet twin) in name order; returns the
    version's content hash (of all of them, in that order) and the Parquet files' description. A TRL
    row read without its messages is written from its `facts` (its line but for `verified`)."""
    staging.content = combined = hashlib.sha256()
    names: dict[str, tuple[str, str]] = {f"{stem}.jsonl": (stem, "jsonl") for stem in tables}
    if parquet:
        names.update({f"{stem}.parquet": (stem, "parquet") for stem in tables})
    converted: dict[str, list[dict[str, Any]]] = {}
    tools = tools_column() if parquet else None
    described: dict[str, Any] = {}
    for name in sorted(names):
        stem, kind = names[name]
        shape, rows, convert = tables[stem]
        if parquet and stem not in converted:  # Parquet needs the whole table: converted once for both files
            converted[stem] = [c for c in map(convert, rows) if c is not None]
        if kind == "parquet":
            staging.write(name, [parquet_bytes(converted[stem], shape, tools)])
        elif shape == "trl" and facts is not None and stem not in converted:
            staging.write(name, _trl_lines(rows, convert, facts))
        else:
            staging.write(name, _chunked(converted[stem] if stem in converted
                                         else (c for c in map(convert, rows) if c is not None)))
    staging.content = None
    if parquet:
        described["parquet"] = {**tools.describe(), "files": {
            f"{stem}.parquet": {"rows": len(converted[stem]), "sha256": staging.hashes[f"{stem}.parquet"]}
            for stem in tables}}
    return combined.hexdigest()[:12], described
