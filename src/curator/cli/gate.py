"""Gate commands: run the gates, audit a sample, override a verdict, report agreement."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli.base import bar_progress, cli, db_option, families as project_families, open_store, progress_bar, safe_line
from curator.cli.base import settings as project_settings


@cli.group(invoke_without_command=True)
@click.option("--no-embed", is_flag=True, help="Do not embed new examples; the meaning gates check what is embedded.")
@db_option
@click.pass_context
def gate(ctx: click.Context, no_embed: bool, db: Path | None) -> None:
    """Run the gates on pending candidates: rules, math, tools, faithfulness, dedup, decontamination,
    and the meaning gates (semantic decontamination and dedup), embedding new examples first."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = db
        return
    from curator.services.gate import pending_count, run_gates

    config, fams = project_settings(db), project_families(db)
    with open_store(db) as store:
        bar = progress_bar(pending_count(store), "gating")
        try:
            if bar is None:
                report = run_gates(store, fams, meaning=config.meaning, embed=not no_embed, gates=config.gates)
            else:
                with bar:
                    report = run_gates(store, fams, progress=bar_progress(bar), meaning=config.meaning, gates=config.gates,
                                       embed=not no_embed)
        except KeyboardInterrupt:
            raise click.ClickException("interrupted: what was gated and embedded is kept; run again to go on")
    click.echo(report.summary())


@gate.command("audit")
@click.argument("gate_name")
@click.option("--sample", "n", type=click.IntRange(1), default=10, show_default=True,
              help="Candidates to show, half passed and half failed.")
@click.option("--seed", default=0, show_default=True, help="Seed of the sample.")
@db_option
def gate_audit(gate_name: str, n: int, seed: int, db: Path | None) -> None:
    """A sample of passed and failed candidates of one gate, to confirm with `gate override`."""
    from curator.services.audit import AuditError, sample
    from curator.store import BadRow

    with open_store(db, readonly=True) as store:
        try:
            items = sample(store, gate_name, n, seed=seed)
        except AuditError as exc:
            raise click.UsageError(str(exc)) from None
        if not items:
            click.echo(f"nothing left to audit for {gate_name!r}")
        for item in items:
            try:
                ex = store.example(item.example_id)
                family, first = ex.family, next((m.content for m in ex.messages if m.role == "user"), "")
            except BadRow as exc:
                family, first = "?", f"(invalid row: {exc.problem})"
            click.echo(f"#{item.example_id} {item.verdict:<5} {item.reason:<22} {family:<15} {safe_line(first, 70)}")


@gate.command("override")
@click.argument("example_id", type=int)
@click.argument("gate_name")
@click.argument("verdict", type=click.Choice(["pass", "fail"]))
@click.option("--note", default=None, help="Why you overrule the gate (kept with the verdict).")
@db_option
def gate_override(example_id: int, gate_name: str, verdict: str, note: str | None, db: Path | None) -> None:
    """Record the curator's verdict on one gate decision (counts toward the gate report)."""
    from curator.services.audit import AuditError, record

    with open_store(db) as store:
        try:
            was = record(store, example_id, gate_name, verdict, note)
        except AuditError as exc:
            raise click.ClickException(str(exc)) from exc
    extra = " (recorded; a contaminated candidate is never exported)" if gate_name == "decontam" else ""
    click.echo(f"#{example_id} {gate_name}: gate said {was}, curator says {verdict}{extra}")


@gate.command("report")
@db_option
def gate_report(db: Path | None) -> None:
    """Per gate: verdicts, audits, agreement with the curator, estimated false-reject and false-accept rates."""
    from curator.services.audit import gate_report as lines

    with open_store(db, readonly=True) as store:
        click.echo("\n".join(lines(store, project_settings(db))))
