"""`curator export diff A B`: the training rows B adds, removes and changes against A (by lineage), per
family and cell, read from the two versions' curation logs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from curator.services.export import export_dataset
from curator.services.seeds import edit_seed
from curator.services.triage import decide
from curator.store import Store
from curator.target_mix import CoverageMap
from tui_fixtures import FAMILIES, ROOT, build_db

CMAP = CoverageMap.load(ROOT / "prompts" / "coverage.toml", FAMILIES)


def candidates(store: Store) -> list[tuple[int, str, str]]:
    return [(r[0], r[1], r[2]) for r in store.conn.execute(
        "SELECT id, family, task_type FROM examples WHERE kind = 'candidate' AND gate_status = 'pass' ORDER BY id")]


def test_added_removed_and_changed_per_family_and_cell(tmp_path: Path) -> None:
    db = build_db(tmp_path / "d.db")
    with Store(db) as store:
        first, second = candidates(store)[:2]
        decide(store, first[0], "accept")
        a = export_dataset(store, CMAP).version
        decide(store, first[0], "reject", reason="wrong")  # removed from B
        decide(store, second[0], "accept")  # added in B
        polish = store.seeds(role="polish")[0]
        edited = polish.model_dump(include={"family", "role", "task_type", "difficulty", "topic"})
        edited["messages"] = [m.model_dump(exclude_none=True) for m in polish.messages]
        edited["messages"][-1]["content"] += " (ویرایش)"
        edit_seed(store, polish.id, edited)  # a new version of an exported seed: changed
        b = export_dataset(store, CMAP).version
    out = subprocess.run([sys.executable, "-m", "curator", "export", "diff", a, b, "--json", "--db", str(db)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = {(r["family"], r["cell"]): r for r in map(json.loads, out.stdout.splitlines())}
    assert rows[(first[1], first[2])]["removed"] == 1
    assert rows[(second[1], second[2])]["added"] == 1
    assert rows[(polish.family, polish.task_type)]["changed"] == 1
    assert sum(r["added"] for (f, c), r in rows.items() if c is None) == 1
    assert all(r["a"] == a and r["b"] == b for r in rows.values())
    text = subprocess.run([sys.executable, "-m", "curator", "export", "diff", a, b, "--db", str(db)],
                          capture_output=True, text=True, timeout=120).stdout
    assert text.startswith(f"{b} against {a}") and "added" in text
    assert all(len(line) <= 80 for line in text.splitlines()), "the report fits an 80-column terminal"


def test_an_export_that_is_not_there_is_one_line(tmp_path: Path) -> None:
    db = build_db(tmp_path / "d.db")
    out = subprocess.run([sys.executable, "-m", "curator", "export", "diff", "nope", str(tmp_path), "--db", str(db)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and out.stderr.startswith("error: nope: no export there")
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("args", [["--help"], ["--format", "alpaca", "--help"]])
def test_export_still_takes_its_options(tmp_path: Path, args: list[str]) -> None:
    out = subprocess.run([sys.executable, "-m", "curator", "export", *args], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "diff" in out.stdout


def test_the_log_names_the_revision_that_superseded_an_original(tmp_path: Path) -> None:
    """An original replaced by its revision is logged as superseded, whatever state it was left in
    (it used to say "not accepted (state gated)", or name a duplicate)."""
    from curator.models import Message
    from curator.services.triage import save_revision

    db = build_db(tmp_path / "d.db")
    with Store(db) as store:
        original = candidates(store)[0][0]
        messages = [Message(role=m.role, content=m.content + (" (ویرایش)" if m.role == "assistant" else ""))
                    for m in store.example(original).messages]
        revision = save_revision(store, original, messages, FAMILIES)
        result = export_dataset(store, CMAP, out_dir=tmp_path / "out")
    log = {row["id"]: row for row in map(json.loads, (result.path / "curation_log.jsonl").read_text().splitlines())}
    assert log[original]["why"] == f"not exported: superseded by #{revision} (its revision)"


def test_export_list_names_the_versions_newest_first(tmp_path: Path, capsys) -> None:
    from curator.cli import main
    from tui_fixtures import build_exports_db

    db, a, b = build_exports_db(tmp_path / "l.db")
    main(["export", "list", "--db", str(db)])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [b, a]
    assert lines[0].split()[1:] == ["train", "11", "polish", "4"]
    main(["--db", str(db), "export", "list", "--json"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["version"], r["train"]) for r in rows] == [(b, 11), (a, 10)]
    assert rows[0]["path"] == str(db.parent / "exports" / b)
    main(["export", "list", "--db", str(tmp_path / "other" / "o.db")])
    assert capsys.readouterr().out == f"no exports yet in {tmp_path / 'other' / 'exports'}\n"


def test_versions_written_elsewhere_are_listed_and_compared_there(tmp_path: Path, capsys) -> None:
    """`curator export --out DIR` writes there; `export --out DIR list` and `diff` read there (list ignored
    --out and said the versions were not there)."""
    from curator.cli import main
    from tui_fixtures import build_exports_db

    db, a, b = build_exports_db(tmp_path / "l.db")
    elsewhere = tmp_path / "elsewhere"
    (db.parent / "exports").rename(elsewhere)
    main(["--db", str(db), "export", "--out", str(elsewhere), "list"])
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == [b, a]
    main(["--db", str(db), "export", "--out", str(elsewhere), "diff", a, b])
    assert capsys.readouterr().out.startswith(f"{b} against {a}")
    main(["--db", str(db), "export", "list"])
    assert capsys.readouterr().out == f"no exports yet in {db.parent / 'exports'}\n"
