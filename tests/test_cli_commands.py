"""The command line loads only the command it runs: every command is in the table that says which
modules define it, and each module is named after the command it holds."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import curator.cli
from curator.cli.base import COMMANDS, cli
from curator.store import Store


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


def test_every_palette_command_is_a_command_line_with_real_options() -> None:
    """The palette is declared from the same table: each entry is a command (and options) the CLI has."""
    import click

    from curator.commands import PALETTE
    from curator.tui.commands import COMMANDS as PALETTE_COMMANDS

    assert [c.use for c in PALETTE_COMMANDS] == list(PALETTE)
    for use in PALETTE:
        ctx = click.Context(cli)
        command: click.Command | None = cli
        for word in use.path:
            assert isinstance(command, click.Group), use.command
            command = command.get_command(ctx, word)
            assert command is not None, f"curator {use.command}: no such command"
        declared = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert set(use.options) <= declared, f"curator {use.command}: unknown option"
        assert f"(curator {use.command})" in next(c.help for c in PALETTE_COMMANDS if c.use == use)


def test_a_project_is_built_once_per_command(tmp_path, monkeypatch) -> None:
    """One invocation reads curator.toml and the family files once, however many helpers ask."""
    from click.testing import CliRunner

    import curator.project as project

    loads = {"settings": 0, "families": 0}
    real_settings, real_families = project.Settings.load, project.load_families

    def count_settings(*args, **kwargs):
        loads["settings"] += 1
        return real_settings(*args, **kwargs)

    def count_families(*args, **kwargs):
        loads["families"] += 1
        return real_families(*args, **kwargs)

    monkeypatch.setattr(project.Settings, "load", count_settings)
    monkeypatch.setattr(project, "load_families", count_families)
    monkeypatch.chdir(tmp_path)
    with Store(tmp_path / "p.db"):
        pass
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "p.db"), "generate", "--family", "school_math",
                                      "--procedural", "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert loads == {"settings": 1, "families": 1}


def test_every_command_that_opens_a_project_takes_db_after_its_name() -> None:
    """`curator X --db PATH` as the README says; `prepare` writes files and opens no project."""
    from click import Group

    def commands(group, path=()):
        for name in group.list_commands(None):
            command = group.get_command(None, name)
            if isinstance(command, Group):
                yield from commands(command, (*path, name))
            else:
                yield " ".join((*path, name)), command

    without = [name for name, command in commands(cli) if not any(p.name == "db" for p in command.params)]
    assert without == ["prepare"], without


def test_every_option_says_what_it_does() -> None:
    """`--help` is the manual at the terminal: no option is listed bare."""
    import click

    def commands(group, path=()):
        for name in group.list_commands(None):
            command = group.get_command(None, name)
            if isinstance(command, click.Group):
                yield from commands(command, (*path, name))
            else:
                yield " ".join((*path, name)), command

    bare = [f"curator {name} {param.opts[0]}" for name, command in commands(cli) for param in command.params
            if isinstance(param, click.Option) and not param.hidden and not (param.help or "").strip()]
    assert bare == [], bare
