"""`curator generate`: teacher generation for a family (plan, dry run, run, batch, procedural)."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli.base import cli, db_option, families as project_families, open_store, safe_line, settings as project_settings


@cli.command()
@click.option("--family", "family_name", required=True, help="Task family (see `curator families`).")
@click.option("--limit", type=click.IntRange(1), default=None,
              help="Jobs this run sends (candidates for --procedural), default 10: the family's queued jobs first, "
                   "then new ones to make up the count. A count to add, not a total.")
@click.option("--resume", is_flag=True,
              help="Send only the family's jobs already queued (left by a stopped run, queued by `A` or the Passages "
                   "screen), up to --limit if given; plan nothing new.")
@click.option("--per-passage", type=click.IntRange(1), default=1, show_default=True, help="Jobs per passage for passage families.")
@click.option("--batch", "use_batch", is_flag=True, help="Use the Message Batches API (half price).")
@click.option("--wait", is_flag=True, help="With --batch: poll until every batch has ended.")
@click.option("--dry-run", is_flag=True, help="Estimate requests, tokens and cost; send nothing.")
@click.option("--procedural", is_flag=True, help="Use the built-in generators (math, tools): no API key needed.")
@db_option
def generate(family_name: str, limit: int | None, resume: bool, per_passage: int, use_batch: bool, wait: bool,
             dry_run: bool, procedural: bool, db: Path | None) -> None:
    """Take --limit jobs of a family (those queued before first, then new ones) and run them through the
    teacher (a kill loses nothing: run it again and it resumes the jobs left first)."""
    from curator.services import generate as service

    settings, fams = project_settings(db), project_families(db)
    if family_name not in fams:
        raise click.UsageError(f"unknown family {family_name!r} (known: {', '.join(sorted(fams))})")
    if resume and procedural:
        raise click.UsageError("--resume is for teacher runs (a procedural run takes the queued jobs first anyway)")
    if procedural and (use_batch or wait):
        raise click.UsageError(f"{'--batch' if use_batch else '--wait'} is for teacher runs (the built-in generators "
                               "send nothing)")
    if wait and not use_batch:
        raise click.UsageError("--wait goes with --batch (a run without it ends when its jobs are done)")
    limit = limit if limit is not None or resume else 10
    fam = fams[family_name]
    if not (procedural or dry_run):  # the key and the server, before anything is queued or sent
        click.echo(f"teacher: {service.check_teacher(settings)}", err=True)
    with open_store(db, readonly=dry_run) as store:
        if procedural:
            try:
                click.echo(service.procedural_dry_run(fam, limit=limit) if dry_run else
                           service.procedural(store, fam, settings, limit=limit).summary())
            except ValueError as exc:
                raise click.UsageError(str(exc)) from exc
            return
        if dry_run:
            click.echo(service.estimate(store, fam, settings, limit=limit, per_passage=per_passage,
                                        batch=use_batch, resume=resume).summary())
            return
        if use_batch:
            out = service.run_batch(store, fams, family_name, settings, limit=limit, per_passage=per_passage,
                                    wait=wait, on_chunk=lambda sent: click.echo(sent.line()), resume=resume)
            click.echo(out.summary())
            if out.report.stopped:
                raise click.ClickException(safe_line(out.report.stopped, 500))
            return
        result = service.run(store, fams, family_name, settings, limit=limit, per_passage=per_passage, resume=resume)
    click.echo(result.plan.summary())
    for error in result.run.errors[-10:]:
        click.echo(f"  {safe_line(error, 300)}", err=True)
    click.echo(result.summary())
    if result.run.stopped:
        raise click.ClickException(safe_line(result.run.stopped, 500))
