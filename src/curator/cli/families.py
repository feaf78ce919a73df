"""`curator families`: the task families and their problems."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from curator.cli.base import cli, db_option, project


@cli.command()
@db_option
def families(db: Path | None) -> None:
    """List the task families in prompts/ and validate their files."""
    loaded = project(db).loaded
    for name, fam in sorted(loaded.families.items()):
        dims = ", ".join(f"{k}:{len(v)}" for k, v in fam.dimensions.items())
        click.echo(f"{name:<16} {fam.schema:<18} passage={fam.passage:<8} hash={fam.template_hash} {dims}")
    for error in loaded.errors:
        click.echo(f"invalid: {error}", err=True)
    if loaded.errors:
        sys.exit(1)
