"""`curator demo`: the bundled sample project, opened in the app."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli.base import cli, open_app, project, wrapped
from curator.config import SAMPLE_DB


@cli.command()
@click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"Where to build the sample database (default: {SAMPLE_DB}).")
@click.option("--no-app", is_flag=True, help="Only build the sample database.")
def demo(db: Path | None, no_app: bool) -> None:
    """Build the bundled sample project (Persian corpus and seeds) and open the app on it."""
    from curator.services.demo import build_demo

    given = db or click.get_current_context().find_root().params.get("db")
    path = Path(given) if given else SAMPLE_DB
    here = project(path)
    click.echo(f"building the sample project in {path} (a few seconds the first time)…", err=True)
    with here.writer() as store:
        report = build_demo(store, here.settings, here.families)
    click.echo(wrapped(f"sample project in {path}: {report.summary()}"))
    if not no_app:
        open_app(path)
