"""Triage from the command line: the same decisions as the triage screen (`services.triage`)."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli.base import cli, db_option, open_store


@cli.group()
@db_option
def triage(db: Path | None) -> None:
    """Accept, reject, skip, flag or note candidates by id, or undo decisions."""


def _decide(action: str, ids: tuple[int, ...], reason: str | None, note: str | None, db: Path | None,
            force: bool = False) -> None:
    from curator.services.triage import TriageError, accept_warnings, check_decidable, decide

    with open_store(db) as store:
        try:
            check_decidable(store, list(ids))  # every id first: nothing is written for a bad list
            warned = {i: accept_warnings(store, i) for i in ids} if action == "accept" else {}
            warned = {i: w for i, w in warned.items() if w}
            for example_id, warnings in warned.items():
                click.echo(f"warning: #{example_id} {'; '.join(warnings)}", err=True)
            if warned and not force:
                raise click.ClickException(
                    f"nothing accepted: {', '.join(f'#{i}' for i in warned)} "
                    f"{'deserves' if len(warned) == 1 else 'deserve'} a second look (the app asks for a second a); "
                    "add --force to accept anyway")
            for example_id in ids:
                decide(store, example_id, action, note=note, reason=reason)
                click.echo(f"#{example_id} {action}" + (f" ({reason})" if reason else ""))
        except TriageError as exc:
            raise click.ClickException(str(exc)) from exc


def _decision_command(action: str, help_text: str, *, needs_note: bool = False) -> None:
    @triage.command(action, help=help_text)
    @click.argument("ids", nargs=-1, type=int, required=True)
    @click.option("--reason", default=None, help="A short reason code, kept with the decision.")
    @click.option("--note", default=None, required=needs_note, help="A note kept with the decision.")
    @db_option
    def command(ids: tuple[int, ...], reason: str | None, note: str | None, db: Path | None) -> None:
        _decide(action, ids, reason, note, db)


@triage.command("accept")
@click.argument("ids", nargs=-1, type=int, required=True)
@click.option("--reason", default=None, help="A short reason code, kept with the decision.")
@click.option("--note", default=None, help="A note kept with the decision.")
@click.option("--force", is_flag=True, help="Accept even a candidate a gate fails or export would drop (warned).")
@db_option
def triage_accept(ids: tuple[int, ...], reason: str | None, note: str | None, force: bool, db: Path | None) -> None:
    """Accept candidates. One that a gate fails, or that export would drop, is accepted only with --force
    (the app asks for a second a); the warning names why."""
    _decide("accept", ids, reason, note, db, force)

_decision_command("reject", "Reject candidates (say why with --reason).")
_decision_command("skip", "Skip candidates (recorded; the state does not change).")
_decision_command("flag", "Flag candidates for a second look.")
_decision_command("note", "Add a note to candidates.", needs_note=True)


@triage.command("undo")
@click.argument("ids", nargs=-1, type=int)
@db_option
def triage_undo(ids: tuple[int, ...], db: Path | None) -> None:
    """Undo the latest decision, or with ids the latest effective decision of each."""
    from curator.services.triage import TriageError, undo, unknown_ids

    with open_store(db) as store:
        if not ids:
            undone = undo(store)
            if undone is None:
                raise click.ClickException("nothing to undo")
            click.echo(f"#{undone.example_id}: undid {undone.action}")
            return
        unknown = unknown_ids(store, list(ids))
        if unknown:
            raise click.ClickException(f"no candidate {', '.join(f'#{i}' for i in unknown)}")
        missing = []
        for example_id in ids:
            try:
                undone = undo(store, example_id=example_id)
            except TriageError as exc:
                raise click.ClickException(str(exc)) from exc
            if undone is None:
                missing.append(example_id)
            else:
                click.echo(f"#{example_id}: undid {undone.action}")
        if missing:
            raise click.ClickException(f"nothing to undo for {', '.join(f'#{i}' for i in missing)}")
