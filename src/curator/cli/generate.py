"""Generation commands: families, generate (plan, dry run, run, batch, procedural), jobs, classify."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from curator.cli.base import cli, db_option, families as _families_loader, open_store, safe_line
from curator.cli.base import settings as _settings_loader


@cli.command()
def families() -> None:
    """List the task families in prompts/ and validate their files."""
    loaded = _families_loader(_settings_loader(), show_errors=False)
    for name, fam in sorted(loaded.families.items()):
        dims = ", ".join(f"{k}:{len(v)}" for k, v in fam.dimensions.items())
        click.echo(f"{name:<16} {fam.schema:<18} passage={fam.passage:<8} hash={fam.template_hash} {dims}")
    for error in loaded.errors:
        click.echo(f"invalid: {error}", err=True)
    if loaded.errors:
        sys.exit(1)


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

    settings = _settings_loader()
    fams = _families_loader(settings).families
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


@cli.command()
@click.option("--errors", "show_errors", is_flag=True, help="List failed jobs with their last error.")
@click.option("--show", "show_id", type=int, default=None, help="Show one job with every attempt and its raw response.")
@db_option
def jobs(show_errors: bool, show_id: int | None, db: Path | None) -> None:
    """Job status per family: counts, attempts, tokens, cost and errors."""
    from curator.services.generate import job_detail, jobs_overview

    with open_store(db, readonly=True) as store:
        if show_id is not None:
            try:
                detail = job_detail(store, show_id)
            except KeyError:
                raise click.ClickException(f"no job {show_id}") from None
            for key, value in detail.job.model_dump(exclude={"raw_response"}).items():
                click.echo(f"{key:<18} {value}")
            click.echo(f"attempts ({len(detail.attempts)}):")
            for a in detail.attempts:
                click.echo(f"  #{a['attempt']} {a['outcome'] or 'running'} by {a['owner'] or '-'} "
                           f"{a['started_at']} → {a['finished_at'] or '…'}; {a['input_tokens']} in "
                           f"{a['output_tokens']} out ${a['cost_usd']:.4f}; detail {a['detail']}")
                if a["error"]:
                    click.echo(f"    error: {safe_line(a['error'], 500)}")
                click.echo(f"    raw: {safe_line(a['raw_response'] or '(none)', 20000)}")
            return
        overview = jobs_overview(store, errors=200 if show_errors else 0)
        if not overview.rows:
            click.echo("no jobs")
        for r in overview.rows:
            click.echo(f"{r['kind']:<11} {r['family'] or '-':<16} {r['state']:<8} {r['jobs']:>6} jobs "
                       f"{r['attempts']:>6} attempts {r['input_tokens']:>9} in {r['output_tokens']:>9} out "
                       f"${r['cost_usd']:.4f}")
        click.echo(f"total cost ${overview.cost_usd:.4f}")
        for job in overview.errors:
            click.echo(f"job {job.id} [{job.state}, {job.attempts} attempts]: {safe_line(job.last_error or '', 300)}")


@cli.command("classify")
@click.option("--llm", is_flag=True, required=True, help="Refine the heuristic tags with the teacher.")
@click.option("--limit", default=50, show_default=True)
@db_option
def classify_cmd(llm: bool, limit: int, db: Path | None) -> None:
    """Refine passage tags and quality with the teacher (through the job machinery)."""
    from curator.families import load_family
    from curator.services.classify import classify

    settings = _settings_loader()
    fam = load_family(settings.prompts_path() / "classify.toml")
    with open_store(db) as store:
        result = classify(store, fam, settings, limit=limit)
    click.echo(result.summary())
