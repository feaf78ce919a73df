"""`curator gate judge`: the LLM judge through the job engine."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli.base import db_option, open_store, project
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
    click.echo(result.summary())
