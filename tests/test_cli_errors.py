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
