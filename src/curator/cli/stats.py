"""`curator stats`: what the database holds."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli.base import cli, db_option, open_store, safe_line
from curator.display.wording import dollars


@cli.command()
@db_option
def stats(db: Path | None) -> None:
    """Counts per table, per passage tag and quality, and per example kind and state."""
    from curator.services.stats import stats as read_stats

    with open_store(db, readonly=True) as store:
        report = read_stats(store)
    sections = report.sections
    for title, counts in sections.items():
        click.echo(f"{title}:")
        if not counts:
            click.echo("  (none)")
        for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            click.echo(f"  {safe_line(name, 24):<24} {n:>8}")
    click.echo(f"teacher cost so far: {dollars(report.cost_usd)}")
