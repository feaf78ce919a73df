"""The `curator` command line: one command per pipeline stage. No arguments opens the app."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from curator import __version__
from curator.config import SAMPLE_DB, Window, db_path
from curator.corpus import CorpusError, import_paths
from curator.sample import prepare_sample
from curator.seeds import import_seeds
from curator.store import Store, StoreError


def db_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--db PATH` for a command (default: $CURATOR_DB, else db/curator.db)."""
    return click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        help="Database file (default: $CURATOR_DB or db/curator.db).")(func)


def open_store(db: Path | None) -> Store:
    return Store(db_path(db))


def _open_app(path: Path) -> None:
    from curator.tui.app import CuratorApp  # imported here: the core never imports Textual

    with Store(path):  # open (and migrate) before the screen takes over, so errors print plainly
        pass
    CuratorApp(path).run()


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@db_option
@click.version_option(__version__, prog_name="curator")
@click.pass_context
def cli(ctx: click.Context, db: Path | None) -> None:
    """Turn a pile of Persian documents into a small, clean, leak-free SFT dataset.

    With no command, opens the terminal app on the database.
    """
    if ctx.invoked_subcommand is None:
        _open_app(db_path(db))


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--field", "field_name", default="text", show_default=True, help="Text field of .jsonl rows.")
@click.option("--min-chars", default=Window.min_chars, show_default=True, help="Smallest passage wanted.")
@click.option("--max-chars", default=Window.max_chars, show_default=True, help="Largest passage allowed.")
@db_option
def import_cmd(paths: tuple[Path, ...], field_name: str, min_chars: int, max_chars: int, db: Path | None) -> None:
    """Import .txt, .md and .jsonl files (folders recursively) as passages."""
    try:
        window = Window(min_chars, max_chars)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    with open_store(db) as store:
        total = sum(p.stat().st_size for p in _files_for_progress(paths))
        if sys.stderr.isatty() and total:
            with click.progressbar(length=total, label="importing", file=sys.stderr) as bar:
                report = import_paths(store, list(paths), field_name=field_name, window=window, progress=bar.update)
        else:
            report = import_paths(store, list(paths), field_name=field_name, window=window)
    for problem in report.problems:
        click.echo(f"skipped: {problem}", err=True)
    click.echo(report.summary())


def _files_for_progress(paths: tuple[Path, ...]) -> list[Path]:
    from curator.corpus.readers import corpus_files

    return corpus_files(list(paths), [])


@cli.group()
def seeds() -> None:
    """Hand-written seed examples (fewshot, eval, polish)."""


@seeds.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
def seeds_import(path: Path, db: Path | None) -> None:
    """Import seeds from a JSONL file (one example a line, with family and role)."""
    with open_store(db) as store:
        report = import_seeds(store, path)
    for problem in report.problems:
        click.echo(f"skipped: {problem}", err=True)
    click.echo(f"{report.added} seeds added ({report.existing} already present"
               f"{f', {len(report.problems)} skipped' if report.problems else ''})")


@cli.command()
@db_option
def stats(db: Path | None) -> None:
    """Counts per table, per passage tag and quality, and per example kind and state."""
    with open_store(db) as store:
        sections = {
            "tables": store.table_counts(),
            "passage quality": store.group_counts("passages", "quality"),
            "passage tags": store.group_counts("passages", "tags"),
            "passage families": store.group_counts("passages", "families"),
            "example kinds": store.group_counts("examples", "kind"),
            "seed roles": dict(store.conn.execute(
                "SELECT role, count(*) FROM examples WHERE kind = 'seed' GROUP BY role").fetchall()),
            "example states": store.group_counts("examples", "state"),
        }
    for title, counts in sections.items():
        click.echo(f"{title}:")
        if not counts:
            click.echo("  (none)")
        for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            click.echo(f"  {name:<24} {n:>8}")


@cli.command()
@click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path), default=SAMPLE_DB,
              show_default=True, help="Where to build the sample database.")
@click.option("--no-app", is_flag=True, help="Only build the sample database.")
def demo(db: Path, no_app: bool) -> None:
    """Build the bundled sample project (Persian corpus and seeds) and open the app on it."""
    with Store(db) as store:
        summary = prepare_sample(store)
    click.echo(f"sample project in {db}: {summary}")
    if not no_app:
        _open_app(db)


def main() -> None:
    """Entry point: errors become one clear line and a non-zero exit, not a traceback."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (StoreError, CorpusError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence for a CLI
        if os.environ.get("CURATOR_DEBUG"):
            raise
        click.echo(f"error: {type(exc).__name__}: {exc} (set CURATOR_DEBUG=1 for the traceback)", err=True)
        sys.exit(1)
