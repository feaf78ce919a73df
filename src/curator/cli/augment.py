"""`curator augment`: generation jobs for the thin cells."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli.base import cli, confirmed, db_option, given, open_store, project, safe_line, wrapped


@cli.command()
@click.option("--max-jobs", type=click.IntRange(0), default=20, show_default=True, help="Jobs to queue per thin cell at most.")
@click.option("--dry-run", is_flag=True, help="Show what would be queued and its worst-case cost; store nothing.")
@click.option("--yes", is_flag=True, help="Queue without asking (for scripts).")
@click.option("--from-eval", "from_eval", is_flag=False, flag_value=-1, type=int, default=None, metavar="[RUN]",
              help="Plan for the cells where the student failed in eval run RUN (the latest without a number), "
                   "in proportion to its failures there, instead of the thin cells.")
@click.option("--per-failure", type=click.IntRange(1), default=2, show_default=True, help="With --from-eval: jobs per failed eval item.")
@db_option
def augment(max_jobs: int, dry_run: bool, yes: bool, from_eval: int | None, per_failure: int, db: Path | None) -> None:
    """Queue targeted generation for every thin cell, or where the student fails (--from-eval); then `curator
    generate` runs it, gates and triage follow. Shows the job count and the worst-case cost and asks before queueing."""
    from curator.services import augment as service

    if from_eval is None and given("per_failure"):
        raise click.UsageError("--per-failure goes with --from-eval (the thin cells are planned by --max-jobs)")
    here = project(db)
    settings, families, cmap = here.settings, here.families, here.coverage_map()
    with open_store(db, readonly=dry_run) as store:
        if from_eval is not None:
            planned = service.plan_from_eval(store, families, settings, run=None if from_eval == -1 else from_eval,
                                             jobs_per_failure=per_failure, max_jobs_per_cell=max_jobs)
        else:
            planned = service.plan(store, cmap, families, settings, max_jobs_per_cell=max_jobs)
        for line in planned.lines:
            c = line.cell
            what = line.note or f"{line.jobs} jobs ({line.added} new)"
            click.echo(f"{safe_line(c.family, 16):<16} {c.dimension:<11} {safe_line(c.value, 22):<22} "
                       f"{c.count:>5}/{c.target:<5} {what}")
        if dry_run:
            click.echo(wrapped(service.AugmentReport(planned, 0, dry_run=True).summary()))
            return
        if not planned.jobs:
            click.echo(wrapped("nothing to queue: " + planned.summary()))
            return
        if not yes:
            confirmed(f"queue {planned.summary()}?", "nothing queued")
        click.echo(wrapped(service.queue(store, planned).summary()))
