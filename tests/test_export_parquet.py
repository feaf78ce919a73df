"""The Parquet export: the same rows and columns as the JSONL files, loadable by `datasets`, tools
stored the way the installed datasets reads them (and the manifest says which)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from curator.config import Settings
from curator.target_mix import CoverageMap
from curator.export import writer
from curator.export.parquet import JSON_LIST, JSON_STRING, tools_column
from curator.families import load_families
from curator.models import Example, Message
from curator.services import triage as review
from curator.services.demo import build_demo
from curator.services.export import LeakError, export_dataset
from curator.store import Store
from curator.text.normalize import key_hash
from tui_fixtures import settle

ROOT = Path(__file__).resolve().parents[1]
FAMS = load_families(ROOT / "prompts").families
CMAP = CoverageMap.load(ROOT / "prompts" / "coverage.toml", FAMS)
TODAY = date(2026, 11, 22)
DATA_FILES = ("train", "polish", "eval_private", "train.prompt_completion", "train.alpaca")
FORMATS = ("parquet", "prompt_completion", "alpaca")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo project (sample corpus and seeds, procedural school_math and tool_calling candidates,
    gated), every passing candidate accepted; built once, copied closed for each test."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    with Store(path) as store:
        build_demo(store, Settings(), FAMS)
        for i in review.queue_ids(store):
            if store.example(i).gate_status != "fail":
                review.decide(store, i, "accept")
    return path


@pytest.fixture
def store(demo_db: Path, tmp_path: Path):
    path = tmp_path / "x.db"
    shutil.copyfile(demo_db, path)
    with Store(path) as s:
        yield s


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _load(path: Path, cache: Path):
    import datasets

    return datasets.load_dataset("parquet", data_files=str(path), split="train", cache_dir=str(cache))


def _without_nulls(messages: list[dict]) -> list[dict]:
    """A message as the JSONL writes it: Arrow gives every message every field (absent ones as None)."""
    return [{k: v for k, v in m.items() if v is not None} for m in messages]


def _decoded(row: dict, mode: str) -> dict:
    """A Parquet row in the JSONL's terms (conversation columns without Arrow's nulls, tools as the JSON string)."""
    out = dict(row)
    for column in ("messages", "prompt", "completion"):
        if column in out:
            out[column] = _without_nulls(out[column])
    if mode == JSON_LIST and out.get("tools") is not None:
        out["tools"] = json.dumps(out["tools"], ensure_ascii=False, sort_keys=True)
    return out


def test_every_file_loads_in_datasets_with_the_jsonl_rows(store: Store, tmp_path: Path) -> None:
    result = export_dataset(store, CMAP, out_dir=tmp_path / "exports", formats=FORMATS, today=TODAY)
    folder = result.path
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    described = manifest["formats"]["parquet"]
    assert described["tools"] == tools_column().mode == JSON_LIST  # datasets >= 4.8 is what the test extra installs
    assert described["datasets"] == tools_column().datasets
    for stem in DATA_FILES:
        rows = _jsonl(folder / f"{stem}.jsonl")
        ds = _load(folder / f"{stem}.parquet", tmp_path / "hf")
        assert rows, stem
        assert [_decoded(r, described["tools"]) for r in ds] == rows, stem  # same rows, same order, same columns
        data = (folder / f"{stem}.parquet").read_bytes()
        assert described["files"][f"{stem}.parquet"] == {"rows": len(rows), "sha256": hashlib.sha256(data).hexdigest()}
        assert manifest["files"][f"{stem}.parquet"] == hashlib.sha256(data).hexdigest()
    assert manifest["counts"]["train"] == described["files"]["train.parquet"]["rows"]
    assert "parquet" in manifest["settings"]["formats"]


def test_a_tool_calling_row_round_trips(store: Store, tmp_path: Path) -> None:
    result = export_dataset(store, CMAP, out_dir=tmp_path / "exports", formats=("parquet",), today=TODAY)
    ds = _load(result.path / "train.parquet", tmp_path / "hf")
    tool_rows = [r for r in ds if r["tools"]]
    assert tool_rows and len({json.dumps(r["tools"], sort_keys=True) for r in tool_rows}) > 1, "differing tool sets"
    called = 0
    for row in tool_rows:
        stored = store.example(row["id"])
        assert row["tools"] == stored.tools  # each schema its own dict: no other tool's properties as nulls
        calls = [c for m in row["messages"] for c in m["tool_calls"] or []]
        called += bool(calls)
        assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls] == \
            [(c.function["name"], json.loads(c.function["arguments"])) for m in stored.messages
             for c in m.tool_calls or []]
        assert [m["tool_call_id"] for m in row["messages"] if m["role"] == "tool"] == \
            [m.tool_call_id for m in stored.messages if m.role == "tool"]
    assert called, "rows with tool calls are among them"


def test_a_struct_tools_column_would_not_round_trip(store: Store) -> None:
    """Why the tools column is never a struct: Arrow unifies the differing parameter schemas."""
    tools = [e.tools for e in store.examples("tools IS NOT NULL") if e.tools]
    assert pa.array(tools).to_pylist() != tools


def test_older_datasets_get_json_strings(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert tools_column("4.7.1").mode == JSON_STRING and tools_column("4.8.0").mode == JSON_LIST
    assert tools_column("5.2.0.dev0").mode == JSON_LIST and tools_column("2.19.2").mode == JSON_STRING
    monkeypatch.setattr(writer, "tools_column", lambda: tools_column("4.7.1"))
    result = export_dataset(store, CMAP, out_dir=tmp_path / "exports", formats=("parquet",), today=TODAY)
    described = json.loads((result.path / "manifest.json").read_text())["formats"]["parquet"]
    assert (described["tools"], described["datasets"], described["tools_arrow_type"]) == (JSON_STRING, "4.7.1", "string")
    rows = _jsonl(result.path / "train.jsonl")
    ds = _load(result.path / "train.parquet", tmp_path / "hf")
    assert [_decoded(r, JSON_STRING) for r in ds] == rows
    tool_rows = [r for r in ds if r["tools"]]
    assert tool_rows and all(json.loads(r["tools"]) == store.example(r["id"]).tools for r in tool_rows)


def test_parquet_exports_are_deterministic_and_their_own_version(store: Store, tmp_path: Path) -> None:
    a = export_dataset(store, CMAP, out_dir=tmp_path / "a", formats=("parquet",), today=TODAY)
    b = export_dataset(store, CMAP, out_dir=tmp_path / "b", formats=("parquet",), today=TODAY)
    assert a.version == b.version
    for name in ("train.parquet", "polish.parquet", "eval_private.parquet"):
        assert (a.path / name).read_bytes() == (b.path / name).read_bytes(), name
    plain = export_dataset(store, CMAP, out_dir=tmp_path / "a", today=TODAY)
    assert plain.version != a.version and not list(plain.path.glob("*.parquet"))
    assert export_dataset(store, CMAP, out_dir=tmp_path / "a", formats=("parquet",), today=TODAY).reused


def test_private_eval_items_stay_in_their_own_file(store: Store, tmp_path: Path) -> None:
    result = export_dataset(store, CMAP, out_dir=tmp_path / "exports", formats=("parquet",), today=TODAY)
    ids = {stem: {r["id"] for r in _load(result.path / f"{stem}.parquet", tmp_path / "hf")}
           for stem in ("train", "polish", "eval_private")}
    current_evals = {e.id for e in store.examples("kind = 'seed' AND role = 'eval' AND superseded_by IS NULL")}
    assert ids["eval_private"] == current_evals
    assert not ids["eval_private"] & (ids["train"] | ids["polish"])


def test_a_planted_leak_writes_no_parquet(store: Store, tmp_path: Path) -> None:
    eval_seed = store.examples("kind = 'seed' AND role = 'eval'")[0]
    answer = next(m.content for m in eval_seed.messages if m.role == "assistant")
    planted = Example(kind="candidate", family=eval_seed.family, task_type=eval_seed.task_type, model="m",
                      state="accepted", messages=[Message(role="user", content="پرسشی دیگر"),
                                                  Message(role="assistant", content=answer)])
    planted.key_hash = key_hash("planted")
    planted_id = store.add_example(planted)  # accepted without ever going through the gates
    with pytest.raises(LeakError) as err:
        export_dataset(store, CMAP, out_dir=tmp_path / "exports", formats=("parquet",), today=TODAY)
    assert [leak["id"] for leak in err.value.leaks] == [planted_id]
    assert not (tmp_path / "exports").exists() or not any((tmp_path / "exports").iterdir()), "nothing written"


def test_a_failed_parquet_write_leaves_no_version(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = writer._Staging.write

    def failing(self, name, chunks):
        if name.endswith(".parquet"):
            raise OSError(28, "No space left on device")
        return real(self, name, chunks)

    monkeypatch.setattr(writer._Staging, "write", failing)
    out = tmp_path / "exports"
    with pytest.raises(OSError):
        export_dataset(store, CMAP, out_dir=out, formats=("parquet",), today=TODAY)
    assert not out.exists(), "neither a version nor its temporary folder is left (nor the folder the export made)"


def test_cli_export_format_parquet(store: Store, tmp_path: Path) -> None:
    env = {**os.environ, "CURATOR_DB": str(store.path)}
    proc = subprocess.run([sys.executable, "-m", "curator", "export", "--format", "parquet"], env=env,
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    (folder,) = (tmp_path / "exports").iterdir()
    assert {p.name for p in folder.glob("*.parquet")} == {"train.parquet", "polish.parquet", "eval_private.parquet"}
    assert json.loads((folder / "manifest.json").read_text())["formats"]["parquet"]["tools"] in (JSON_LIST, JSON_STRING)


def test_export_formats_in_curator_toml_are_the_default_of_every_export(store: Store, tmp_path: Path) -> None:
    env = {**os.environ, "CURATOR_DB": str(store.path), "CURATOR_CONFIG": str(tmp_path / "curator.toml")}
    (tmp_path / "curator.toml").write_text('[export]\nformats = ["parquet"]\n', encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "curator", "export"], env=env, capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    (folder,) = (tmp_path / "exports").iterdir()
    assert (folder / "train.parquet").exists()
    (tmp_path / "curator.toml").write_text('[export]\nformats = ["csv"]\n', encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "curator", "export"], env=env, capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert bad.returncode != 0 and "unknown export format 'csv'" in bad.stderr and "Traceback" not in bad.stderr


async def test_the_dashboards_export_key_writes_the_configured_formats(store: Store, tmp_path: Path) -> None:
    from curator.config import ExportSettings, Settings
    from curator.tui.app import CuratorApp

    path = store.path
    store.close()
    app = CuratorApp(path, Settings(prompts_dir=ROOT / "prompts", bidi="app",
                                    export=ExportSettings(formats=["parquet"])), start="dashboard")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await settle(pilot)
        await pilot.press("E")
        await pilot.pause()
        await settle(pilot)
        await pilot.pause()
    (folder,) = (path.parent / "exports").iterdir()
    assert {p.name for p in folder.glob("*.parquet")} == {"train.parquet", "polish.parquet", "eval_private.parquet"}
