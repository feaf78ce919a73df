"""Exporting the dataset (`curator export`, the dashboard's E): a versioned, leak-checked folder."""

from __future__ import annotations

import gc
from datetime import date
from pathlib import Path
from typing import Any

from curator.config import MeaningSettings
from curator.errors import CuratorError
from curator.target_mix import CoverageMap
from curator.export.mix import Row
from curator.export.writer import ExportResult, LeakError, MeaningCheck, PhaseClock, write_export
from curator.gates import meaning
from curator.services.gating import meaning as gating_meaning
from curator.services.gating.lexical import load_scaffolds
from curator.gates.decontam import DecontamSettings
from curator.meaning.embedder import Embedder, EmbedderUnavailable, active_model_id, default_embedder
from curator.services.embed import embed_ids
from curator.progress import Progress
from curator.store import Store

__all__ = ["ExportResult", "LeakError", "NeedsEmbedding", "export_dataset"]


def export_dataset(store: Store, cmap: CoverageMap, *, out_dir: Path | None = None, seed: int = 0,
                   formats: tuple[str, ...] = (), today: date | None = None,
                   decontam: DecontamSettings = DecontamSettings(),
                   meaning_settings: MeaningSettings = MeaningSettings(),
                   embedder: Embedder | None = None, embed_limit: int = 0,
                   progress: Progress | None = None, timings: dict[str, float] | None = None) -> ExportResult:
    """Build the mix (one example per lineage, cells capped at their targets), refuse it if a row
    matches a private eval item by words or by meaning (LeakError, nothing written), and write a new
    version folder atomically (or find the identical one) under `out_dir`, by default `exports/`
    beside the database. `formats`: extra row formats (prompt_completion, alpaca) and "parquet" (a
    Parquet copy of every JSONL data file, described in the manifest). OSError when the folder
    cannot be written. The leak check by meaning embeds the rows it must check that have no vector yet, in
    batches with `progress`; more than `embed_limit` of them (0: no limit) stop it at once (NeedsEmbedding:
    run `curator embed` first). `timings`, when given, gets the seconds spent in each phase."""
    clock = PhaseClock(timings)
    if not store.has_exportable():
        raise NothingToExport(f"{store.path}: nothing to export yet: no accepted candidate and no few-shot or "
                              "polish seed (accept some in triage first); no version was written")
    out_dir = exports_dir(store.path, out_dir)
    if meaning_settings.enabled and embed_limit:  # stop at once, before the mix, when too many lack a vector
        model_id = embedder.model_id if embedder is not None else active_model_id()
        if model_id and (missing := store.count_unembedded_exportable(model_id)) > embed_limit:
            raise NeedsEmbedding(missing, embed_limit)
    scaffolds = load_scaffolds(store)
    clock.mark("scaffolds")
    check = (meaning_leak_check(store, meaning_settings, embedder, scaffolds, embed_limit=embed_limit,
                                progress=progress) if meaning_settings.enabled else None)
    # Millions of short-lived rows: the cyclic collector would rescan them over and over (they hold no cycles).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return write_export(store, cmap, out_dir=out_dir, seed=seed, formats=formats, today=today, decontam=decontam,
                            meaning_check=check, scaffolds=scaffolds, clock=clock)
    finally:
        if enabled:
            gc.enable()


class NothingToExport(CuratorError):
    """The project has no row to train on yet: no version is written (an empty one would be listed and
    compared as if it were a dataset)."""


class NeedsEmbedding(CuratorError):
    """More rows to embed than the export may embed itself: nothing was written."""

    def __init__(self, missing: int, limit: int) -> None:
        self.missing, self.limit = missing, limit
        super().__init__(f"export stopped: {missing:,} rows the export may hold have no sentence vector yet for "
                         "the leak check by meaning "
                         f"(the export embeds at most {limit:,} itself)",
                         hint="run `curator embed` first (it shows progress and can be stopped and resumed), "
                              "or raise [export] embed_limit in curator.toml (0: no limit)")


def meaning_leak_check(store: Store, settings: MeaningSettings, embedder: Embedder | None = None,
                       scaffolds: dict | None = None, *, embed_limit: int = 0,
                       progress: Progress | None = None) -> MeaningCheck:
    """The export's leak check by meaning: rows whose semantic decontamination did not pass against
    the current eval set are embedded if need be (in batches, with progress; more than `embed_limit`
    missing vectors raise NeedsEmbedding before any is made) and checked now."""

    def check(rows: list[Row]) -> tuple[list[dict[str, Any]], str]:
        model_id = embedder.model_id if embedder is not None else active_model_id()
        if embed_limit and model_id:
            missing = len(store.unembedded_of(model_id, [r.id for r in rows]))  # a row the gate verified has one
            if missing > embed_limit:
                raise NeedsEmbedding(missing, embed_limit)
        try:
            model = embedder or (_OnFirstUse(model_id, settings.threads) if model_id else default_embedder(settings.threads))
            embed_ids(store, model, store.eval_ids(), settings)
        except EmbedderUnavailable as exc:
            return [], f"not checked: {exc}"
        evals = meaning.Embedded.evals_from_rows(store.eval_embeddings(model.model_id))
        limits = gating_meaning.thresholds(store, model.model_id, settings, refresh=False)
        fingerprint = meaning.eval_set(evals, settings, model.model_id, limits)
        unverified = []
        for r in rows:
            v = r.verdicts.get(meaning.DECONTAM)
            if not (v and v.get("verdict") == "pass" and (v.get("detail") or {}).get("eval_set") == fingerprint):
                unverified.append(r.data["id"])
        if not unverified or not evals.ids:
            return [], f"checked ({len(rows) - len(unverified)} rows verified by the gate, {model.model_id})"
        found = store.embeddings_of(model.model_id, unverified)  # (one pass over them when all have their vector)
        if missing := [i for i in unverified if i not in found]:
            try:
                embed_ids(store, model, missing, settings, progress=progress)
            except EmbedderUnavailable as exc:
                return [], f"not checked: {exc}"
            found.update(store.embeddings_of(model.model_id, missing))
        embedded = meaning.Embedded.from_rows([(i, *found[i]) for i in unverified if i in found])
        family = {r.data["id"]: r.data["family"] for r in rows}
        found = meaning.paraphrases(
            embedded, evals, settings, thresholds=[limits.get(family.get(i, ""), 0.0) for i in embedded.ids],
            judge=gating_meaning.content_judge(store, scaffolds if scaffolds is not None else load_scaffolds(store)))
        leaks = [{"id": embedded.ids[i], "eval_items": [evals.ids[j]], "how": "meaning", "score": round(score, 4)}
                 for i, (j, _, score, _) in sorted(found.items())]
        return leaks, (f"checked ({len(rows) - len(unverified)} rows verified by the gate, {len(unverified)} "
                       f"checked at export, {model.model_id})")
    return check


class _OnFirstUse:
    """The process's embedder, loaded when the first vector must be made: an export whose rows all have
    their vectors never loads the model."""

    def __init__(self, model_id: str, threads: int) -> None:
        self.model_id, self.threads = model_id, threads

    def embed(self, texts: list[str], batch: int = 16):
        return default_embedder(self.threads).embed(texts, batch)


def exports_dir(store_path: Path, given: Path | None = None) -> Path:
    """Where the versions are: `given` (--out), else `exports/` beside the database."""
    return given if given is not None else store_path.parent / "exports"


def list_exports(store_path: Path, where: Path | None = None):  # -> list[export.diff.ExportVersion]
    """`curator export list`, the dashboard's export list: the versions in `where` (default `exports/`
    beside the database), newest first."""
    from curator.export.diff import versions

    return versions(exports_dir(store_path, where))


def export_diff(store_path: Path, a: str, b: str, where: Path | None = None):  # -> export.diff.ExportDiff
    """`curator export diff A B`: B's training rows against A's, per family and cell. A and B are export
    folders or version ids in `where` (default `exports/` beside the database)."""
    from curator.export.diff import diff, resolve

    folder = exports_dir(store_path, where)
    return diff(resolve(a, folder), resolve(b, folder))
