"""`curator prepare`: a corpus → Parquet shards of passages and a manifest, on datatrove (scale extra)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from curator.cli.base import cli, safe_line
from curator.config import Window


@cli.command()
@click.argument("corpus", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for passages/*.parquet and manifest.json (new or empty; the same run resumes).")
@click.option("--executor", type=click.Choice(["local", "slurm", "ray"]), default="local", show_default=True,
              help="Where the tasks run: this machine, a Slurm cluster (--partition, --time) or Ray.")
@click.option("--tasks", type=click.IntRange(1), default=1, show_default=True, help="Tasks the corpus is split into.")
@click.option("--workers", type=click.IntRange(1), default=None, help="Tasks run at once (default: all).")
@click.option("--partition", default=None, help="Slurm partition.")
@click.option("--time", "time_limit", default=None, help="Slurm time limit per task, e.g. 4:00:00.")
@click.option("--near-dedup/--no-near-dedup", default=True, show_default=True,
              help="Drop near-duplicates (MinHash on the match key) after exact duplicates.")
@click.option("--field", "field_name", default="text", show_default=True, help="Text field of .jsonl/.parquet rows.")
@click.option("--min-chars", type=click.IntRange(1), default=Window.min_chars, show_default=True, help="Smallest passage wanted.")
@click.option("--max-chars", type=click.IntRange(1), default=Window.max_chars, show_default=True, help="Largest passage allowed.")
def prepare(corpus: tuple[Path, ...], out_dir: Path, executor: str, tasks: int, workers: int | None,
            partition: str | None, time_limit: str | None, near_dedup: bool, field_name: str, min_chars: int,
            max_chars: int) -> None:
    """Prepare a corpus (.txt, .md, .jsonl, .parquet; folders recursively) with datatrove: passages split,
    classified, keyed and deduplicated across tasks, written as Parquet shards for `curator import`.

    Needs the scale extra (pip install -e '.[scale]'). Exits 1 without it or on an error; as `curator import`,
    3 when a file or line was skipped (named on stderr) and 4 when nothing was read.
    """
    from curator.scale import ScaleUnavailable, require_datatrove

    try:
        require_datatrove()
    except ScaleUnavailable as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    from curator.services.prepare import PrepareError, prepare as run_prepare

    try:
        window = Window(min_chars, max_chars)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        report = run_prepare(list(corpus), out_dir, executor=executor, tasks=tasks, workers=workers,
                             partition=partition, time_limit=time_limit, near_dedup=near_dedup,
                             field_name=field_name, window=window)
    except PrepareError as exc:
        raise click.UsageError(str(exc)) from exc
    for problem in report.problems:
        click.echo(f"skipped: {safe_line(problem, 400)}", err=True)
    click.echo(report.summary())
    if not report.files:  # (the exit codes of `curator import`: 4 nothing read, 3 some of it skipped)
        sys.exit(4)
    if report.problems:
        sys.exit(3)
