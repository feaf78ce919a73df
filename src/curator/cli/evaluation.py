"""`curator eval run` and `curator eval report`: the student model on the private eval set."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli.base import bar_progress, db_option, families as project_families, json_line, open_store, \
    progress_bar, project, room_left, safe_line
from curator.display.wording import counted
from curator.cli.seeds import eval_group


def judge_options(func):
    """Which judge scores the open answers: the teacher's endpoint and the judge model by default."""
    func = click.option("--judge-api", type=click.Choice(["anthropic", "openai"]), default="anthropic",
                        show_default=True, help="anthropic: Messages; openai: Chat Completions (needs "
                        "--judge-endpoint).")(func)
    func = click.option("--judge-model", default=None, help="The judge model (default: [judge] model).")(func)
    func = click.option("--judge-endpoint", default=None,
                        help="The judge's API base URL (default: $ANTHROPIC_BASE_URL or Anthropic's API).")(func)
    return click.option("--judge", is_flag=True, help="Have the judge score the open answers (the teacher by default): "
                        "their questions, references and answers go to its endpoint.")(func)


def judge_settings(endpoint: str | None, model: str | None, api: str, db: Path | None,
                   options: tuple[str, str] = ("--judge-api", "--judge-endpoint")):
    from curator.services import evaluation

    try:
        return evaluation.judge_settings(endpoint, model, api, project(db).settings.judge.model, options=options)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


@eval_group.command("run")
@click.option("--endpoint", required=True, help="The student's API base URL, e.g. http://localhost:8000/v1.")
@click.option("--model", required=True, help="The model name the server serves.")
@click.option("--api", type=click.Choice(["openai", "anthropic"]), default="openai", show_default=True,
              help="openai: Chat Completions (vLLM, llama.cpp, Ollama, TGI, SGLang); anthropic: Messages.")
@click.option("--export", "export_version", default=None, help="The export version that trained the model.")
@click.option("--concurrency", type=click.IntRange(1, 256), default=8, show_default=True,
              help="Requests to the student at once.")
@click.option("--limit", type=click.IntRange(1), default=None, help="Ask only the first N eval items.")
@click.option("--resume", "resume", type=int, default=None, help="Go on with run N (what it has answered is kept).")
@click.option("--timeout", type=click.FloatRange(0, min_open=True), default=120.0, show_default=True, help="Seconds a request may take.")
@judge_options
@db_option
def eval_run(endpoint: str, model: str, api: str, export_version: str | None, concurrency: int, limit: int | None,
             resume: int | None, timeout: float, judge: bool, judge_endpoint: str | None, judge_model: str | None,
             judge_api: str, db: Path | None) -> None:
    """Ask the private eval set of the student model at ENDPOINT, score every answer, print the scorecard.

    The eval items go to this endpoint only (and, with --judge, the open ones to the judge's). A key, if the
    server wants one, comes from $STUDENT_API_KEY."""
    from curator.services.evaluation import judge_eval, run_eval, score_run, scorecard, student_settings, write_report

    settings = student_settings(endpoint, model, api, concurrency=concurrency, timeout_s=timeout)
    # (the judge's settings checked before the student is asked, not after a long run)
    judging = judge_settings(judge_endpoint, judge_model, judge_api, db) if judge or judge_endpoint else None
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
            click.echo(f"  {safe_line(error, 500)}", err=True)
        score_run(store, report.run, project_families(db))
        judged = None
        if judging is not None:
            judged = judge_eval(store, report.run, judging, project(db).settings.prompts_path())
        card = scorecard(store, report.run)
        written = write_report(store, report.run)
    click.echo(report.summary())
    if judged is not None:
        click.echo(judged.summary())
    click.echo("\n".join(card.report_lines()))
    click.echo(f"report: {written}")
    if report.failed:
        raise SystemExit(1)


@eval_group.command("report")
@click.option("--run", "run", type=int, default=None, help="The run (default: the latest).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line, per family and per cell.")
@click.option("--md", "as_markdown", is_flag=True, help="Also write evals/run-N/eval_report.md beside the database.")
@db_option
def eval_report(run: int | None, as_json: bool, as_markdown: bool, db: Path | None) -> None:
    """The scorecard of an eval run: pass rate per family and cell, its 95% interval, change since the last run."""
    from curator.services.evaluation import scorecard, write_report

    with open_store(db, readonly=True) as store:
        card = scorecard(store, run)
        if as_markdown:
            click.echo(f"report: {write_report(store, card.run)}", err=True)
    if as_json:
        for line in card.lines:
            click.echo(json_line(line.as_json(card.run, card.export_version)))
    else:
        click.echo("\n".join(card.report_lines()))


@eval_group.command("judge")
@click.option("--run", "run", type=int, default=None, help="The run (default: the latest).")
@click.option("--endpoint", "judge_endpoint", default=None,
              help="The judge's API base URL (default: $ANTHROPIC_BASE_URL or Anthropic's API).")
@click.option("--model", "judge_model", default=None, help="The judge model (default: [judge] model).")
@click.option("--api", "judge_api", type=click.Choice(["anthropic", "openai"]), default="anthropic", show_default=True,
              help="anthropic: Messages; openai: Chat Completions (needs --endpoint).")
@db_option
def eval_judge(run: int | None, judge_endpoint: str | None, judge_model: str | None, judge_api: str,
               db: Path | None) -> None:
    """Have a judge score a run's open answers against their references (`prompts/eval_judge.toml`).

    Their questions, references and answers go to the judge's endpoint only. Key: $JUDGE_API_KEY, else
    $ANTHROPIC_API_KEY for the Anthropic API."""
    from curator.services.evaluation import judge_eval, scorecard

    judging = judge_settings(judge_endpoint, judge_model, judge_api, db, ("--api", "--endpoint"))
    with open_store(db) as store:
        report = judge_eval(store, run, judging, project(db).settings.prompts_path())
        card = scorecard(store, report.run)
    click.echo(report.summary())
    for error in report.errors[:10]:
        click.echo(f"  {safe_line(error, 500)}", err=True)
    click.echo("\n".join(card.report_lines()))


@eval_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line (id, uid, family, task type, messages).")
@db_option
def eval_list(as_json: bool, db: Path | None) -> None:
    """The private eval set as it is now: imported items and eval seeds, with the uid `eval import-scores` takes."""
    from curator.services.evaluation import eval_items

    with open_store(db, readonly=True) as store:
        items = eval_items(store)
    for item in items:
        if as_json:
            click.echo(json_line({"id": item.id, "uid": item.uid, "kind": item.kind, "family": item.family,
                                  "task_type": item.task_type,
                                  "messages": [m.model_dump(exclude_none=True) for m in item.messages]}))
            continue
        first = next((m.content for m in item.messages if m.role == "user"), "")
        click.echo(f"#{item.id:<5} {item.uid or '-':<32} {safe_line(item.family, 15):<15} "
                   f"{safe_line(first, room_left(56))}")
    if not as_json:
        click.echo(f"{counted(len(items), 'private eval item')} (uid: what `curator eval import-scores` takes)")


@eval_group.command("import-scores")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", default="external", show_default=True, help="The model the harness scored.")
@click.option("--export", "export_version", default=None, help="The export version that trained the model.")
@db_option
def eval_import_scores(path: Path, model: str, export_version: str | None, db: Path | None) -> None:
    """Per-item scores from an outside harness (lm-eval, lighteval): JSONL with `uid` (`curator eval list`) or
    `id` (an export's eval_private.jsonl) and `passed` (and optionally `scorer`, `reason`), as a run of their
    own; then its scorecard."""
    from curator.cli.base import safe_line
    from curator.services.evaluation import import_scores, scorecard

    with open_store(db) as store:
        report = import_scores(store, path, model=model, export_version=export_version)
        card = scorecard(store, report.run)
    for problem in report.problems[:20]:
        click.echo(f"skipped: {safe_line(problem, 400)}", err=True)
    click.echo(report.summary())
    click.echo("\n".join(card.report_lines()))
    if report.problems:
        raise SystemExit(1)
