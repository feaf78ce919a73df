"""`curator generate`: teacher generation for a family (plan, dry run, run, batch, procedural)."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli.base import cli, db_option, families as project_families, open_store, safe_line, settings as project_settings


@cli.command()
@click.option("--family", "family_name", required=True, help="Task family (see `curator families`).")
@click.option("--limit", default=10, show_default=True, help="Jobs to plan (candidates for --procedural).")
@click.option("--per-passage", default=1, show_default=True, help="Jobs per passage for passage families.")
@click.option("--batch", "use_batch", is_flag=True, help="Use the Message Batches API (half price).")
@click.option("--wait", is_flag=True, help="With --batch: poll until every batch has ended.")
@click.option("--dry-run", is_flag=True, help="Estimate requests, tokens and cost; send nothing.")
@click.option("--procedural", is_flag=True, help="Use the built-in generators (math, tools): no API key needed.")
@db_option
def generate(family_name: str, limit: int, per_passage: int, use_batch: bool, wait: bool, dry_run: bool,
             procedural: bool, db: Path | None) -> None:
    """Plan jobs for a family and run them through the teacher (resumable: run it again to continue)."""
    from curator.services import generate as service

    settings, fams = project_settings(db), project_families(db)
    if family_name not in fams:
        raise click.UsageError(f"unknown family {family_name!r} (known: {', '.join(sorted(fams))})")
    fam = fams[family_name]
    with open_store(db, readonly=dry_run) as store:
        if procedural:
            try:
                click.echo(service.procedural(store, fam, settings, limit=limit).summary())
            except ValueError as exc:
                raise click.UsageError(str(exc)) from exc
            return
        if dry_run:
            click.echo(service.estimate(store, fam, settings, limit=limit, per_passage=per_passage,
                                        batch=use_batch).summary())
            return
        if use_batch:
            click.echo(service.run_batch(store, fams, family_name, settings, limit=limit, per_passage=per_passage,
                                         wait=wait).summary())
            return
        result = service.run(store, fams, family_name, settings, limit=limit, per_passage=per_passage)
    click.echo(result.plan.summary())
    for error in result.run.errors[-10:]:
        click.echo(f"  {safe_line(error, 300)}", err=True)
    click.echo(result.summary())
