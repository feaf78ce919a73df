"""Candidates from elsewhere, and a listing of candidates for scripts."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli.base import cli, db_option, families as project_families, json_line, open_store, room_left, safe_line


@cli.group()
@db_option
def candidates(db: Path | None) -> None:
    """Import candidates made elsewhere, or list candidates with their verdicts and decisions."""


@candidates.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
def candidates_import(path: Path, db: Path | None) -> None:
    """Add each line of a JSONL file as a candidate: `family` and `messages` (TRL shape), optional
    `tools`, `answer`, `task_type`, `difficulty`, `topic`, `passage` or `passage_id`, `metadata`.
    Bad lines are reported and skipped (the exit status is then 1); importing again adds nothing."""
    from curator.services.candidates import import_candidates

    fams = project_families(db)
    with open_store(db, creates=True) as store:
        report = import_candidates(store, path, families=set(fams))
    for problem in report.problems:  # (as the other imports: "skipped: file:line: field: problem", inert)
        click.echo(f"skipped: {safe_line(problem, 400)}", err=True)
    click.echo(report.summary())
    if report.problems:
        raise SystemExit(1)


@candidates.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line (the default prints one short line each).")
@click.option("--state", type=click.Choice(["new", "gated", "accepted", "rejected"]), default=None,
              help="Only candidates in this state.")
@click.option("--family", default=None, help="Only candidates of this family.")
@click.option("--where", "where", multiple=True, metavar="KEY=VALUE",
              help="Keep the decidable candidates a triage filter selects (repeatable; the keys of "
                   "`curator triage reject --help`).")
@db_option
def candidates_list(as_json: bool, state: str | None, family: str | None, where: tuple[str, ...],
                    db: Path | None) -> None:
    """Candidates and revisions: id, uid, family, state, gate status, current verdicts, decisions, the
    predictor's P(reject), metadata."""
    from curator.services.candidates import list_candidates
    from curator.services.triage import Filters, TriageError

    try:
        filters = Filters.parse(list(where)) if where else None
    except TriageError as exc:
        raise click.BadParameter(str(exc), param_hint="--where") from exc
    listed = 0
    with open_store(db, readonly=True) as store:
        for row in list_candidates(store, state=state, family=family, where=filters):
            listed += 1
            if as_json:
                click.echo(json_line(row))
                continue
            failing = ",".join(f"{g}:{v['reason']}" for g, v in row["verdicts"].items() if v["verdict"] != "pass")
            last = next((d["action"] for d in reversed(row["decisions"]) if not d["undone"]
                         and d["action"] != "undo"), "-")
            head = (f"#{row['id']} {row['kind']:<9} {row['family']:<16} {row['state']:<8} "
                    f"{row['gate_status'] or '-':<4} last:{last:<6} ")
            # (the failing gates cut to the terminal's line: --json has them whole)
            click.echo((head + safe_line(failing, room_left(len(head)))).rstrip())
    if not listed:  # (on stderr: what a script reads stays one line per candidate)
        click.echo("no candidate matches", err=True)
