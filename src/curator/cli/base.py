"""Shared pieces of the command line: the root group, `--db` (before or after the command name),
opening the store, settings and families, one-line output of untrusted text."""

from __future__ import annotations

import importlib
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from curator import __version__
from curator.commands import MODULES
from curator.config import Settings, db_path

if TYPE_CHECKING:
    from curator.project import Project
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


def project(db: Path | None = None) -> "Project":
    """This command's project (its database, settings and families), built once per invocation on the
    root context; settings and families are read when first asked for."""
    from curator.project import Project

    path = resolve_db(db)
    ctx = click.get_current_context(silent=True)
    meta = ctx.find_root().meta if ctx is not None else {}
    found = meta.get("curator.project")
    if found is None or found.db_path != path:
        found = meta["curator.project"] = Project(path)
    return found


def open_store(db: Path | None, *, readonly: bool = False, creates: bool = False) -> Store:
    """The store for a command; read-only commands open the file read-only (and never create it). Only a
    command that brings data in (`creates`: the imports) makes a new database; any other names a file
    that is not there (a mistyped --db) instead of working on an empty one."""
    from curator.store.base import no_database

    here = project(db)
    if readonly:
        return here.reader()
    if not creates and not here.db_path.exists():
        raise no_database(here.db_path)
    return here.writer()


def settings(db: Path | None = None) -> Settings:
    """The project's settings (`curator.toml`)."""
    return project(db).settings


def families(db: Path | None = None, *, show_errors: bool = True) -> dict:
    """The project's task families; a family file that failed to load is reported (once) on stderr."""
    here = project(db)
    ctx = click.get_current_context(silent=True)
    meta = ctx.find_root().meta if ctx is not None else {}
    if show_errors and not meta.get("curator.family_errors_shown"):
        meta["curator.family_errors_shown"] = True
        for error in here.loaded.errors:
            click.echo(f"family disabled: {error}", err=True)
    return here.families


def safe_line(text: str, width: int) -> str:
    """One line of untrusted text for a terminal: control characters shown as visible escapes."""
    from curator.display.inert import visible

    line = visible(" ".join(text.split()))
    return line if len(line) <= width else line[: width - 1] + "…"


def wrapped(text: str) -> str:
    """A summary of ours (not untrusted text) wrapped at the terminal's width (80 without a terminal), each
    line of it on its own; a wrapped line goes on indented."""
    import textwrap

    width = room_left(0)
    return "\n".join("\n".join(textwrap.wrap(line, width, subsequent_indent="  ", break_on_hyphens=False,
                                             break_long_words=False)) or line for line in text.splitlines())


def given(*names: str) -> str | None:
    """The first of these options typed on the command line (not left at its default), as --name (for an
    option that goes only with another)."""
    ctx = click.get_current_context()
    for name in names:
        if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE:
            return f"--{name.replace('_', '-')}"
    return None


def confirmed(question: str, refused: str) -> None:
    """Ask `question` on the terminal (no is the default). ClickException(`refused`, exit 1) when the
    answer is no, or when there is no terminal to ask: a script says --yes."""
    if not sys.stdin.isatty():  # (a pipe may never answer, or answer what was meant for something else)
        click.echo(question, err=True)
        raise click.ClickException(f"{refused}: no terminal to ask; add --yes to go on without the question")
    if not click.confirm(question, default=False, err=True):
        raise click.ClickException(f"{refused} (add --yes to skip the question)")


def room_left(used: int, least: int = 20) -> int:
    """The cells a listing's last column (a text) may take on the terminal's line (80 without a terminal),
    after `used` cells of fixed columns: the curator works over SSH at 80x24, where a wrapped table is lost."""
    import shutil

    return max(least, shutil.get_terminal_size((80, 24)).columns - used)


_UNSAFE_IN_JSON = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def json_line(value: Any) -> str:
    """One JSON line for a terminal or a pipe: Persian stays readable (not \\u-escaped), but control
    characters and bidi marks, embeddings, overrides and isolates are escaped (the same JSON value), so a
    line can neither drive the terminal nor reorder what is shown."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def open_app(path: Path) -> None:
    from curator.tui.app import CuratorApp  # imported here: the core never imports Textual

    here = project(path)
    with here.writer():  # open (and migrate) before the screen takes over, so errors print plainly
        pass
    CuratorApp(path, here.settings).run()


def bar_progress(bar):
    """A service's `progress(done, total)` callback moving a click progress bar."""
    last = [0]

    def progress(done: int, total: int) -> None:
        bar.update(done - last[0])
        last[0] = done
    return progress


def coverage_map(db: Path | None = None):  # -> CoverageMap
    """The project's target mix (`coverage.toml` over its families; a bad map is a one-line error)."""
    return project(db).coverage_map()


def progress_bar(total: int, label: str):
    """A click progress bar on a terminal, else None."""
    if sys.stderr.isatty() and total:
        return click.progressbar(length=total, label=label, file=sys.stderr)
    return None


# The modules that define each command (`curator.commands.MODULES`): a command's modules are imported
# only when it runs (or for `--help`), so `curator gate` does not pay for the app, the exporter or the teacher.
COMMANDS = MODULES


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
