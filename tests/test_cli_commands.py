"""The command line loads only the command it runs: every command is in the table that says which
modules define it, and each module is named after the command it holds."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import curator.cli
from curator.cli.base import COMMANDS, cli


def test_every_command_is_in_the_table_and_every_module_in_the_table_exists() -> None:
    for info in pkgutil.iter_modules(curator.cli.__path__):
        importlib.import_module(f"curator.cli.{info.name}")
    assert set(cli.commands) == set(COMMANDS)
    modules = {info.name for info in pkgutil.iter_modules(curator.cli.__path__)}
    assert {m for ms in COMMANDS.values() for m in ms} == modules - {"base"}


def test_a_command_imports_its_own_modules_only() -> None:
    code = ("import sys; from curator.cli import cli; cli.main(['gate', '--help'], standalone_mode=False); "
            "print(sorted(m for m in sys.modules if m.startswith(('curator.cli.', 'curator.tui', 'textual', "
            "'curator.export', 'curator.teacher'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = eval(out.strip().splitlines()[-1])  # noqa: S307 - our own subprocess's list of names
    assert loaded == ["curator.cli.base", "curator.cli.gate", "curator.cli.judge"], "not the app, exporter or teacher"
