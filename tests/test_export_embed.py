"""The export's leak check by meaning never embeds a large mix by surprise: the rows it must embed are
embedded in batches with progress, and past `[export] embed_limit` the export stops at once (before any
model is loaded), saying how many rows lack a vector and to run `curator embed` first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from curator.services.export import NeedsEmbedding, export_dataset
from curator.services.triage import Filters, decide, queue_ids
from curator.store import Store
from curator.target_mix import CoverageMap
from stub_embedder import STUB
from tui_fixtures import FAMILIES, ROOT, build_db


class Counting:
    """Stub vectors under a model id no stored vector has: every row of the mix needs one."""

    model_id = "counting/new-model"

    def __init__(self) -> None:
        self.embedded = 0

    def embed(self, texts: list[str], batch: int = 16):
        self.embedded += len(texts)
        return STUB.embed(texts)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = build_db(tmp_path / "export.db")
    with Store(path) as store:
        for example_id in queue_ids(store, filters=Filters(verdict="pass")):
            decide(store, example_id, "accept")
    return path


def cmap() -> CoverageMap:
    return CoverageMap.load(ROOT / "prompts" / "coverage.toml", FAMILIES)


def test_past_the_limit_the_export_stops_before_embedding_anything(db: Path, tmp_path: Path) -> None:
    model, phases = Counting(), {}
    with Store(db) as store, pytest.raises(NeedsEmbedding) as stopped:
        export_dataset(store, cmap(), out_dir=tmp_path / "out", embedder=model, embed_limit=1, timings=phases)
    assert stopped.value.missing > 1 and "curator embed" in stopped.value.hint
    assert phases == {}, "it stops at once: before reading the rows or building the mix"
    assert model.embedded == 0 and not (tmp_path / "out").exists(), "nothing embedded, nothing written"


def test_under_the_limit_it_embeds_in_batches_with_progress(db: Path, tmp_path: Path) -> None:
    model, seen = Counting(), []
    with Store(db) as store:
        result = export_dataset(store, cmap(), out_dir=tmp_path / "out", embedder=model, embed_limit=0,
                                progress=lambda done, total: seen.append((done, total)))
    assert result.counts["train"] >= 1 and model.embedded > 0
    assert seen and seen[-1][0] == seen[-1][1] and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_the_cli_names_the_count_and_the_command(db: Path, tmp_path: Path) -> None:
    config = tmp_path / "curator.toml"
    config.write_text("[export]\nembed_limit = 1\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "curator", "export", "--db", str(db)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "CURATOR_CONFIG": str(config)})
    assert done.returncode == 1, done.stderr
    assert "have no sentence vector yet" in done.stderr and "run `curator embed` first" in done.stderr
    assert not (db.parent / "exports").exists()
