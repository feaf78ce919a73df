"""Seed and private eval commands."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from curator.cli.base import cli, confirmed, db_option, open_store, room_left, safe_line
from curator.cli.base import families as project_families
from curator.services.seeds import ROLES, SeedError, change_role, import_seeds, list_seeds, role_change_risk
from curator.errors import CuratorError
from curator.display.wording import counted

EXIT_COLLISIONS = 3  # `seeds check`: a few-shot seed matches a private eval item


@cli.group()
@db_option
def seeds(db: Path | None) -> None:
    """Hand-written seed examples (fewshot, eval, polish)."""


@seeds.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
def seeds_import(path: Path, db: Path | None) -> None:
    """Import seeds from a JSONL file (one example a line, with family and role)."""
    _import_examples(path, db, eval_items=False)


@seeds.command("list")
@click.option("--role", type=click.Choice(ROLES), default=None, help="Only seeds of this role.")
@click.option("--family", default=None, help="Only seeds of this family.")
@db_option
def seeds_list(role: str | None, family: str | None, db: Path | None) -> None:
    """Current seed versions (id, version, role, family, task type, first turn), then collisions."""
    with open_store(db, readonly=True) as store:
        listing = list_seeds(store, role=role, family=family)
    for seed in listing.seeds:
        first = next((m.content for m in seed.messages if m.role == "user"), "")
        click.echo(f"#{seed.id:<5} v{seed.version:<2} {seed.role:<7} {safe_line(seed.family, 15):<15} "
                   f"{safe_line(seed.task_type or '-', 19):<19} {safe_line(first, room_left(55))}")
    totals = ", ".join(f"{r} {n}" for r, n in listing.role_totals().items())
    click.echo(f"{counted(len(listing.seeds), 'seed')} listed (all current seeds: {totals})")
    for collision in listing.collisions:
        click.echo(f"collision: {collision.describe()}", err=True)


@seeds.command("check")
@db_option
def seeds_check(db: Path | None) -> None:
    """Few-shot seeds that match a private eval item; exits 3 when there is any."""
    with open_store(db, readonly=True) as store:
        collisions = list_seeds(store).collisions
    for collision in collisions:
        click.echo(f"collision: {collision.describe()}")
    click.echo(f"{len(collisions)} few-shot seeds match private eval items")
    if collisions:
        sys.exit(EXIT_COLLISIONS)


@seeds.command("role")
@click.argument("seed_id", type=int)
@click.argument("role", type=click.Choice(ROLES))
@click.option("--yes", is_flag=True, help="Move a seed into or out of the private eval set without asking.")
@db_option
def seeds_role(seed_id: int, role: str, yes: bool, db: Path | None) -> None:
    """Give a seed another role (logged). Moving one into or out of the private eval set asks first."""
    with open_store(db) as store:
        try:
            old = store.current_seed(seed_id).role
        except KeyError:
            raise click.ClickException(f"no seed #{seed_id}") from None
        except SeedError as exc:
            raise click.ClickException(str(exc)) from None
        risk = role_change_risk(old, role)
        if risk and not yes:
            confirmed(f"seed #{seed_id} {old} → {role}: {risk}. Change it?", "role not changed")
        try:
            before = change_role(store, seed_id, role)
        except CuratorError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"seed #{seed_id} is now {role}" if before else f"seed #{seed_id} already is {role}")


def _import_examples(path: Path, db: Path | None, *, eval_items: bool) -> None:
    known = None if eval_items else project_families(db)
    with open_store(db, creates=True) as store:
        report = import_seeds(store, path, eval_items=eval_items, families=known)
    for problem in report.problems:
        click.echo(f"skipped: {safe_line(problem, 400)}", err=True)
    click.echo(report.summary("eval item" if eval_items else "seed"))
    if report.problems:  # as `candidates import`: a skipped line is named above and the exit says so
        raise SystemExit(1)


@cli.group("eval")
@db_option
def eval_group(db: Path | None) -> None:
    """Private eval items: never trained on, never sent to the teacher."""


@eval_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
def eval_import(path: Path, db: Path | None) -> None:
    """Import private eval items from JSONL (messages, optional family) for decontamination."""
    _import_examples(path, db, eval_items=True)
