"""`curator jobs`: generation jobs and their errors."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli.base import cli, db_option, open_store, safe_line
from curator.display.cell import cut
from curator.display.wording import dollars, short_count

# One line a kind, family and state, within 80 columns (the curator works over SSH at 80x24); tokens in
# short counts (12.3k), every number in full with `--show`.
_JOBS_ROW = "{:<11} {:<13} {:<7} {:>4} {:>5} {:>6} {:>11} {:>6} {:>9}"


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
                click.echo(f"{key:<18} {safe_line(str(value), 2000)}")  # (a teacher's error text is untrusted)
            click.echo(f"attempts ({len(detail.attempts)}):")
            for a in detail.attempts:
                cached = a["detail"].get("cache_read_tokens", 0), a["detail"].get("cache_write_tokens", 0)
                click.echo(f"  #{a['attempt']} {a['outcome'] or 'running'} by {a['owner'] or '-'} "
                           f"{a['started_at']} → {a['finished_at'] or '…'}; {a['input_tokens']} in "
                           f"(cache: {cached[0]} read, {cached[1]} written) {a['output_tokens']} out "
                           f"${a['cost_usd']:.4f}; detail {safe_line(str(a['detail']), 2000)}")
                if a["error"]:
                    click.echo(f"    error: {safe_line(a['error'], 500)}")
                click.echo(f"    raw: {safe_line(a['raw_response'] or '(none)', 20000)}")
            return
        overview = jobs_overview(store, errors=200 if show_errors else 0)
        if not overview.rows:
            click.echo("no jobs")
        else:
            click.echo(_JOBS_ROW.format("kind", "family", "state", "jobs", "tries", "input", "cache r/w", "output",
                                        "cost"))
        for r in overview.rows:
            click.echo(_JOBS_ROW.format(
                cut(r["kind"], 11), cut(r["family"] or "-", 13), r["state"], r["jobs"], r["attempts"],
                short_count(r["input_tokens"]),
                f"{short_count(r['cache_read_tokens'])}/{short_count(r['cache_write_tokens'])}",
                short_count(r["output_tokens"]), f"${r['cost_usd']:.4f}" if r["cost_usd"] < 100 else dollars(r["cost_usd"])))
        if overview.rows:
            click.echo("tokens; input: not from the prompt cache; cache r/w: read from / written to it")
        click.echo(f"total cost {dollars(overview.cost_usd)}")
        if show_errors and not overview.errors:
            click.echo("no failed jobs")
        for job in overview.errors:
            click.echo(f"job {job.id} [{job.state}, {job.attempts} attempts]: {safe_line(job.last_error or '', 300)}")
