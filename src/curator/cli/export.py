"""Coverage, augmentation and export commands."""

from __future__ import annotations

from pathlib import Path

import click

from curator.cli.base import cli, db_option, families as _families_loader, open_store, settings as _settings_loader
from curator.config import Settings


def _coverage_map(settings: Settings):
    from curator.coverage import CoverageError, CoverageMap

    try:
        return CoverageMap.load(settings.prompts_path() / "coverage.toml", _families_loader(settings, show_errors=False).families)
    except CoverageError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command()
@click.option("--thin", "only_thin", is_flag=True, help="Only the thin cells.")
@db_option
def coverage(only_thin: bool, db: Path | None) -> None:
    """Accepted examples per cell of the coverage map (prompts/coverage.toml) against their targets."""
    from curator.coverage import recount, table

    cmap = _coverage_map(_settings_loader())
    with open_store(db) as store:
        counts = recount(store, cmap)
    for line in table(cmap.cells(counts), cmap.thin_share, only_thin=only_thin):
        click.echo(line)
    click.echo(f"{len(cmap.thin(counts))} thin cells (below {cmap.thin_share:.0%} of their target)")


@cli.command()
@click.option("--max-jobs", default=20, show_default=True, help="Jobs to queue per thin cell at most.")
@click.option("--dry-run", is_flag=True, help="Show what would be queued.")
@db_option
def augment(max_jobs: int, dry_run: bool, db: Path | None) -> None:
    """Queue targeted generation for every thin cell (then `curator generate` runs it, gates and triage follow)."""
    from curator.augment import plan_augmentation
    from curator.coverage import recount

    settings = _settings_loader()
    cmap = _coverage_map(settings)
    with open_store(db) as store:
        lines = plan_augmentation(store, _families_loader(settings).families, settings, cmap, recount(store, cmap),
                                  max_jobs_per_cell=max_jobs, dry_run=dry_run)
    for line in lines:
        c = line.cell
        what = line.note or f"{line.jobs} jobs ({line.added} new)"
        click.echo(f"{c.family:<16} {c.dimension:<11} {c.value:<22} {c.count:>5}/{c.target:<5} {what}")
    click.echo(f"{sum(l.added for l in lines)} jobs {'would be ' if dry_run else ''}queued for {len(lines)} thin cells")


@cli.command("export")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("exports"),
              show_default=True)
@click.option("--seed", default=0, show_default=True, help="Tie-break seed of the mix builder.")
@click.option("--format", "formats", multiple=True, type=click.Choice(["prompt_completion", "alpaca"]),
              help="Extra formats beside TRL messages.")
@db_option
def export_cmd(out_dir: Path, seed: int, formats: tuple[str, ...], db: Path | None) -> None:
    """Write a versioned mix: train, polish and private eval files, manifest, stats, coverage report, log."""
    from curator.export.writer import LeakError, export

    cmap = _coverage_map(_settings_loader())
    with open_store(db) as store:
        try:
            result = export(store, cmap, out_dir=out_dir, seed=seed, formats=formats)
        except LeakError as exc:
            for leak in exc.leaks:
                click.echo(f"leak: #{leak['id']} in {leak['file']} matches eval items {leak['eval_items']}", err=True)
            raise click.ClickException(f"export refused: {len(exc.leaks)} rows match private eval items") from exc
    counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    click.echo(f"{'already exported' if result.reused else 'exported'} {result.version} to {result.path} ({counts})")
