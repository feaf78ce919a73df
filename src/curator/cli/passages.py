"""Passage commands: list and search, set quality/tags/families, queue generation for chosen passages."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli.base import cli, db_option, json_line, families as project_families, open_store, room_left, safe_line
from curator.cli.base import settings as project_settings
from curator.display.wording import counted


@cli.group()
@db_option
def passages(db: Path | None) -> None:
    """Passages of the imported corpus."""


@passages.command("list")
@click.option("--search", default=None, help="Only passages containing this text.")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True, help="Passages to list at most.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@db_option
def passages_list(search: str | None, limit: int, as_json: bool, db: Path | None) -> None:
    """Passages in id order: id, quality, tags, families and the start of the text."""
    from curator.services.passages import list_passages

    with open_store(db, readonly=True) as store:
        page = list_passages(store, search=search, limit=limit)
    for p in page.rows:
        if as_json:
            click.echo(json_line(p.model_dump()))
        else:
            click.echo(f"#{p.id:<6} {p.quality:<7} {safe_line(','.join(p.tags), 16):<16} "
                       f"{safe_line(','.join(p.families), 16):<16} {safe_line(p.text, room_left(50))}")
    if not as_json:
        click.echo(f"{len(page.rows)} of {counted(page.total, 'passage')}")


@passages.command("set")
@click.argument("passage_ids", nargs=-1, type=int, required=True)
@click.option("--quality", type=click.Choice(["high", "medium", "reject"]), default=None,
              help="The passage's quality (reject: no generation is planned from it).")
@click.option("--tags", default=None, help="Comma-separated tags (replaces them).")
@click.option("--families", "family_names", default=None, help="Comma-separated task families (replaces them).")
@db_option
def passages_set(passage_ids: tuple[int, ...], quality: str | None, tags: str | None, family_names: str | None,
                 db: Path | None) -> None:
    """Set the quality, tags or families of passages (as the Passages screen does)."""
    from curator.services.passages import PassageError, update_passages

    known = project_families(db, show_errors=False)
    with open_store(db) as store:
        try:
            changed = update_passages(store, passage_ids, quality=quality,
                                      tags=tags.split(",") if tags is not None else None,
                                      families=family_names.split(",") if family_names is not None else None,
                                      known_families=known)
        except PassageError as exc:
            raise click.ClickException(str(exc)) from exc
        for p in changed:
            click.echo(f"#{p.id}: {p.quality}; tags {safe_line(','.join(p.tags), 200) or '-'}; "
                       f"families {safe_line(','.join(p.families), 200) or '-'}")


@passages.command("queue")
@click.argument("passage_ids", nargs=-1, type=int, required=True)
@click.option("--family", "family_name", required=True, help="The task family to generate for.")
@db_option
def passages_queue(passage_ids: tuple[int, ...], family_name: str, db: Path | None) -> None:
    """Queue one generation job of a family for each passage (then `curator generate` runs them)."""
    from curator.services.passages import PassageError, queue_generation

    settings, fams = project_settings(db), project_families(db)
    if family_name not in fams:
        raise click.UsageError(f"unknown family {family_name!r} (known: {', '.join(sorted(fams))})")
    with open_store(db) as store:
        try:
            click.echo(queue_generation(store, fams[family_name], settings, list(passage_ids)).summary())
        except PassageError as exc:
            raise click.ClickException(str(exc)) from exc
