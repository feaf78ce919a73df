"""`curator import`: corpus files into passages."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from curator.cli.base import (cli, db_option, open_store, progress_bar,
                              safe_line)
from curator.config import Window


# `curator import` exit codes (1 is any error that stopped it, as for every command).
EXIT_PARTIAL = 3  # some file or line was skipped (named on stderr); the rest was imported
EXIT_NOTHING = 4  # no file was read (no such path, no corpus files, every file skipped)
EXIT_CODES = {"ok": 0, "partial": EXIT_PARTIAL, "nothing": EXIT_NOTHING}


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--field", "field_name", default="text", show_default=True, help="Text field of .jsonl rows.")
@click.option("--min-chars", type=click.IntRange(1), default=Window.min_chars, show_default=True, help="Smallest passage wanted.")
@click.option("--max-chars", type=click.IntRange(1), default=Window.max_chars, show_default=True, help="Largest passage allowed.")
@click.option("--tag", "tags", multiple=True, help="Prepared shards: only passages with this tag (repeatable).")
@click.option("--quality", default="", help="Prepared shards: only these quality levels, e.g. high,medium.")
@click.option("--sample", type=click.IntRange(1), default=None, help="Prepared shards: a seeded sample of N passages per group.")
@click.option("--per", type=click.Choice(["family", "tag"]), default="family", show_default=True,
              help="The groups --sample takes N passages of.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --sample.")
@db_option
def import_cmd(paths: tuple[Path, ...], field_name: str, min_chars: int, max_chars: int, tags: tuple[str, ...],
               quality: str, sample: int | None, per: str, seed: int, db: Path | None) -> None:
    """Import .txt, .md, .jsonl and .parquet files (folders recursively) as passages.

    Parquet shards written by `curator prepare` come in as prepared (their original files and
    offsets kept), with a selection: --tag, --quality, --sample N --per family|tag --seed. Any other
    Parquet file is a corpus: its --field column is split and classified like JSONL.

    Exits 0 when everything was read (even if nothing was new), 3 when a file or line was skipped,
    4 when no file was read, 1 on an error.
    """
    from curator.services.corpus_import import Selection, import_corpus, import_size

    try:
        window = Window(min_chars, max_chars)
        levels = tuple(q.strip() for q in quality.split(",") if q.strip())
        if bad := [q for q in levels if q not in ("high", "medium", "reject")]:
            raise ValueError(f"unknown quality {bad[0]!r} (use high, medium, reject)")
        selection = Selection(tuple(tags), levels, sample, per, seed)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    with open_store(db, creates=True) as store:
        bar = progress_bar(import_size(list(paths)), "importing")
        try:
            if bar is None:
                report = import_corpus(store, list(paths), field_name=field_name, window=window, selection=selection)
            else:
                with bar:
                    report = import_corpus(store, list(paths), field_name=field_name, window=window,
                                           selection=selection, progress=lambda done, _total: bar.update(done - bar.pos))
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    for problem in report.problems:
        click.echo(f"skipped: {safe_line(problem, 400)}", err=True)
    click.echo(report.summary())
    if EXIT_CODES[report.outcome]:
        sys.exit(EXIT_CODES[report.outcome])
