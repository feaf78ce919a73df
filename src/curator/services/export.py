"""Exporting the dataset (`curator export`, the dashboard's E): a versioned, leak-checked folder."""

from __future__ import annotations

import gc
from datetime import date
from pathlib import Path

from curator.coverage import CoverageMap
from curator.export.writer import ExportResult, LeakError, write_export
from curator.gates.decontam import DecontamSettings
from curator.store import Store

__all__ = ["ExportResult", "LeakError", "export_dataset"]


def export_dataset(store: Store, cmap: CoverageMap, *, out_dir: Path | None = None, seed: int = 0,
                   formats: tuple[str, ...] = (), today: date | None = None,
                   decontam: DecontamSettings = DecontamSettings()) -> ExportResult:
    """Build the mix (one example per lineage, cells capped at their targets), refuse it if a row
    matches a private eval item (LeakError, nothing written), and write a new version folder
    atomically (or find the identical one) under `out_dir`, by default `exports/` beside the database.
    OSError when the folder cannot be written."""
    out_dir = out_dir if out_dir is not None else store.path.parent / "exports"
    # Millions of short-lived rows: the cyclic collector would rescan them over and over (they hold no cycles).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return write_export(store, cmap, out_dir=out_dir, seed=seed, formats=formats, today=today, decontam=decontam)
    finally:
        if enabled:
            gc.enable()
