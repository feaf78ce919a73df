"""Triage from the command line: the same decisions as the triage screen (`services.triage`)."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli.base import cli, confirmed, db_option, given, json_line, open_store, settings


@cli.group()
@db_option
def triage(db: Path | None) -> None:
    """Accept, reject, skip, flag or note candidates by id, or undo decisions."""


WHERE_HELP = ("Decide every candidate this filter selects instead of ids (repeatable KEY=VALUE, all must hold): "
              "family, state, verdict, gate (gate or gate:fail), reason, tag, search, cluster, judge (0.5..0.8), "
              "predicted (accept, reject or a P(reject) range).")


def _decide(action: str, ids: tuple[int, ...], reason: str | None, note: str | None, db: Path | None,
            force: bool = False) -> None:
    from curator.services.triage import TriageError, accept_warnings, check_decidable, decide

    with open_store(db) as store:
        try:
            reason = _reason(reason, db)
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


def _reason(reason: str | None, db: Path | None) -> str | None:
    """The reason code as stored ("bad format" is bad_format; TriageError if it cannot be one), with a note
    when it is not one of the configured reasons (a typo would start a code of its own)."""
    from curator.services.triage import reason_code

    if reason is None:
        return None
    code = reason_code(reason)
    known = list(settings(db).triage.reasons)
    if code not in known:
        click.echo(f"note: {code!r} is a new reason code (the configured ones: {', '.join(known)})", err=True)
    return code


def _progress(bulk_id: int):
    def report(done: int, total: int) -> None:
        click.echo(f"bulk #{bulk_id}: {done:,} of {total:,}", err=True)
    return report


def _bulk(action: str, where: tuple[str, ...], queue: str, reason: str | None, yes: bool, db: Path | None) -> None:
    from curator.services import bulk
    from curator.services.triage import Filters, TriageError

    try:
        filters = Filters.parse(list(where))
    except TriageError as exc:
        raise click.BadParameter(str(exc), param_hint="--where") from exc
    try:
        reason = _reason(reason, db)
    except TriageError as exc:
        raise click.BadParameter(str(exc), param_hint="--reason") from exc
    with open_store(db) as store:
        try:
            plan = bulk.plan(store, action, filters, queue=queue, reason=reason)
            click.echo(plan.question())
            if not plan.ids:
                raise click.ClickException("nothing to decide: the filter selects no candidate this would change")
            if not yes:
                confirmed("Go on?", "nothing decided")
            bulk_id = bulk.start(store, plan)
            done = bulk.resume(store, bulk_id, progress=_progress(bulk_id))
        except TriageError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(bulk.describe(done))


def _where_options(command):
    command = click.option("--yes", is_flag=True, help="With --where: decide without asking.")(command)
    command = click.option("--queue", default="pending", show_default=True,
                           type=click.Choice(["pending", "flagged", "failed", "mine", "judge", "accepted", "all"]),
                           help="With --where: the queue the filter applies to.")(command)
    return click.option("--where", "where", multiple=True, metavar="KEY=VALUE", help=WHERE_HELP)(command)


def _ids_or_where(action: str, ids: tuple[int, ...], where: tuple[str, ...], queue: str, reason: str | None,
                  note: str | None, yes: bool, db: Path | None, force: bool = False) -> None:
    if where and ids:
        raise click.UsageError("give ids or --where, not both")
    if ids and (typed := given("queue", "yes")):
        raise click.UsageError(f"{typed} goes with --where (ids name their candidates)")
    if where:
        if note:
            raise click.UsageError("--note goes with ids (a bulk keeps its filter instead)")
        _bulk(action, where, queue, reason, yes, db)
    elif ids:
        _decide(action, ids, reason, note, db, force)
    else:
        raise click.UsageError("give candidate ids, or --where KEY=VALUE to decide over a filter")


def _decision_command(action: str, help_text: str, *, needs_note: bool = False, bulk: bool = False) -> None:
    @click.argument("ids", nargs=-1, type=int, required=not bulk)
    @click.option("--reason", default=None, help="A short reason code, kept with the decision.")
    @click.option("--note", required=needs_note, help="A note kept with the decision.")  # (no default: it would count as given)
    @db_option
    def command(ids: tuple[int, ...], reason: str | None, note: str | None, db: Path | None, **bulk_args) -> None:
        if needs_note and not (note or "").strip():
            raise click.UsageError("--note is empty: say what the note is")
        if bulk:
            _ids_or_where(action, ids, bulk_args["where"], bulk_args["queue"], reason, note, bulk_args["yes"], db)
        else:
            _decide(action, ids, reason, note, db)

    triage.command(action, help=help_text)(_where_options(command) if bulk else command)


@triage.command("accept")
@click.argument("ids", nargs=-1, type=int)
@click.option("--reason", default=None, help="A short reason code, kept with the decision.")
@click.option("--note", default=None, help="A note kept with the decision.")
@click.option("--force", is_flag=True, help="Accept even a candidate a gate fails or export would drop (warned).")
@_where_options
@db_option
def triage_accept(ids: tuple[int, ...], reason: str | None, note: str | None, force: bool, where: tuple[str, ...],
                  queue: str, yes: bool, db: Path | None) -> None:
    """Accept candidates, by id or every one a filter selects (--where). One that a gate fails, or that
    export would drop, is accepted by id only with --force (the app asks for a second a); the warning names
    why. A bulk never accepts a candidate a gate fails (it says how many it skips)."""
    _ids_or_where("accept", ids, where, queue, reason, note, yes, db, force)

_decision_command("reject", "Reject candidates, by id or every one a filter selects (--where); say why with --reason.",
                  bulk=True)
_decision_command("skip", "Skip candidates (recorded; the state does not change).")
_decision_command("flag", "Flag candidates for a second look, by id or every one a filter selects (--where).",
                  bulk=True)
_decision_command("note", "Add a note to candidates.", needs_note=True)


@triage.command("bulks")
@db_option
def triage_bulks(db: Path | None) -> None:
    """The latest bulk decisions, newest first; a bulk cut short says so (resume or undo it)."""
    from curator.services import bulk

    with open_store(db, readonly=True) as store:
        recent = bulk.recent(store)
        for b in recent:
            click.echo(bulk.describe(b))
        if not recent:
            click.echo("no bulk decisions yet (triage accept/reject/flag --where KEY=VALUE makes one)")


@triage.command("resume")
@click.argument("bulk_id", type=int)
@db_option
def triage_resume(bulk_id: int, db: Path | None) -> None:
    """Decide what is left of a bulk that was cut short."""
    from curator.services import bulk
    from curator.services.triage import TriageError

    with open_store(db) as store:
        try:
            done = bulk.resume(store, bulk_id, progress=_progress(bulk_id))
        except TriageError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(bulk.describe(done))


@triage.command("undo")
@click.argument("ids", nargs=-1, type=int)
@click.option("--bulk", "bulk_id", type=int, default=None, help="Undo this bulk decision whole.")
@db_option
def triage_undo(ids: tuple[int, ...], bulk_id: int | None, db: Path | None) -> None:
    """Undo the latest decision (a bulk's: the whole bulk), or with ids the latest effective decision of each."""
    from curator.services import bulk
    from curator.services.triage import TriageError, undo, unknown_ids

    with open_store(db) as store:
        if bulk_id is not None:
            if ids:
                raise click.UsageError("give ids or --bulk, not both")
            try:
                click.echo(bulk.describe(bulk.undo(store, bulk_id, progress=_progress(bulk_id))))
            except TriageError as exc:
                raise click.ClickException(str(exc)) from exc
            return
        if not ids:
            undone = undo(store)
            if undone is None:
                raise click.ClickException("nothing to undo")
            if undone.bulk is not None:
                click.echo(bulk.describe(store.bulk(undone.bulk)))
                return
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


@triage.command("predict")
@click.option("--if-stale", is_flag=True, help="Only when the estimates are missing or 25 decisions behind.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line (exit 0 whether it learnt or not).")
@click.option("--background", is_flag=True, hidden=True,
              help="Lower priority and one thread (how the app runs it beside the screen).")
@db_option
def triage_predict(if_stale: bool, as_json: bool, background: bool, db: Path | None) -> None:
    """Train the triage predictor on the decisions so far and estimate each pending candidate's decision
    (the app does this in the background as decisions arrive); filter with --where predicted=reject."""
    if background:
        import os

        os.nice(10)
    from curator.services import predict

    with open_store(db) as store:
        refresh = predict.current(store) if if_stale and not predict.stale(store) else predict.refresh(store)
    if as_json:
        from dataclasses import asdict

        click.echo(json_line(asdict(refresh)))
        return
    click.echo(refresh.summary())
    if refresh.name is None:
        raise SystemExit(1)
