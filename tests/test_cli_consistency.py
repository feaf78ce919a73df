"""The commands behave alike: `--db` between a group and its command, an import that skipped lines
exits 1, and JSON output that cannot drive a terminal or reorder what it shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curator.cli import main
from curator.store import Store
from tui_fixtures import build_db


def run(capsys, *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as ended:
        code = ended.code or 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build_db(tmp_path / "cli.db")


@pytest.mark.parametrize("group,command", [("seeds", "list"), ("passages", "list"), ("candidates", "list"),
                                           ("triage", "undo"), ("gate", "report")])
def test_db_may_come_between_a_group_and_its_command(db: Path, capsys, group: str, command: str) -> None:
    code, out, err = run(capsys, group, "--db", str(db), command)
    assert "No such option" not in err and code in (0, 1), err
    if group != "triage":
        assert code == 0, err


@pytest.mark.parametrize("group", ["seeds", "eval"])
def test_an_import_that_skipped_every_line_exits_1(db: Path, tmp_path: Path, capsys, group: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": "not a list"}\nnot json\n', encoding="utf-8")
    code, out, err = run(capsys, group, "import", str(bad), "--db", str(db))
    assert code == 1
    assert err.count("skipped:") == 2 and "bad.jsonl" in err


def test_json_lines_escape_control_and_bidi_override_characters(tmp_path: Path, capsys) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("متن\u202eفارسی با یک نویسهٔ وارونه‌ساز و \x85 یک کنترل که نباید به ترمینال برسد؛ "
                      "این جمله باید آن‌قدر بلند باشد که گذرگاه شود و پذیرفته شود.\n", encoding="utf-8")
    db = tmp_path / "json.db"
    assert run(capsys, "import", str(corpus), "--db", str(db), "--min-chars", "20")[0] == 0
    code, out, _ = run(capsys, "passages", "list", "--json", "--db", str(db))
    assert code == 0 and out.strip()
    assert "\u202e" not in out and "\x85" not in out and "\\u202e" in out
    row = json.loads(out.strip().splitlines()[0])
    with Store(db, readonly=True) as store:
        assert row["text"] == store.conn.execute("SELECT text FROM passages").fetchone()[0], "the same value"


@pytest.mark.parametrize("args", [("coverage",), ("coverage", "--thin"), ("stats",), ("seeds", "list"),
                                  ("passages", "list")])
def test_a_listing_fits_80_columns(db: Path, capsys, args) -> None:
    """The curator works over SSH at 80x24: a table that wraps cannot be read (coverage was 99 wide)."""
    from rich.cells import cell_len

    code, out, err = run(capsys, *args, "--db", str(db))
    assert code == 0, err
    assert out and max(cell_len(line) for line in out.splitlines()) <= 80, out


def test_a_list_that_matches_nothing_says_so_on_stderr(db: Path, capsys) -> None:
    code, out, err = run(capsys, "candidates", "list", "--family", "nosuch", "--db", str(db))
    assert (code, out, err) == (0, "", "no candidate matches\n")
    code, out, err = run(capsys, "candidates", "list", "--json", "--where", "judge=5", "--db", str(db))
    assert (code, out) == (0, "") and err == "no candidate matches\n"
