"""`curator gate judge`: the LLM judge through the job engine."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli.base import db_option, open_store, project, safe_line
from curator.display.wording import counted
from curator.cli.gate import gate


@gate.command("judge")
@click.option("--limit", type=click.IntRange(1), default=100, show_default=True, help="Candidates to judge.")
@db_option
def gate_judge(limit: int, db: Path | None) -> None:
    """Judge gated candidates with the frozen rubric (prompts/judge.toml) and the judge model."""
    from curator.services.judge import JudgeModelError
    from curator.services.judge import judge

    settings, rubric = project(db).settings, project(db).rubric("judge")
    with open_store(db) as store:
        try:
            result = judge(store, rubric, settings, limit=limit)
        except JudgeModelError as exc:
            raise click.ClickException(str(exc)) from exc
    for error in result.run.errors[-10:]:
        click.echo(f"  {safe_line(error, 300)}", err=True)
    click.echo(result.summary())
    if result.run.stopped:
        raise click.ClickException(safe_line(result.run.stopped, 500))
    if result.run.failed and not result.run.done:  # (nothing judged: say so by the exit status too)
        raise click.ClickException(f"no candidate was judged: {counted(result.run.failed, 'job')} failed "
                                   "(curator jobs --errors shows why)")
