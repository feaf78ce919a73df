"""Exports of one store at once (the app's `E` while `curator export` runs), in real processes, each made
as a large export is (its log by a second process, its rows read with what the last export kept):

- two exports of the same rows give one version: the one that commits second finds it there, whether it
  looked before making its files or only when it came to commit, and says it reused it;
- what they leave beside the versions for the next export, whichever wrote it last, gives the files an
  export makes without it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from curator.store import Store
from test_export_kept import ROOT, _change_things, _export, build

# One export in its own process; with "hold", it stops before it commits its version until a line comes.
SCRIPT = r"""
import json, sys
from datetime import date
from pathlib import Path
from curator.config import MeaningSettings
from curator.export import curation_log, writer
from curator.families import load_families
from curator.services.export import export_dataset
from curator.store import Store
from curator.target_mix import CoverageMap

db, out, root, hold = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] == "hold"
curation_log.IN_CHILD_FROM = 0  # (made as a large export is)
if hold:
    commit = writer._Staging.commit
    def held(self, version):
        print("committing", flush=True)
        sys.stdin.readline()
        return commit(self, version)
    writer._Staging.commit = held
cmap = CoverageMap.load(root / "prompts" / "coverage.toml", load_families(root / "prompts").families)
with Store(db) as store:
    result = export_dataset(store, cmap, out_dir=out, seed=3, today=date(2025, 1, 2),
                            meaning_settings=MeaningSettings(enabled=False))
print(json.dumps({"version": result.version, "reused": result.reused}), flush=True)
"""


def _start(db: Path, exports: Path, *, hold: bool = False) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(db), str(exports), str(ROOT), "hold" if hold else "go"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return json.loads(out.splitlines()[-1])


def _files(folder: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted(folder.iterdir())}


def _prepared(tmp_path: Path) -> tuple[Path, Path]:
    """A store exported once (what is kept for the next export is there) and changed since."""
    db, exports = tmp_path / "fixed.db", tmp_path / "exports"
    build(db)
    with Store(db) as store:
        _export(store, exports, in_child=True)
        _change_things(store)
    return db, exports


def _the_next_export_is_right(db: Path, exports: Path, tmp_path: Path) -> None:
    with Store(db) as store:
        _change_things(store)
        assert _export(store, exports, in_child=True) == _export(store, tmp_path / "plain-next", in_child=False)
    assert not list(exports.glob(".tmp-*"))  # (no staging folder left behind)


def test_an_export_that_finds_its_version_committed_meanwhile_reuses_it(tmp_path: Path) -> None:
    db, exports = _prepared(tmp_path)
    held = _start(db, exports, hold=True)
    assert held.stdout.readline().strip() == "committing"  # (every file made; the version not there yet)
    first = _result(_start(db, exports))  # another export of the same rows, from start to end
    held.stdin.write("go\n")
    held.stdin.flush()
    second = _result(held)
    assert first == {"version": first["version"], "reused": False}
    assert second == {"version": first["version"], "reused": True}
    with Store(db) as store:
        assert _files(exports / first["version"]) == _export(store, tmp_path / "plain", in_child=False)
    _the_next_export_is_right(db, exports, tmp_path)


def test_two_exports_started_together_give_one_version_and_leave_what_the_next_one_can_use(tmp_path: Path) -> None:
    db, exports = _prepared(tmp_path)
    both = [_start(db, exports), _start(db, exports)]
    results = [_result(p) for p in both]
    assert results[0]["version"] == results[1]["version"]
    assert sorted(r["reused"] for r in results) == [False, True]
    with Store(db) as store:
        assert _files(exports / results[0]["version"]) == _export(store, tmp_path / "plain", in_child=False)
    _the_next_export_is_right(db, exports, tmp_path)


def test_an_export_removes_what_gone_processes_left_and_keeps_a_running_ones(tmp_path: Path) -> None:
    db, exports = tmp_path / "fixed.db", tmp_path / "exports"
    build(db)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    running = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        left = {name: exports / name for name in
                (f".tmp-{gone.stdout.strip()}-dead", f".tmp-{running.pid}-live", ".tmp-not-a-pid", ".tmp-")}
        for folder in left.values():
            folder.mkdir(parents=True)
            (folder / "train.jsonl").write_bytes(b"half written")
        for pid in (gone.stdout.strip(), running.pid, "x"):  # (a rows' cache each was writing when killed)
            (exports / f".rows.cache.{pid}").write_bytes(b"half written")
        with Store(db) as store:
            _export(store, exports, in_child=False)
        assert sorted(p.name for p in exports.glob(".tmp-*")) == [f".tmp-{running.pid}-live"]
        assert sorted(p.name for p in exports.glob(".rows.cache.*")) == [f".rows.cache.{running.pid}"]
    finally:
        running.communicate(b"")
