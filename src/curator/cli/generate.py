"""Generation commands: families, generate (plan, dry run, run, batch, procedural), jobs, classify."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from curator.cli.base import cli, db_option, families as _families_loader, open_store, settings as _settings_loader
from curator.store import Store
from curator.config import Settings


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
    from curator.teacher.plan import plan_generation

    settings = _settings_loader()
    fams = _families_loader(settings).families
    if family_name not in fams:
        raise click.UsageError(f"unknown family {family_name!r} (known: {', '.join(sorted(fams))})")
    fam = fams[family_name]
    with open_store(db) as store:
        if procedural:
            from curator.teacher.procedural.run import run_procedural

            try:
                click.echo(run_procedural(store, fam, settings, limit=limit).summary())
            except ValueError as exc:
                raise click.UsageError(str(exc)) from exc
            return
        if dry_run:
            _dry_run(store, fam, settings, limit, per_passage, use_batch)
            return
        plan = plan_generation(store, fam, settings, limit=limit, per_passage=per_passage)
        click.echo(f"planned {len(plan.jobs)} jobs ({plan.added} new, {plan.existing} planned before)")
        if use_batch:
            _run_batch(store, fams, settings, family_name, wait)
            return
        from curator.teacher.runner import run_blocking

        report = run_blocking(store, fams, settings, family=family_name)
    for error in report.errors[-10:]:
        click.echo(f"  {error}", err=True)
    click.echo(report.summary())


def _dry_run(store: Store, fam, settings: Settings, limit: int, per_passage: int, batch: bool) -> None:
    from curator.teacher.plan import body_input_tokens, build_request, plan_generation
    from curator.teacher.procedural.tools import tools_prompt_text

    plan = plan_generation(store, fam, settings, limit=limit, per_passage=per_passage, dry_run=True)
    done = {r[0] for r in store.conn.execute("SELECT idem_key FROM jobs WHERE state = 'done'")}
    todo = [j for j in plan.jobs if j.idem_key not in done]
    tokens_in = tokens_out = 0
    cost = 0.0
    for job in todo:
        body = build_request(store, fam, job, settings, structured=settings.teacher.structured_outputs != "off",
                             tools_text=tools_prompt_text(job.topic) if fam.schema == "ToolBatch" else "")
        tin, tout = body_input_tokens(body), body["max_tokens"]
        tokens_in, tokens_out = tokens_in + tin, tokens_out + tout
        cost += settings.price(body["model"]).cost(tin, tout, batch=batch)
    model = settings.teacher.model_for(fam.name)
    click.echo(f"dry run, {fam.name} with {model}: {len(todo)} requests to send ({len(plan.jobs) - len(todo)} done before)")
    click.echo(f"  input ≈ {tokens_in} tokens, output ≤ {tokens_out} tokens (max_tokens)")
    click.echo(f"  cost ≤ ${cost:.4f}{' (batch price)' if batch else ''}; nothing was sent or stored")


def _run_batch(store: Store, fams, settings: Settings, family_name: str | None, wait: bool) -> None:
    import asyncio
    import time

    from curator.teacher import batch as batch_mod
    from curator.teacher.client import Teacher

    async def main() -> None:
        teacher = Teacher(settings.teacher)
        try:
            collected = await batch_mod.collect(store, fams, teacher, settings)
            submitted = await batch_mod.submit(store, fams, teacher, settings, family=family_name)
            click.echo(f"batches submitted: {', '.join(submitted.submitted) or 'none'}; "
                       f"collected: {len(collected.collected)}; pending: {len(collected.pending)}")
            while True:
                status = await batch_mod.collect(store, fams, teacher, settings)
                if status.collected:
                    click.echo(status.report.summary())
                if not status.pending or not wait:
                    if status.pending:
                        click.echo(f"still processing: {', '.join(status.pending)} (run again to collect)")
                    return
                time.sleep(min(30.0, max(0.05, settings.teacher.backoff_base_s)))
        finally:
            await teacher.close()

    asyncio.run(main())


@cli.command()
@click.option("--errors", "show_errors", is_flag=True, help="List failed jobs with their last error.")
@click.option("--show", "show_id", type=int, default=None, help="Show one job with its raw response.")
@db_option
def jobs(show_errors: bool, show_id: int | None, db: Path | None) -> None:
    """Job status per family: counts, attempts, tokens, cost and errors."""
    from curator.teacher.runner import job_summary

    with open_store(db) as store:
        if show_id is not None:
            job = store.job(show_id)
            for key, value in job.model_dump().items():
                click.echo(f"{key:<18} {value}")
            return
        rows = job_summary(store)
        if not rows:
            click.echo("no jobs")
        for r in rows:
            click.echo(f"{r['kind']:<11} {r['family'] or '-':<16} {r['state']:<8} {r['jobs']:>6} jobs "
                       f"{r['attempts']:>6} attempts {r['input_tokens']:>9} in {r['output_tokens']:>9} out "
                       f"${r['cost_usd']:.4f}")
        total = sum(r["cost_usd"] for r in rows)
        click.echo(f"total cost ${total:.4f}")
        if show_errors:
            for job in store.jobs("state = 'failed' OR last_error IS NOT NULL"):
                click.echo(f"job {job.id} [{job.state}, {job.attempts} attempts]: {job.last_error}")


@cli.command("classify")
@click.option("--llm", is_flag=True, required=True, help="Refine the heuristic tags with the teacher.")
@click.option("--limit", default=50, show_default=True)
@db_option
def classify_cmd(llm: bool, limit: int, db: Path | None) -> None:
    """Refine passage tags and quality with the teacher (through the job machinery)."""
    from curator.teacher.families import load_family
    from curator.teacher.plan import idem_key
    from curator.teacher.runner import run_blocking
    from curator.models import Job

    settings = _settings_loader()
    fam = load_family(settings.prompts_path() / "classify.toml")
    with open_store(db) as store:
        ids = [r[0] for r in store.conn.execute("SELECT id FROM passages ORDER BY id LIMIT ?", (limit,))]
        added = sum(store.add_job(Job(idem_key=idem_key("classify", fam.name, fam.template_hash, pid, 0),
                                      kind="classify", family=fam.name, passage_id=pid,
                                      template_hash=fam.template_hash, params={"n": 1})) is not None for pid in ids)
        click.echo(f"planned {len(ids)} classification jobs ({added} new)")
        report = run_blocking(store, {fam.name: fam}, settings, kind="classify")
    click.echo(report.summary())
