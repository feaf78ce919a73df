"""The preparation as a chain of datatrove executors (imported only when a preparation runs).

Stages, each a datatrove executor that depends on the one before (on a cluster only the executor
class changes):

1. read (N tasks): read → split → classify → match-key hash → (with near-dedup) the MinHash signatures
   of the match keys → `work/read/<task>.parquet`, and the exact-dedup signatures of the key hashes;
2. exact-find (1 task): datatrove's ExactFindDedups: the later copies of each key hash;
3. without near-dedup, exact-filter (N): drop them, write the output shards `passages/<task>.parquet`;
   with it, instead: 3. minhash-buckets (14 tasks, one a band: the pairs of passages alike in it, the exact
   duplicates left out), 4. minhash-cluster (1: the first passage of each cluster is kept, the others
   listed), 5. dedup-filter (N): drop the exact duplicates and the listed passages, write the output
   shards. The shards of stage 1 are read back once, by the stage that writes the output;
6. manifest (1): `manifest.json` (inputs, stages and steps with versions, counts, tasks, executor, time).

Duplicates keep their FIRST occurrence in import order (files are given to tasks in contiguous runs),
which is what `curator import` keeps (the store ignores a passage whose key hash it holds).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from datatrove.executor.local import LocalPipelineExecutor
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup.exact_dedup import ExactDedupConfig, ExactDedupSignature, ExactFindDedups
from datatrove.pipeline.dedup.minhash import MinhashConfig

from curator.corpus import prepared
from curator.models import now_iso
from curator.scale.plan import Plan
from curator.scale.steps import (BandPairs, ClassifyPassages, DropListed, KeepFirstCluster, MatchKeyHash, MatchKeySignature,
                                 ReadPassages, WriteShard, passage_key, passage_priority)

MINHASH = MinhashConfig()  # 5-grams of match-key words, 14 bands of 8 hashes (~0.72 Jaccard), seed 1
WORK_DATA = ("read", "exact_sigs", "exact_dups", "minhash_sigs", "minhash_buckets", "minhash_remove")


@dataclass(frozen=True)
class ClusterOptions:
    """What a Slurm or Ray run needs beyond the tasks: workers at once, partition, time limit."""

    workers: int = -1
    partition: str | None = None
    time: str | None = None
    cpus_per_task: int = 1
    mem_per_cpu_gb: float = 2


@dataclass(frozen=True)
class Stage:
    name: str
    tasks: int
    pipeline: list[Any]
    local_workers: int | None = None  # at most this many processes on this machine (None: the cores)


def stages(plan: Plan) -> list[Stage]:
    """The stages of a preparation, in order (see the module docstring)."""
    exact = ExactDedupConfig(content_getter=passage_key, document_priority=passage_priority)
    work, out = plan.folder, plan.folder("passages")
    read = [ReadPassages(plan), ClassifyPassages(plan), MatchKeyHash(keep_keys=plan.near_dedup)]
    if plan.near_dedup:
        read.append(MatchKeySignature(str(work("minhash_sigs")), MINHASH))
    read += [WriteShard(work("read")), ExactDedupSignature(str(work("exact_sigs")), exact)]
    chain = [
        Stage("read", plan.tasks, read),
        Stage("exact-find", 1, [ExactFindDedups(str(work("exact_sigs")), str(work("exact_dups")), exact)]),
    ]
    if not plan.near_dedup:
        chain.append(Stage("exact-filter", plan.tasks,
                           [DropListed(work("read"), out, exact_folder=work("exact_dups"))]))
    else:
        chain += [
            # A band takes numpy a fraction of a second (0.2 s all 14 for 100 MB): less than starting a pool.
            Stage("minhash-buckets", MINHASH.num_buckets,
                  [BandPairs(work("minhash_sigs"), work("minhash_buckets"), MINHASH, work("exact_dups"))],
                  local_workers=1),
            Stage("minhash-cluster", 1, [KeepFirstCluster(str(work("minhash_buckets")), str(work("minhash_remove")))]),
            Stage("dedup-filter", plan.tasks, [DropListed(work("read"), out, exact_folder=work("exact_dups"),
                                                          remove_folder=work("minhash_remove"))]),
        ]
    return chain + [Stage("manifest", 1, [WriteManifest(plan)])]


def executors(plan: Plan, options: ClusterOptions = ClusterOptions()) -> list[Any]:
    """One executor a stage, each depending on the one before; running the last runs them all."""
    built: list[Any] = []
    for stage in stages(plan):
        logs = str(plan.folder("logs") / stage.name)
        depends = built[-1] if built else None
        if plan.executor == "local":  # one task is run in-process; more share the cores (a pool each stage)
            workers = min(stage.tasks, os.cpu_count() or 1 if options.workers == -1 else options.workers,
                          stage.local_workers or stage.tasks)
            built.append(LocalPipelineExecutor(stage.pipeline, tasks=stage.tasks, workers=workers,
                                               logging_dir=logs, depends=depends))
        elif plan.executor == "slurm":
            from datatrove.executor.slurm import SlurmPipelineExecutor

            built.append(SlurmPipelineExecutor(
                stage.pipeline, tasks=stage.tasks, workers=options.workers, time=options.time,
                partition=options.partition, cpus_per_task=options.cpus_per_task,
                mem_per_cpu_gb=int(options.mem_per_cpu_gb), logging_dir=logs, depends=depends,
                job_name=f"curator-{stage.name}", venv_path=_venv_activate()))
        else:
            from datatrove.executor.ray import RayPipelineExecutor

            built.append(RayPipelineExecutor(stage.pipeline, tasks=stage.tasks, workers=options.workers,
                                             logging_dir=logs, depends=depends, cpus_per_task=options.cpus_per_task,
                                             mem_per_cpu_gb=options.mem_per_cpu_gb))
    return built


def _venv_activate() -> str | None:
    """The activate script of the virtual environment curator runs in (Slurm jobs source it)."""
    script = Path(sys.prefix) / "bin" / "activate"
    return str(script) if sys.prefix != sys.base_prefix and script.exists() else None


def _stage_counts(logs: Path) -> dict[str, dict[str, int]]:
    """Per step of a stage, its counters summed over the stage's tasks (from datatrove's stats files)."""
    counts: dict[str, dict[str, int]] = {}
    for stats_file in sorted((logs / "stats").glob("*.json")):
        for step in json.loads(stats_file.read_text(encoding="utf-8")):
            mine = counts.setdefault(step["name"], {})
            for label, value in step.get("stats", {}).items():
                total = value.get("total", 0) if isinstance(value, dict) else value
                if isinstance(total, int | float):
                    mine[label] = mine.get(label, 0) + int(total)
    return counts


class WriteManifest(PipelineStep):
    """The last stage: `manifest.json` beside the shards, then the intermediate data goes (logs stay)."""

    type = "📝 - MANIFEST"
    name = "curator manifest"

    def __init__(self, plan: Plan):
        super().__init__()
        self.plan = plan

    def run(self, data: Any = None, rank: int = 0, world_size: int = 1) -> None:
        plan = self.plan
        problems = list(plan.problems)
        for path in sorted(plan.folder("problems").glob("*.json")):
            problems.extend(json.loads(path.read_text(encoding="utf-8")))
        shards = sorted(plan.folder("passages").glob("*.parquet"))
        manifest = {
            "format": prepared.MARK.decode(),
            "inputs": [{"path": f.path, "size": f.size, "task": f.task} for f in plan.inputs],
            "input_bytes": sum(f.size for f in plan.inputs),
            "executor": plan.executor,
            "tasks": plan.tasks,
            "near_dedup": plan.near_dedup,
            "minhash": {"n_grams": MINHASH.n_grams, "bands": MINHASH.num_buckets,
                        "hashes_per_band": MINHASH.hashes_per_bucket, "seed": MINHASH.seed} if plan.near_dedup else None,
            "window": {"min_chars": plan.min_chars, "max_chars": plan.max_chars},
            "field": plan.field_name,
            "versions": {name: version(name) for name in ("curator", "datatrove", "pyarrow")},
            "stages": [{"name": s.name, "tasks": s.tasks,
                        "steps": [type(step).__name__ for step in s.pipeline],
                        "counts": _stage_counts(plan.folder("logs") / s.name)}
                       for s in stages(plan) if s.name != "manifest"],
            "shards": [{"path": p.name, "passages": prepared.shard_size(p)} for p in shards],
            "passages": sum(prepared.shard_size(p) for p in shards),
            "problems": problems,
            "started_at": plan.started_at,
            "finished_at": now_iso(),
        }
        out = Path(plan.out_dir) / "manifest.json"
        out.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        for name in WORK_DATA:
            shutil.rmtree(plan.folder(name), ignore_errors=True)
