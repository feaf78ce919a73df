"""Preparing a corpus beyond one machine (`curator prepare`): the datatrove pipeline of `curator.scale`
writes Parquet shards of passages and a manifest; `curator import` then takes a selection of them."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curator.errors import CuratorError
from curator.config import Window
from curator.models import now_iso
from curator.progress import NEVER, Cancel, Progress
from curator.scale import require_datatrove
from curator.scale.plan import Plan, make_plan, read_manifest
from curator.display.wording import counted

__all__ = ["PrepareError", "PrepareReport", "prepare"]


class PrepareError(CuratorError):
    """A preparation cannot start (its output folder holds something else, bad options)."""


@dataclass
class PrepareReport:
    """What a preparation did; on Slurm or Ray it was submitted and the manifest comes at its end."""

    out_dir: Path
    executor: str
    tasks: int
    files: int = 0
    input_bytes: int = 0
    passages: int = 0
    shards: int = 0
    seconds: float = 0.0
    submitted: bool = False
    cancelled: bool = False
    stage_counts: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def mb_per_s(self) -> float:
        return self.input_bytes / 1e6 / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        if self.submitted:
            return (f"{counted(self.files, 'file')} submitted to {self.executor} ({self.tasks} tasks);"
                    f" the shards and manifest.json will be in {self.out_dir}")
        if self.cancelled:
            return f"cancelled; run the same command again to resume in {self.out_dir}"
        skipped = f", {len(self.problems)} skipped" if self.problems else ""
        return (f"{counted(self.files, 'file')} ({self.input_bytes / 1e6:.1f} MB) → {self.passages} passages in "
                f"{self.shards}"
                f" shards in {self.out_dir} ({self.seconds:.1f} s, {self.mb_per_s:.1f} MB/s, {self.tasks} tasks"
                f" on {self.executor}){skipped}")


def _start(plan: Plan, out_dir: Path) -> None:
    """A new preparation needs an empty (or new) folder; the same one again resumes where it stopped."""
    saved = out_dir / "work" / "plan.json"
    if saved.exists():
        old = Plan.from_json(saved.read_text(encoding="utf-8"))
        if (old.inputs, old.tasks, old.near_dedup, old.field_name, old.window) == (
                plan.inputs, plan.tasks, plan.near_dedup, plan.field_name, plan.window):
            plan.started_at = old.started_at
            return
        raise PrepareError(f"{out_dir} holds another preparation (other inputs or options): use a new --out")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise PrepareError(f"{out_dir} is not empty: use a new --out")
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(plan.to_json(), encoding="utf-8")


@contextlib.contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """datatrove logs each task to stderr (in worker processes too): send file descriptor 2 to a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    saved = os.dup(2)
    with path.open("ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def prepare(inputs: list[Path], out_dir: Path, *, executor: str = "local", tasks: int = 1,
            workers: int | None = None, partition: str | None = None, time_limit: str | None = None,
            near_dedup: bool = True, field_name: str = "text", window: Window = Window(),
            progress: Progress | None = None, cancel: Cancel = NEVER) -> PrepareReport:
    """Build the preparation of `inputs` into `out_dir` and run it (local) or submit it (slurm, ray).

    `progress(stages done, stages)`; a set `cancel` stops between stages (run again to resume).
    Raises ScaleUnavailable without the scale extra, PrepareError on a used folder or bad options.
    """
    require_datatrove()
    from curator.scale.pipeline import ClusterOptions, executors

    out_dir = Path(out_dir)
    if executor == "slurm" and not (partition and time_limit):
        raise PrepareError("the slurm executor needs --partition and --time")
    try:
        plan = make_plan(inputs, out_dir, tasks=tasks, field_name=field_name, window=window,
                         near_dedup=near_dedup, executor=executor, started_at=now_iso())
    except ValueError as exc:
        raise PrepareError(str(exc)) from exc
    report = PrepareReport(out_dir, executor, tasks, files=len(plan.inputs),
                           input_bytes=sum(f.size for f in plan.inputs))
    if not plan.inputs:
        report.problems = plan.problems
        return report
    _start(plan, out_dir)
    options = ClusterOptions(workers=-1 if workers is None else workers, partition=partition, time=time_limit)
    chain = executors(plan, options)
    began = time.perf_counter()
    if executor != "local":
        chain[-1].run()  # launches the stages it depends on; the manifest is written by the last one
        report.submitted = True
        return report
    with _stderr_to(plan.folder("logs") / "console.log"):
        for done, stage in enumerate(chain):
            if cancel.is_set():
                report.cancelled = True
                return report
            if progress:
                progress(done, len(chain))
            stage.run()
    if progress:
        progress(len(chain), len(chain))
    report.seconds = time.perf_counter() - began
    manifest = read_manifest(out_dir)
    report.passages, report.shards = manifest["passages"], len(manifest["shards"])
    report.problems = manifest["problems"]
    report.stage_counts = {s["name"]: s["counts"] for s in manifest["stages"]}
    return report
