"""Coverage, augmentation and export commands."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli.base import cli, db_option, families as _families_loader, open_store, safe_line
from curator.cli.base import settings as _settings_loader
from curator.config import EXPORT_FORMATS, Settings


def _coverage_map(settings: Settings, *, show_errors: bool = False):
    from curator.services.coverage import CoverageError, coverage_map

    try:
        return coverage_map(settings, _families_loader(settings, show_errors=show_errors).families)
    except CoverageError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command()
@click.option("--thin", "only_thin", is_flag=True, help="Only the thin cells.")
@db_option
def coverage(only_thin: bool, db: Path | None) -> None:
    """Accepted examples per cell of the coverage map (prompts/coverage.toml) against their targets."""
    from curator.services.coverage import coverage as read_coverage

    cmap = _coverage_map(_settings_loader())
    with open_store(db, readonly=True) as store:
        report = read_coverage(store, cmap)
    for line in report.lines(only_thin=only_thin):
        click.echo(line)
    click.echo(report.summary())


@cli.command()
@click.option("--max-jobs", default=20, show_default=True, help="Jobs to queue per thin cell at most.")
@click.option("--dry-run", is_flag=True, help="Show what would be queued and its worst-case cost; store nothing.")
@click.option("--yes", is_flag=True, help="Queue without asking (for scripts).")
@db_option
def augment(max_jobs: int, dry_run: bool, yes: bool, db: Path | None) -> None:
    """Queue targeted generation for every thin cell (then `curator generate` runs it, gates and triage follow).
    Shows the job count and the worst-case cost and asks before queueing."""
    from curator.services import augment as service

    settings = _settings_loader()
    families = _families_loader(settings).families
    cmap = _coverage_map(settings)
    with open_store(db, readonly=dry_run) as store:
        planned = service.plan(store, cmap, families, settings, max_jobs_per_cell=max_jobs)
        for line in planned.lines:
            c = line.cell
            what = line.note or f"{line.jobs} jobs ({line.added} new)"
            click.echo(f"{safe_line(c.family, 16):<16} {c.dimension:<11} {safe_line(c.value, 22):<22} "
                       f"{c.count:>5}/{c.target:<5} {what}")
        if dry_run:
            click.echo(service.AugmentReport(planned, 0, dry_run=True).summary())
            return
        if not planned.jobs:
            click.echo("nothing to queue: " + planned.summary())
            return
        if not yes and not click.confirm(f"queue {planned.summary()}?", default=False):
            click.echo("nothing queued")
            return
        click.echo(service.queue(store, planned).summary())


@cli.command("export")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the versions (default: exports/ beside the database).")
@click.option("--seed", default=0, show_default=True, help="Tie-break seed of the mix builder.")
@click.option("--format", "formats", multiple=True, type=click.Choice(list(EXPORT_FORMATS)),
              help="Extra formats beside TRL messages (parquet: a Parquet copy of every JSONL data file); "
                   "default: [export] formats in curator.toml.")
@db_option
def export_cmd(out_dir: Path | None, seed: int, formats: tuple[str, ...], db: Path | None) -> None:
    """Write a versioned mix: train, polish and private eval files, manifest, stats, coverage report, log."""
    from curator.services.export import LeakError, export_dataset
    from curator.services.gate import set_level_settings

    config = _settings_loader()
    cmap = _coverage_map(config)
    with open_store(db) as store:
        try:
            result = export_dataset(store, cmap, out_dir=out_dir, seed=seed,
                                    formats=formats or tuple(config.export.formats),
                                    meaning_settings=config.meaning,
                                    decontam=set_level_settings(config.gates)[1])
        except LeakError as exc:
            for leak in exc.leaks:
                how = f" by meaning (cosine {leak['score']})" if leak.get("how") == "meaning" else ""
                click.echo(f"leak: #{leak['id']} in {leak['file']} matches eval items {leak['eval_items']}{how}", err=True)
            raise click.ClickException(f"export refused: {len(exc.leaks)} rows match private eval items") from exc
        except OSError as exc:
            where = out_dir or store.path.parent / "exports"
            raise click.ClickException(f"{where}: cannot write the export ({exc.strerror or exc})") from exc
    click.echo(result.summary())
