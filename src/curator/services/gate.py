"""Running the gates (`curator gate`, the jobs screen's G): rule gates on what is pending, then
dedup and decontamination over everything, then each candidate's status."""

from __future__ import annotations

from typing import Any

from curator.config import GateSettings, MeaningSettings
from curator.gates.decontam import DecontamSettings
from curator.gates.dedup import DedupSettings
from curator.services.gating.meaning import run_meaning
from curator.services.gating.runner import GateReport, run_per_example, run_set_level, update_changed_status
from curator.meaning.embedder import Embedder
from curator.services.embed import embed_missing
from curator.progress import NEVER, Cancel, Progress
from curator.store import Store

__all__ = ["GateReport", "pending_count", "run_gates", "set_level_settings"]


def set_level_settings(gates: GateSettings) -> tuple[DedupSettings, DecontamSettings]:
    """The dedup and decontamination settings that `[gates]` in curator.toml says."""
    return (DedupSettings(threshold=gates.near_duplicate, content_threshold=gates.same_content),
            DecontamSettings(ngram=gates.span_words, content_threshold=gates.same_content))


def pending_count(store: Store) -> int:
    """Active candidates the rule gates have not seen yet."""
    return store.count_ungated()


def run_gates(store: Store, families: dict[str, Any], *, progress: Progress | None = None, cancel: Cancel = NEVER,
              dedup_settings: DedupSettings = DedupSettings(),
              decontam_settings: DecontamSettings = DecontamSettings(),
              meaning: MeaningSettings = MeaningSettings(), embed: bool = True,
              embedder: Embedder | None = None, embed_progress: Progress | None = None,
              gates: GateSettings | None = None) -> GateReport:
    """Everything `curator gate` does, in order, in short transactions: what each row's conversation says
    of its training kept where it is missing (`Store.refresh_facts`); the rule gates on pending
    candidates; embeddings for what has none (unless `embed` is off); the lexical set-level gates;
    the meaning gates on what is embedded. With `cancel` set it pauses between batches (what was
    done is kept; the next run continues); the set-level gates run only once every pending candidate
    has its rule verdicts. `gates` (curator.toml's `[gates]`) gives the dedup and decontamination settings."""
    if gates is not None:
        dedup_settings, decontam_settings = set_level_settings(gates)
    report = GateReport()
    store.refresh_facts()  # (rows written before their facts were kept, or under other rules: once)
    if not run_per_example(store, families, report, progress, cancel):
        report.paused = True
    elif not run_set_level(store, report, families, dedup_settings=dedup_settings,
                           decontam_settings=decontam_settings, cancel=cancel):
        report.paused = True
    elif meaning.enabled:
        embedded = embed_missing(store, meaning, embedder=embedder, limit=None if embed else 0,
                                 progress=embed_progress, cancel=cancel)
        if embedded.unavailable:
            report.meaning = f"did not run: {embedded.unavailable}"
        elif cancel.is_set():
            report.paused = True
        elif not run_meaning(store, report, embedded.model, meaning, cancel=cancel):
            report.paused = True
        if embedded.embedded:
            report.meaning = f"{embedded.summary()}; {report.meaning}"
    else:
        report.meaning = "off (meaning.enabled = false in curator.toml): no semantic decontamination or dedup"
    update_changed_status(store)
    return report
