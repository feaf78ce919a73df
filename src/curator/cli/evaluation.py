"""`curator eval run` and `curator eval report`: the student model on the private eval set."""

from __future__ import annotations

import os
from pathlib import Path

import click

from curator.cli.base import bar_progress, db_option, families as project_families, json_line, open_store, \
    progress_bar
from curator.cli.seeds import eval_group


@eval_group.command("run")
@click.option("--endpoint", required=True, help="The student's API base URL, e.g. http://localhost:8000/v1.")
@click.option("--model", required=True, help="The model name the server serves.")
@click.option("--api", type=click.Choice(["openai", "anthropic"]), default="openai", show_default=True,
              help="openai: Chat Completions (vLLM, llama.cpp, Ollama, TGI, SGLang); anthropic: Messages.")
@click.option("--export", "export_version", default=None, help="The export version that trained the model.")
@click.option("--concurrency", type=click.IntRange(1, 256), default=8, show_default=True)
@click.option("--limit", type=click.IntRange(1), default=None, help="Ask only the first N eval items.")
@click.option("--resume", "resume", type=int, default=None, help="Go on with run N (what it has answered is kept).")
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Seconds a request may take.")
@db_option
def eval_run(endpoint: str, model: str, api: str, export_version: str | None, concurrency: int, limit: int | None,
             resume: int | None, timeout: float, db: Path | None) -> None:
    """Ask the private eval set of the student model at ENDPOINT, score every answer, print the scorecard.

    The eval items go to this endpoint only. A key, if the server wants one, comes from $STUDENT_API_KEY."""
    from curator.services.evaluation import StudentSettings, run_eval, score_run, scorecard

    settings = StudentSettings(endpoint=endpoint, model=model, api=api, concurrency=concurrency, timeout_s=timeout,
                               api_key=os.environ.get("STUDENT_API_KEY", ""))
    with open_store(db) as store:
        total = len(store.current_eval_items())
        bar = progress_bar(min(total, limit or total), "asking the student")
        if bar is not None:
            with bar:
                report = run_eval(store, settings, run=resume, export_version=export_version, limit=limit,
                                  progress=bar_progress(bar))
        else:
            report = run_eval(store, settings, run=resume, export_version=export_version, limit=limit)
        for error in report.errors[:10]:
            click.echo(f"  {error}", err=True)
        score_run(store, report.run, project_families(db))
        card = scorecard(store, report.run)
    click.echo(report.summary())
    click.echo("\n".join(card.report_lines()))
    if report.failed:
        raise SystemExit(1)


@eval_group.command("report")
@click.option("--run", "run", type=int, default=None, help="The run (default: the latest).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line, per family and per cell.")
@db_option
def eval_report(run: int | None, as_json: bool, db: Path | None) -> None:
    """The scorecard of an eval run: pass rate per family and cell, its 95% interval, change since the last run."""
    from curator.services.evaluation import scorecard

    with open_store(db, readonly=True) as store:
        card = scorecard(store, run)
    if as_json:
        for line in card.lines:
            click.echo(json_line(line.as_json(card.run, card.export_version)))
    else:
        click.echo("\n".join(card.report_lines()))
