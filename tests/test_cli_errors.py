"""The command line's one error path: any expected error (every `CuratorError`) is one line on stderr
that names the file, and a non-zero exit; never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.cli import main
from curator.errors import CuratorError
from curator.store import Store
from curator.store import base as store_base
from tui_fixtures import build_db


def run(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as ended:
        main(list(args))
    return ended.value.code, capsys.readouterr().err


def test_a_read_only_database_is_one_line_naming_the_file(tmp_path: Path, monkeypatch, capsys) -> None:
    db = build_db(tmp_path / "cli.db")
    with Store(db, readonly=True) as store:
        target = store.conn.execute("SELECT id FROM examples WHERE kind = 'candidate' LIMIT 1").fetchone()[0]
    connect = store_base.StoreBase._connect

    def read_only(self):  # as a file the process may not write (the tests run as root: permissions do not stop it)
        conn = connect(self)
        conn.execute("PRAGMA query_only = ON")
        return conn

    monkeypatch.setattr(store_base.StoreBase, "_connect", read_only)
    code, err = run(monkeypatch, capsys, "--db", str(db), "triage", "reject", str(target))
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, err
    assert lines[0].startswith(f"error: {db}: cannot write: the database is read-only") and "Traceback" not in err


def test_every_expected_error_derives_from_one_base() -> None:
    import importlib
    import inspect
    import pkgutil

    import curator

    expected = []
    for info in pkgutil.walk_packages(curator.__path__, "curator."):
        if info.name.startswith(("curator.tui", "curator.scale.pipeline", "curator.__main__")):
            continue
        module = importlib.import_module(info.name)
        expected += [c for _, c in inspect.getmembers(module, inspect.isclass)
                     if c.__module__ == module.__name__ and issubclass(c, Exception) and c.__name__.endswith("Error")]
    assert expected and all(issubclass(c, CuratorError) for c in expected), \
        [c.__qualname__ for c in expected if not issubclass(c, CuratorError)]


# Options that take an id or a seed, where any integer is a value (a wrong id is reported by the command).
_ANY_INT = {"--seed", "--run", "--resume", "--from-eval", "--show", "--bulk"}


def _options(command, path=()):
    import click

    for param in command.params:
        if isinstance(param, click.Option):
            yield " ".join(path), param
    for name in getattr(command, "list_commands", lambda ctx: [])(None):
        yield from _options(command.get_command(None, name), (*path, name))


def test_every_count_option_takes_only_counts() -> None:
    """A count given as an int (a limit, a sample, workers, a timeout) is a range: `--limit -3` is a usage
    error, never "no limit" (which would plan and spend for everything)."""
    import click

    from curator.cli import cli

    plain = [f"{where} {p.opts[0]}" for where, p in _options(cli)
             if p.type in (click.INT, click.FLOAT) and p.opts[0] not in _ANY_INT]
    assert not plain, plain


@pytest.mark.parametrize("args", [("gate", "judge", "--limit", "-3"), ("classify", "--llm", "--limit", "-3"),
                                  ("embed", "--limit", "-1"), ("passages", "list", "--limit", "-1"),
                                  ("augment", "--max-jobs", "-3", "--dry-run"),
                                  ("gate", "audit", "dedup", "--sample", "-5"),
                                  ("prepare", "corpus", "--out", "prepared", "--workers", "0"),
                                  ("eval", "run", "--timeout", "-1")])
def test_a_negative_count_is_a_usage_error_and_touches_nothing(tmp_path: Path, monkeypatch, capsys, args) -> None:
    db = tmp_path / "none.db"
    code, err = run(monkeypatch, capsys, "--db", str(db), *args)
    assert code == 2 and "is not in the range" in err, err
    assert not db.exists()


def _first_candidate(db: Path) -> int:
    with Store(db, readonly=True) as store:
        return store.conn.execute("SELECT id FROM examples WHERE kind = 'candidate' ORDER BY id LIMIT 1").fetchone()[0]


@pytest.mark.parametrize("note", [None, "", "   "])
def test_a_note_needs_its_text(tmp_path: Path, monkeypatch, capsys, note) -> None:
    db = build_db(tmp_path / "cli.db")
    target = _first_candidate(db)
    with Store(db, readonly=True) as store:
        before = store.count("decisions")
    code, err = run(monkeypatch, capsys, "--db", str(db), "triage", "note", str(target),
                    *(() if note is None else ("--note", note)))
    assert code == 2 and "--note" in err, err
    with Store(db, readonly=True) as store:
        assert store.count("decisions") == before


def test_no_bulk_decision_yet_is_said(tmp_path: Path, monkeypatch, capsys) -> None:
    db = build_db(tmp_path / "cli.db")
    main(["--db", str(db), "triage", "bulks"])
    assert capsys.readouterr().out.startswith("no bulk decisions yet")


@pytest.mark.parametrize("args", [("export",), ("triage", "accept", "3"), ("gate",), ("augment", "--yes"), ("embed",),
                                  ("passages", "set", "1", "--quality", "high"), ("seeds", "role", "1", "eval")])
def test_a_command_that_does_not_import_never_makes_a_database(tmp_path: Path, monkeypatch, capsys, args) -> None:
    """A mistyped --db names the file instead of working on a new, empty database (an export of nothing)."""
    typo = tmp_path / "typo.db"
    code, err = run(monkeypatch, capsys, "--db", str(typo), *args)
    assert code == 1 and err.strip() == f"error: {typo}: no database here (import a corpus or run `curator demo` first)"
    assert list(tmp_path.iterdir()) == []


def test_an_import_makes_the_database(tmp_path: Path, monkeypatch, capsys) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("کوه دماوند بلندترین قلهٔ ایران است و در رشته‌کوه البرز قرار دارد. " * 8, encoding="utf-8")
    main(["--db", str(tmp_path / "new.db"), "import", str(corpus)])
    assert (tmp_path / "new.db").exists()


def test_a_reason_is_shown_as_stored_and_a_new_one_is_pointed_out(tmp_path: Path, monkeypatch, capsys) -> None:
    db = build_db(tmp_path / "cli.db")
    target = _first_candidate(db)
    main(["--db", str(db), "triage", "reject", str(target), "--reason", "Bad Format"])
    out = capsys.readouterr()
    assert out.out.strip() == f"#{target} reject (bad_format)" and out.err == ""  # a configured reason
    main(["--db", str(db), "triage", "reject", str(target), "--reason", "bad_fromat"])
    assert "note: 'bad_fromat' is a new reason code (the configured ones: " in capsys.readouterr().err
    code, err = run(monkeypatch, capsys, "--db", str(db), "triage", "reject", str(target), "--reason", "bad format!")
    assert code == 1 and "a reason code is up to 32 lowercase letters" in err
    with Store(db, readonly=True) as store:
        assert [d.reason for d in store.decisions(target)] == ["bad_format", "bad_fromat"]


def test_an_export_with_nothing_to_train_on_writes_no_version(tmp_path: Path, monkeypatch, capsys) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("کوه دماوند بلندترین قلهٔ ایران است و در رشته‌کوه البرز قرار دارد. " * 8, encoding="utf-8")
    main(["--db", str(tmp_path / "p.db"), "import", str(corpus)])
    capsys.readouterr()
    code, err = run(monkeypatch, capsys, "--db", str(tmp_path / "p.db"), "export")
    assert code == 1 and "nothing to export yet: no accepted candidate and no few-shot or polish seed" in err
    assert not (tmp_path / "exports").exists()


@pytest.mark.parametrize("args, said", [
    (("triage", "accept", "--queue", "flagged", "19"), "--queue goes with --where"),
    (("triage", "reject", "--yes", "19"), "--yes goes with --where"),
    (("generate", "--family", "school_math", "--procedural", "--batch"), "--batch is for teacher runs"),
    (("generate", "--family", "school_math", "--procedural", "--wait"), "--wait is for teacher runs"),
    (("generate", "--family", "school_math", "--wait"), "--wait goes with --batch"),
    (("augment", "--per-failure", "3", "--dry-run"), "--per-failure goes with --from-eval"),
], ids=["queue-with-ids", "yes-with-ids", "procedural-batch", "procedural-wait", "wait-alone", "per-failure-alone"])
def test_options_that_cannot_go_together_are_refused_before_anything_runs(tmp_path: Path, monkeypatch, capsys,
                                                                          args, said) -> None:
    """An option the command would ignore is a usage error (exit 2), not a run that did something else."""
    import sqlite3

    db = build_db(tmp_path / "opts.db")
    with sqlite3.connect(db) as conn:
        before = list(conn.iterdump())
    code, err = run(monkeypatch, capsys, "--db", str(db), *args)
    assert code == 2 and said in err, err
    with sqlite3.connect(db) as conn:
        assert list(conn.iterdump()) == before
