"""What a preparation will do, before datatrove is imported: the input files in import order, which
task reads which, the folders it writes, and the manifest it leaves."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from curator.config import Window
from curator.corpus.readers import corpus_files

# The exact-dedup stage ranks duplicates by priority 65535 - task, so a task number must fit.
MAX_TASKS = 65534
EXECUTORS = ("local", "slurm", "ray")


@dataclass(frozen=True)
class InputFile:
    """A corpus file as the direct import names it (`path`) and where a task opens it (`absolute`)."""

    path: str
    absolute: str
    size: int
    task: int


@dataclass
class Plan:
    """A preparation: inputs, passage window, JSONL/Parquet text field, tasks, and near-dedup on/off."""

    inputs: list[InputFile]
    out_dir: str
    tasks: int
    field_name: str = "text"
    min_chars: int = Window.min_chars
    max_chars: int = Window.max_chars
    near_dedup: bool = True
    executor: str = "local"
    started_at: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def window(self) -> Window:
        return Window(self.min_chars, self.max_chars)

    def files_of(self, task: int) -> list[InputFile]:
        return [f for f in self.inputs if f.task == task]

    def folder(self, name: str) -> Path:
        """A folder of the preparation: `passages` (the output shards) or one under `work/`."""
        out = Path(self.out_dir)
        return out / "passages" if name == "passages" else out / "work" / name

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        data = json.loads(text)
        data["inputs"] = [InputFile(**f) for f in data["inputs"]]
        return cls(**data)


def assign_tasks(sizes: list[int], tasks: int) -> list[int]:
    """The task of each file: contiguous runs of files, balanced by bytes. Files keep their order
    across tasks (task, then place in the task, is import order), so "first occurrence" means the
    same thing for the prepared and the direct path."""
    total = sum(sizes) or 1
    out, before = [], 0
    for size in sizes:
        out.append(min(tasks - 1, (2 * before + size) * tasks // (2 * total)))
        before += size
    return out


def make_plan(inputs: list[Path], out_dir: Path, *, tasks: int, field_name: str = "text",
              window: Window = Window(), near_dedup: bool = True, executor: str = "local",
              started_at: str = "") -> Plan:
    """Expand folders the way `curator import` does and give each file to a task."""
    if not 1 <= tasks <= MAX_TASKS:
        raise ValueError(f"tasks must be 1..{MAX_TASKS}, not {tasks}")
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r} (use {', '.join(EXECUTORS)})")
    problems: list[str] = []
    files = corpus_files([Path(p) for p in inputs], problems)
    sizes = [f.stat().st_size for f in files]
    owners = assign_tasks(sizes, tasks)
    return Plan([InputFile(str(f), str(f.resolve()), s, t) for f, s, t in zip(files, sizes, owners)],
                str(out_dir), tasks, field_name, window.min_chars, window.max_chars, near_dedup, executor,
                started_at, problems)


def read_manifest(out_dir: Path) -> dict[str, Any]:
    """The manifest of a finished preparation."""
    return json.loads((Path(out_dir) / "manifest.json").read_text(encoding="utf-8"))
