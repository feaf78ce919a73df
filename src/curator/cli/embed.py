"""`curator embed`: vectors for the meaning gates."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli.base import bar_progress, cli, db_option, open_store, progress_bar, settings as project_settings


@cli.command("embed")
@click.option("--limit", type=click.IntRange(1), default=None, help="Embed at most this many examples.")
@db_option
def embed(limit: int | None, db: Path | None) -> None:
    """Embed every candidate, seed and eval item that has no vector yet (resumable: stop it any time)."""
    from curator.services.embed import embed_missing, pending

    config = project_settings(db)
    with open_store(db) as store:
        todo = pending(store)
        bar = progress_bar(min(todo, limit) if limit is not None else todo, "embedding")
        try:
            if bar is None:
                report = embed_missing(store, config.meaning, limit=limit)
            else:
                with bar:
                    report = embed_missing(store, config.meaning, limit=limit, progress=bar_progress(bar))
        except KeyboardInterrupt:
            raise click.ClickException("interrupted: the examples embedded so far are kept; run again to go on")
    click.echo(report.summary())
    if report.unavailable:
        raise SystemExit(1)
