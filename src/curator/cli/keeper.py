"""`curator candidates keeper ID`: the curator makes a duplicate the keeper of its cluster (`services.keeper`)."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli.base import db_option, open_store
from curator.cli.candidates import candidates


@candidates.command("keeper")
@click.argument("example_id", type=int)
@click.option("--note", default=None, help="Why (kept in the decision log; by default it names the former keeper).")
@db_option
def candidates_keeper(example_id: int, note: str | None, db: Path | None) -> None:
    """Make this duplicate the keeper of its duplicates instead of the one the dedup gates kept: it
    passes, the former keeper and the rest of its cluster fail naming it, and later gate runs keep the
    choice. A former keeper already accepted stays accepted (a warning says export now drops it). A
    match of the private eval set has no keeper; a copy of a seed never replaces it."""
    from curator.services.keeper import make_keeper

    with open_store(db) as store:
        swap = make_keeper(store, example_id, note)
    click.echo(swap.summary())
    for warning in swap.warnings:
        click.echo(f"warning: {warning}", err=True)
