"""`curator classify`: passages tagged for the families."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli.base import cli, db_option, open_store, project


@cli.command("classify")
@click.option("--llm", is_flag=True, required=True, help="Refine the heuristic tags with the teacher.")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True, help="Passages to classify at most.")
@db_option
def classify_cmd(llm: bool, limit: int, db: Path | None) -> None:
    """Refine passage tags and quality with the teacher (through the job machinery)."""
    from curator.services.classify import classify

    settings, fam = project(db).settings, project(db).rubric("classify")
    with open_store(db) as store:
        result = classify(store, fam, settings, limit=limit)
    click.echo(result.summary())
