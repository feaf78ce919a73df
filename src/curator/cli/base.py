"""Shared pieces of the command line: the root group, `--db` (before or after the command name),
opening the store, settings and families, one-line output of untrusted text."""

from __future__ import annotations

import importlib
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from curator import __version__
from curator.config import ConfigError, Settings, db_path
from curator.store import Store


def db_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--db PATH` for a command (default: the root's --db, else $CURATOR_DB, else db/curator.db)."""
    return click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        help="Database file (default: $CURATOR_DB or db/curator.db).")(func)


def resolve_db(db: Path | None) -> Path:
    """The database a command uses: its own --db, else the nearest --db given before its name."""
    if db is not None:
        return db_path(db)
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        given = ctx.params.get("db")
        if given is not None:
            return db_path(given)
        ctx = ctx.parent
    return db_path(None)


def open_store(db: Path | None, *, readonly: bool = False) -> Store:
    """The store for a command; read-only commands open the file read-only (and never create it)."""
    return Store(resolve_db(db), readonly=readonly)


def settings() -> Settings:
    try:
        return Settings.load()
    except ConfigError:
        raise


def families(config: Settings, *, show_errors: bool = True):  # -> LoadedFamilies
    from curator.families import load_families

    loaded = load_families(config.prompts_path())
    if show_errors:
        for error in loaded.errors:
            click.echo(f"family disabled: {error}", err=True)
    return loaded


def safe_line(text: str, width: int) -> str:
    """One line of untrusted text for a terminal: control characters shown as visible escapes."""
    from curator.display.inert import visible

    line = visible(" ".join(text.split()))
    return line if len(line) <= width else line[: width - 1] + "…"


_UNSAFE_IN_JSON = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def json_line(value: Any) -> str:
    """One JSON line for a terminal or a pipe: Persian stays readable (not \\u-escaped), but control
    characters and bidi marks, embeddings, overrides and isolates are escaped (the same JSON value), so a
    line can neither drive the terminal nor reorder what is shown."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def open_app(path: Path) -> None:
    from curator.tui.app import CuratorApp  # imported here: the core never imports Textual

    with Store(path):  # open (and migrate) before the screen takes over, so errors print plainly
        pass
    CuratorApp(path).run()


def bar_progress(bar):
    """A service's `progress(done, total)` callback moving a click progress bar."""
    last = [0]

    def progress(done: int, total: int) -> None:
        bar.update(done - last[0])
        last[0] = done
    return progress


def coverage_map(config: Settings, *, show_errors: bool = False):
    """The target mix of `curator.toml` over the families (a bad map is a one-line error)."""
    from curator.services.coverage import CoverageError, coverage_map as build

    try:
        return build(config, families(config, show_errors=show_errors).families)
    except CoverageError as exc:
        raise click.ClickException(str(exc)) from exc


def progress_bar(total: int, label: str):
    """A click progress bar on a terminal, else None."""
    if sys.stderr.isatty() and total:
        return click.progressbar(length=total, label=label, file=sys.stderr)
    return None


# Each command and the modules (in this package) that define it and its subcommands, named after the
# service each is a shell over. A command's modules are imported only when it runs (or for `--help`):
# `curator gate` does not pay for the app, the exporter or the teacher.
COMMANDS: dict[str, tuple[str, ...]] = {
    "augment": ("augment",), "candidates": ("candidates",), "classify": ("classify",), "coverage": ("coverage",),
    "demo": ("demo",), "embed": ("embed",), "eval": ("seeds",), "export": ("export",), "families": ("families",),
    "gate": ("gate", "judge"), "generate": ("generate",), "import": ("corpus_import",), "jobs": ("jobs",),
    "passages": ("passages",), "prepare": ("prepare",), "seeds": ("seeds",), "stats": ("stats",),
    "triage": ("triage",),
}


class LazyGroup(click.Group):
    """The root group: a command's modules are imported when it is asked for (see `COMMANDS`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            for module in COMMANDS.get(cmd_name, ()):
                importlib.import_module(f"curator.cli.{module}")
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@db_option
@click.version_option(__version__, prog_name="curator")
@click.pass_context
def cli(ctx: click.Context, db: Path | None) -> None:
    """Turn a pile of Persian documents into a small, clean, leak-free SFT dataset.

    With no command, opens the terminal app on the database.
    """
    if ctx.invoked_subcommand is None:
        open_app(resolve_db(db))
