"""Seed and private eval commands."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli.base import cli, db_option, open_store
from curator.seeds import import_seeds


@cli.group()
def seeds() -> None:
    """Hand-written seed examples (fewshot, eval, polish)."""


@seeds.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
def seeds_import(path: Path, db: Path | None) -> None:
    """Import seeds from a JSONL file (one example a line, with family and role)."""
    _import_examples(path, db, eval_items=False)


def _import_examples(path: Path, db: Path | None, *, eval_items: bool) -> None:
    with open_store(db) as store:
        report = import_seeds(store, path, eval_items=eval_items)
    for problem in report.problems:
        click.echo(f"skipped: {problem}", err=True)
    what = "eval items" if eval_items else "seeds"
    click.echo(f"{report.added} {what} added ({report.existing} already present"
               f"{f', {len(report.problems)} skipped' if report.problems else ''})")

@cli.group("eval")
def eval_group() -> None:
    """Private eval items: never trained on, never sent to the teacher."""


@eval_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
def eval_import(path: Path, db: Path | None) -> None:
    """Import private eval items from JSONL (messages, optional family) for decontamination."""
    _import_examples(path, db, eval_items=True)
