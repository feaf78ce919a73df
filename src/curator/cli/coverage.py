"""`curator coverage`: the target mix, cell by cell."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli.base import coverage_map, cli, db_option, open_store


@cli.command()
@click.option("--thin", "only_thin", is_flag=True, help="Only the thin cells.")
@db_option
def coverage(only_thin: bool, db: Path | None) -> None:
    """Accepted examples per cell of the coverage map (prompts/coverage.toml) against their targets."""
    from curator.services.coverage import coverage as read_coverage

    cmap = coverage_map(db)
    with open_store(db, readonly=True) as store:
        report = read_coverage(store, cmap)
    for line in report.lines(only_thin=only_thin):
        click.echo(line)
    click.echo(report.summary())
