"""`curator export`: the versioned dataset."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli.base import coverage_map, cli, db_option, open_store, progress_bar, settings as project_settings
from curator.config import EXPORT_FORMATS


@cli.group("export", invoke_without_command=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the versions (default: exports/ beside the database).")
@click.option("--seed", default=0, show_default=True, help="Tie-break seed of the mix builder.")
@click.option("--format", "formats", multiple=True, type=click.Choice(list(EXPORT_FORMATS)),
              help="Extra formats beside TRL messages (parquet: a Parquet copy of every JSONL data file); "
                   "default: [export] formats in curator.toml.")
@db_option
@click.pass_context
def export_cmd(ctx: click.Context, out_dir: Path | None, seed: int, formats: tuple[str, ...], db: Path | None) -> None:
    """Write a versioned mix: train, polish and private eval files, manifest, stats, coverage report, log.

    `curator export list` lists the versions, `curator export diff A B` compares two."""
    if ctx.invoked_subcommand is not None:
        return
    from curator.services.export import LeakError, NeedsEmbedding, export_dataset, exports_dir
    from curator.services.gate import set_level_settings

    config, cmap = project_settings(db), coverage_map(db)
    bars: list = []

    def embedding(done: int, total: int) -> None:  # a bar once the export starts embedding
        if not bars:
            bars.append(progress_bar(total, "embedding for the leak check"))
            if bars[0] is not None:
                bars[0].__enter__()
        if bars[0] is not None:
            bars[0].update(done - bars[0].pos)

    with open_store(db) as store:
        try:
            result = export_dataset(store, cmap, out_dir=out_dir, seed=seed,
                                    formats=formats or tuple(config.export.formats),
                                    meaning_settings=config.meaning,
                                    decontam=set_level_settings(config.gates)[1],
                                    embed_limit=config.export.embed_limit, progress=embedding)
        except NeedsEmbedding as exc:
            raise click.ClickException(f"{exc}; {exc.hint}") from exc
        except LeakError as exc:
            for leak in exc.leaks:
                how = f" by meaning (cosine {leak['score']})" if leak.get("how") == "meaning" else ""
                click.echo(f"leak: #{leak['id']} in {leak['file']} matches eval items {leak['eval_items']}{how}", err=True)
            raise click.ClickException(exc.headline) from exc
        except OSError as exc:
            where = exports_dir(store.path, out_dir)
            raise click.ClickException(f"{where}: cannot write the export ({exc.strerror or exc})") from exc
        finally:
            if bars and bars[0] is not None:
                bars[0].__exit__(None, None, None)
    click.echo(result.summary())


def _versions_dir() -> Path | None:
    """The folder `curator export --out DIR list` (or `diff`) names, else None (exports/ beside the database)."""
    return click.get_current_context().parent.params.get("out_dir")


@export_cmd.command("diff")
@click.argument("a")
@click.argument("b")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line, per family and per cell.")
@db_option
def export_diff_cmd(a: str, b: str, as_json: bool, db: Path | None) -> None:
    """Training rows B adds, removes and changes against A, per family and cell, with the eval run that steered
    each. A and B: export folders, or version ids in exports/ beside the database."""
    from curator.cli.base import json_line, resolve_db
    from curator.services.export import export_diff

    found = export_diff(resolve_db(db), a, b, _versions_dir())
    if as_json:
        for line in found.lines:
            click.echo(json_line(line.as_json(found.a, found.b)))
    else:
        click.echo("\n".join(found.report_lines()))


@export_cmd.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line (version, path, train, polish).")
@db_option
def export_list_cmd(as_json: bool, db: Path | None) -> None:
    """The versions in exports/ beside the database (or `curator export --out DIR list`), newest first, with
    their training rows."""
    from curator.cli.base import json_line, resolve_db, safe_line
    from curator.services.export import exports_dir, list_exports

    def rows(n: int | None) -> str:
        return "?" if n is None else str(n)  # "?": a manifest that cannot be read

    path = resolve_db(db)
    where = exports_dir(path, _versions_dir())
    found = list_exports(path, where)
    for version in found:
        if as_json:
            click.echo(json_line(version.as_json()))
        else:
            click.echo(f"{safe_line(version.version, 40):<24} train {rows(version.train):>6}  "
                       f"polish {rows(version.polish):>5}")
    if not found and not as_json:
        click.echo(f"no exports yet in {where}")
