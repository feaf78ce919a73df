"""Comparing two exports (`curator export diff A B`): which training rows one has that the other has
not, per family and cell, read from each version's curation log (the export folders are never
changed). A row is known by its lineage (an example and its revisions and versions are one line): in B
and not A is added, in A and not B removed, in both as another example (a revision, a new seed
version) changed. With the eval run that steered each added or changed row (`augment --from-eval`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curator.errors import CuratorError


class ExportDiffError(CuratorError):
    """An export to compare cannot be found or read."""


@dataclass
class DiffLine:
    family: str
    cell: str | None  # the task type; None on a family's own line
    added: int = 0
    removed: int = 0
    changed: int = 0
    steered: dict[int, int] = field(default_factory=dict)  # eval run -> added or changed rows it steered

    def as_json(self, a: str, b: str) -> dict[str, Any]:
        return {"a": a, "b": b, "family": self.family, "cell": self.cell, "added": self.added,
                "removed": self.removed, "changed": self.changed,
                "eval_runs": {str(k): v for k, v in sorted(self.steered.items())}}


@dataclass
class ExportDiff:
    a: str
    b: str
    lines: list[DiffLine]

    def report_lines(self) -> list[str]:
        out = [f"{self.b} against {self.a}:", "training rows added, removed and changed (by lineage)",
               f"{'family / cell':<34} {'added':>6} {'removed':>7} {'changed':>7}  steered by"]
        for line in self.lines:
            name = line.family if line.cell is None else f"  {line.cell}"
            runs = ", ".join(f"run {r}: {n}" for r, n in sorted(line.steered.items()))
            out.append(f"{name[:34]:<34} {line.added:>6} {line.removed:>7} {line.changed:>7}  {runs}".rstrip())
        if len(out) == 3:
            out.append("no difference in the training rows")
        return out


@dataclass(frozen=True)
class ExportVersion:
    """An export folder: its version id, path, and its training rows (from its manifest; None when it
    cannot be read)."""

    version: str
    path: Path
    train: int | None = None
    polish: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"version": self.version, "path": str(self.path), "train": self.train, "polish": self.polish}


def versions(exports_dir: Path) -> list[ExportVersion]:
    """The export versions in `exports_dir` (folders with a curation log; an export being written is
    hidden until it is whole), newest first: by when the manifest was written, then by id."""
    found = []
    try:
        folders = [f for f in exports_dir.iterdir() if not f.name.startswith(".") and (f / "curation_log.jsonl").is_file()]
    except OSError:
        return []
    for folder in folders:
        manifest = folder / "manifest.json"
        try:
            written = (manifest if manifest.is_file() else folder / "curation_log.jsonl").stat().st_mtime_ns
            counts = json.loads(manifest.read_text(encoding="utf-8")).get("counts") or {}
        except (OSError, ValueError, AttributeError):
            written, counts = 0, {}
        train, polish = counts.get("train"), counts.get("polish")
        found.append((written, ExportVersion(folder.name, folder, train if isinstance(train, int) else None,
                                             polish if isinstance(polish, int) else None)))
    return [v for _, v in sorted(found, key=lambda f: (f[0], f[1].version), reverse=True)]


def resolve(where: str, exports_dir: Path) -> Path:
    """An export folder: a path to one, or a version id under `exports_dir`."""
    for candidate in (Path(where), exports_dir / where):
        if (candidate / "curation_log.jsonl").is_file():
            return candidate
    raise ExportDiffError(f"{where}: no export there (a folder with curation_log.jsonl, or a version in {exports_dir})")


def _trained(folder: Path) -> dict[str, dict[str, Any]]:
    """{lineage: its log row} for the rows the export wrote for training (train and polish)."""
    rows: dict[str, dict[str, Any]] = {}
    path = folder / "curation_log.jsonl"
    try:
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ExportDiffError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
                if row.get("exported"):
                    rows[row.get("lineage") or f"#{row['id']}"] = row
    except OSError as exc:
        raise ExportDiffError(f"{path}: cannot read it ({exc})") from exc
    return rows


def diff(a: Path, b: Path) -> ExportDiff:
    """What B's training rows add, remove and change against A's, per family and task type."""
    old, new = _trained(a), _trained(b)
    lines: dict[tuple[str, str | None], DiffLine] = {}

    def count(row: dict[str, Any], what: str) -> None:
        family, cell = row.get("family") or "?", row.get("task_type") or "-"
        for key in ((family, None), (family, cell)):
            line = lines.setdefault(key, DiffLine(*key))
            setattr(line, what, getattr(line, what) + 1)
            if what != "removed" and row.get("eval_run") is not None:
                line.steered[int(row["eval_run"])] = line.steered.get(int(row["eval_run"]), 0) + 1

    for lineage, row in new.items():
        if lineage not in old:
            count(row, "added")
        elif old[lineage]["id"] != row["id"]:
            count(row, "changed")
    for lineage, row in old.items():
        if lineage not in new:
            count(row, "removed")
    ordered = sorted(lines.values(), key=lambda line: (line.family, line.cell is not None, line.cell or ""))
    return ExportDiff(a.name, b.name, ordered)
