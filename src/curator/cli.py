"""The `curator` command line: one command per pipeline stage. No arguments opens the app."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from curator import __version__
from curator.config import SAMPLE_DB, ConfigError, Settings, Window, db_path
from curator.corpus import CorpusError
from curator.corpus.importer import import_paths
from curator.sample import prepare_sample
from curator.seeds import import_seeds
from curator.store import Store, StoreError


def db_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--db PATH` for a command (default: $CURATOR_DB, else db/curator.db)."""
    return click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        help="Database file (default: $CURATOR_DB or db/curator.db).")(func)


def open_store(db: Path | None) -> Store:
    return Store(db_path(db))


def _open_app(path: Path) -> None:
    from curator.tui.app import CuratorApp  # imported here: the core never imports Textual

    with Store(path):  # open (and migrate) before the screen takes over, so errors print plainly
        pass
    CuratorApp(path).run()


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@db_option
@click.version_option(__version__, prog_name="curator")
@click.pass_context
def cli(ctx: click.Context, db: Path | None) -> None:
    """Turn a pile of Persian documents into a small, clean, leak-free SFT dataset.

    With no command, opens the terminal app on the database.
    """
    if ctx.invoked_subcommand is None:
        _open_app(db_path(db))


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--field", "field_name", default="text", show_default=True, help="Text field of .jsonl rows.")
@click.option("--min-chars", default=Window.min_chars, show_default=True, help="Smallest passage wanted.")
@click.option("--max-chars", default=Window.max_chars, show_default=True, help="Largest passage allowed.")
@db_option
def import_cmd(paths: tuple[Path, ...], field_name: str, min_chars: int, max_chars: int, db: Path | None) -> None:
    """Import .txt, .md and .jsonl files (folders recursively) as passages."""
    try:
        window = Window(min_chars, max_chars)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    with open_store(db) as store:
        total = sum(p.stat().st_size for p in _files_for_progress(paths))
        if sys.stderr.isatty() and total:
            with click.progressbar(length=total, label="importing", file=sys.stderr) as bar:
                report = import_paths(store, list(paths), field_name=field_name, window=window, progress=bar.update)
        else:
            report = import_paths(store, list(paths), field_name=field_name, window=window)
    for problem in report.problems:
        click.echo(f"skipped: {problem}", err=True)
    click.echo(report.summary())


def _files_for_progress(paths: tuple[Path, ...]) -> list[Path]:
    from curator.corpus.readers import corpus_files

    return corpus_files(list(paths), [])


@cli.group()
def seeds() -> None:
    """Hand-written seed examples (fewshot, eval, polish)."""


@seeds.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
def seeds_import(path: Path, db: Path | None) -> None:
    """Import seeds from a JSONL file (one example a line, with family and role)."""
    _import_examples(path, db, eval_items=False)


def _import_examples(path: Path, db: Path | None, *, eval_items: bool) -> None:
    with open_store(db) as store:
        report = import_seeds(store, path, eval_items=eval_items)
    for problem in report.problems:
        click.echo(f"skipped: {problem}", err=True)
    what = "eval items" if eval_items else "seeds"
    click.echo(f"{report.added} {what} added ({report.existing} already present"
               f"{f', {len(report.problems)} skipped' if report.problems else ''})")


@cli.command()
@db_option
def stats(db: Path | None) -> None:
    """Counts per table, per passage tag and quality, and per example kind and state."""
    with open_store(db) as store:
        sections = {
            "tables": store.table_counts(),
            "passage quality": store.group_counts("passages", "quality"),
            "passage tags": store.group_counts("passages", "tags"),
            "passage families": store.group_counts("passages", "families"),
            "example kinds": store.group_counts("examples", "kind"),
            "seed roles": dict(store.conn.execute(
                "SELECT role, count(*) FROM examples WHERE kind = 'seed' GROUP BY role").fetchall()),
            "example states": store.group_counts("examples", "state"),
        }
    for title, counts in sections.items():
        click.echo(f"{title}:")
        if not counts:
            click.echo("  (none)")
        for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            click.echo(f"  {name:<24} {n:>8}")


def _settings() -> Settings:
    return Settings.load()


def _families(settings: Settings, *, show_errors: bool = True):  # -> dict[str, Family]
    from curator.teacher.families import load_families

    loaded = load_families(settings.prompts_path())
    if show_errors:
        for error in loaded.errors:
            click.echo(f"family disabled: {error}", err=True)
    return loaded


@cli.command()
def families() -> None:
    """List the task families in prompts/ and validate their files."""
    loaded = _families(_settings(), show_errors=False)
    for name, fam in sorted(loaded.families.items()):
        dims = ", ".join(f"{k}:{len(v)}" for k, v in fam.dimensions.items())
        click.echo(f"{name:<16} {fam.schema:<18} passage={fam.passage:<8} hash={fam.template_hash} {dims}")
    for error in loaded.errors:
        click.echo(f"invalid: {error}", err=True)
    if loaded.errors:
        sys.exit(1)


@cli.command()
@click.option("--family", "family_name", required=True, help="Task family (see `curator families`).")
@click.option("--limit", default=10, show_default=True, help="Jobs to plan (candidates for --procedural).")
@click.option("--per-passage", default=1, show_default=True, help="Jobs per passage for passage families.")
@click.option("--batch", "use_batch", is_flag=True, help="Use the Message Batches API (half price).")
@click.option("--wait", is_flag=True, help="With --batch: poll until every batch has ended.")
@click.option("--dry-run", is_flag=True, help="Estimate requests, tokens and cost; send nothing.")
@click.option("--procedural", is_flag=True, help="Use the built-in generators (math, tools): no API key needed.")
@db_option
def generate(family_name: str, limit: int, per_passage: int, use_batch: bool, wait: bool, dry_run: bool,
             procedural: bool, db: Path | None) -> None:
    """Plan jobs for a family and run them through the teacher (resumable: run it again to continue)."""
    from curator.teacher.plan import plan_generation

    settings = _settings()
    fams = _families(settings).families
    if family_name not in fams:
        raise click.UsageError(f"unknown family {family_name!r} (known: {', '.join(sorted(fams))})")
    fam = fams[family_name]
    with open_store(db) as store:
        if procedural:
            from curator.teacher.procedural.run import run_procedural

            try:
                click.echo(run_procedural(store, fam, settings, limit=limit).summary())
            except ValueError as exc:
                raise click.UsageError(str(exc)) from exc
            return
        if dry_run:
            _dry_run(store, fam, settings, limit, per_passage, use_batch)
            return
        plan = plan_generation(store, fam, settings, limit=limit, per_passage=per_passage)
        click.echo(f"planned {len(plan.jobs)} jobs ({plan.added} new, {plan.existing} planned before)")
        if use_batch:
            _run_batch(store, fams, settings, family_name, wait)
            return
        from curator.teacher.runner import run_blocking

        report = run_blocking(store, fams, settings, family=family_name)
    for error in report.errors[-10:]:
        click.echo(f"  {error}", err=True)
    click.echo(report.summary())


def _dry_run(store: Store, fam, settings: Settings, limit: int, per_passage: int, batch: bool) -> None:
    from curator.teacher.plan import body_input_tokens, build_request, plan_generation
    from curator.teacher.procedural.tools import tools_prompt_text

    plan = plan_generation(store, fam, settings, limit=limit, per_passage=per_passage, dry_run=True)
    done = {r[0] for r in store.conn.execute("SELECT idem_key FROM jobs WHERE state = 'done'")}
    todo = [j for j in plan.jobs if j.idem_key not in done]
    tokens_in = tokens_out = 0
    cost = 0.0
    for job in todo:
        body = build_request(store, fam, job, settings, structured=settings.teacher.structured_outputs != "off",
                             tools_text=tools_prompt_text(job.topic) if fam.schema == "ToolBatch" else "")
        tin, tout = body_input_tokens(body), body["max_tokens"]
        tokens_in, tokens_out = tokens_in + tin, tokens_out + tout
        cost += settings.price(body["model"]).cost(tin, tout, batch=batch)
    model = settings.teacher.model_for(fam.name)
    click.echo(f"dry run, {fam.name} with {model}: {len(todo)} requests to send ({len(plan.jobs) - len(todo)} done before)")
    click.echo(f"  input ≈ {tokens_in} tokens, output ≤ {tokens_out} tokens (max_tokens)")
    click.echo(f"  cost ≤ ${cost:.4f}{' (batch price)' if batch else ''}; nothing was sent or stored")


def _run_batch(store: Store, fams, settings: Settings, family_name: str | None, wait: bool) -> None:
    import asyncio
    import time

    from curator.teacher import batch as batch_mod
    from curator.teacher.client import Teacher

    async def main() -> None:
        teacher = Teacher(settings.teacher)
        try:
            collected = await batch_mod.collect(store, fams, teacher, settings)
            submitted = await batch_mod.submit(store, fams, teacher, settings, family=family_name)
            click.echo(f"batches submitted: {', '.join(submitted.submitted) or 'none'}; "
                       f"collected: {len(collected.collected)}; pending: {len(collected.pending)}")
            while True:
                status = await batch_mod.collect(store, fams, teacher, settings)
                if status.collected:
                    click.echo(status.report.summary())
                if not status.pending or not wait:
                    if status.pending:
                        click.echo(f"still processing: {', '.join(status.pending)} (run again to collect)")
                    return
                time.sleep(min(30.0, max(0.05, settings.teacher.backoff_base_s)))
        finally:
            await teacher.close()

    asyncio.run(main())


@cli.command()
@click.option("--errors", "show_errors", is_flag=True, help="List failed jobs with their last error.")
@click.option("--show", "show_id", type=int, default=None, help="Show one job with its raw response.")
@db_option
def jobs(show_errors: bool, show_id: int | None, db: Path | None) -> None:
    """Job status per family: counts, attempts, tokens, cost and errors."""
    from curator.teacher.runner import job_summary

    with open_store(db) as store:
        if show_id is not None:
            job = store.job(show_id)
            for key, value in job.model_dump().items():
                click.echo(f"{key:<18} {value}")
            return
        rows = job_summary(store)
        if not rows:
            click.echo("no jobs")
        for r in rows:
            click.echo(f"{r['kind']:<11} {r['family'] or '-':<16} {r['state']:<8} {r['jobs']:>6} jobs "
                       f"{r['attempts']:>6} attempts {r['input_tokens']:>9} in {r['output_tokens']:>9} out "
                       f"${r['cost_usd']:.4f}")
        total = sum(r["cost_usd"] for r in rows)
        click.echo(f"total cost ${total:.4f}")
        if show_errors:
            for job in store.jobs("state = 'failed' OR last_error IS NOT NULL"):
                click.echo(f"job {job.id} [{job.state}, {job.attempts} attempts]: {job.last_error}")


@cli.command("classify")
@click.option("--llm", is_flag=True, required=True, help="Refine the heuristic tags with the teacher.")
@click.option("--limit", default=50, show_default=True)
@db_option
def classify_cmd(llm: bool, limit: int, db: Path | None) -> None:
    """Refine passage tags and quality with the teacher (through the job machinery)."""
    from curator.teacher.families import load_family
    from curator.teacher.plan import idem_key
    from curator.teacher.runner import run_blocking
    from curator.models import Job

    settings = _settings()
    fam = load_family(settings.prompts_path() / "classify.toml")
    with open_store(db) as store:
        ids = [r[0] for r in store.conn.execute("SELECT id FROM passages ORDER BY id LIMIT ?", (limit,))]
        added = sum(store.add_job(Job(idem_key=idem_key("classify", fam.name, fam.template_hash, pid, 0),
                                      kind="classify", family=fam.name, passage_id=pid,
                                      template_hash=fam.template_hash, params={"n": 1})) is not None for pid in ids)
        click.echo(f"planned {len(ids)} classification jobs ({added} new)")
        report = run_blocking(store, {fam.name: fam}, settings, kind="classify")
    click.echo(report.summary())


@cli.group("eval")
def eval_group() -> None:
    """Private eval items: never trained on, never sent to the teacher."""


@eval_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
def eval_import(path: Path, db: Path | None) -> None:
    """Import private eval items from JSONL (messages, optional family) for decontamination."""
    _import_examples(path, db, eval_items=True)


@cli.group(invoke_without_command=True)
@db_option
@click.pass_context
def gate(ctx: click.Context, db: Path | None) -> None:
    """Run the gates on pending candidates: rules, math, tools, faithfulness, dedup, decontamination."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = db
        return
    from curator.gates.runner import run_gates

    fams = _families(_settings()).families
    with open_store(db) as store:
        if sys.stderr.isatty():
            with click.progressbar(length=max(1, store.count("examples", "state = 'new'")), label="gating",
                                   file=sys.stderr) as bar:
                last = [0]

                def progress(done: int, total: int) -> None:
                    bar.update(done - last[0])
                    last[0] = done

                report = run_gates(store, fams, progress=progress)
        else:
            report = run_gates(store, fams)
    click.echo(report.summary())


@gate.command("judge")
@click.option("--limit", default=100, show_default=True, help="Candidates to judge.")
@db_option
def gate_judge(limit: int, db: Path | None) -> None:
    """Judge gated candidates with the frozen rubric (prompts/judge.toml) and the judge model."""
    from curator.gates.judge import JudgeModelError, plan_judging
    from curator.teacher.families import load_family
    from curator.teacher.runner import run_blocking

    settings = _settings()
    rubric = load_family(settings.prompts_path() / "judge.toml")
    with open_store(db) as store:
        try:
            plan = plan_judging(store, rubric, settings, limit=limit)
        except JudgeModelError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"planned {len(plan.jobs)} judge jobs ({plan.added} new) with {settings.judge.model}, "
                   f"rubric {rubric.template_hash}")
        report = run_blocking(store, {rubric.name: rubric}, settings, kind="judge")
    click.echo(report.summary())


@gate.command("audit")
@click.argument("gate_name")
@click.option("--sample", "n", default=10, show_default=True)
@click.option("--seed", default=0, show_default=True)
@db_option
def gate_audit(gate_name: str, n: int, seed: int, db: Path | None) -> None:
    """A sample of passed and failed candidates of one gate, to confirm with `gate override`."""
    from curator.gates.audit import sample

    with open_store(db) as store:
        rows = sample(store, gate_name, n, seed=seed)
        if not rows:
            click.echo(f"nothing left to audit for {gate_name!r}")
        for example_id, verdict, reason in rows:
            ex = store.example(example_id)
            first = next((m.content for m in ex.messages if m.role == "user"), "")
            click.echo(f"#{example_id} {verdict:<5} {reason:<22} {ex.family:<15} {safe_line(first, 70)}")


def safe_line(text: str, width: int) -> str:
    """One line of untrusted text for a terminal: control characters shown as visible escapes."""
    from curator.text.display import visible

    line = visible(" ".join(text.split()))
    return line if len(line) <= width else line[: width - 1] + "…"


@gate.command("override")
@click.argument("example_id", type=int)
@click.argument("gate_name")
@click.argument("verdict", type=click.Choice(["pass", "fail"]))
@click.option("--note", default=None)
@db_option
def gate_override(example_id: int, gate_name: str, verdict: str, note: str | None, db: Path | None) -> None:
    """Record the curator's verdict on one gate decision (counts toward the gate report)."""
    from curator.gates.audit import record

    with open_store(db) as store:
        try:
            was = record(store, example_id, gate_name, verdict, note)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    extra = " (recorded; a contaminated candidate is never exported)" if gate_name == "decontam" else ""
    click.echo(f"#{example_id} {gate_name}: gate said {was}, curator says {verdict}{extra}")


@gate.command("report")
@db_option
def gate_report(db: Path | None) -> None:
    """Per gate: verdicts, audits, agreement with the curator, estimated false-reject and false-accept rates."""
    from curator.gates.audit import report

    def pct(x: float | None) -> str:
        return "   -" if x is None else f"{x:4.0%}"

    with open_store(db) as store:
        rows = report(store)
    click.echo(f"{'gate':<13} {'pass':>7} {'flag':>6} {'fail':>6} {'audited':>8} {'agree':>6} "
               f"{'false-reject':>13} {'false-accept':>13}")
    for r in rows:
        click.echo(f"{r.gate:<13} {r.passed:>7} {r.flagged:>6} {r.failed:>6} {r.audited:>8} {pct(r.agreement):>6} "
                   f"{pct(r.false_reject):>13} {pct(r.false_accept):>13}")


def _coverage_map(settings: Settings):
    from curator.coverage import CoverageError, CoverageMap

    try:
        return CoverageMap.load(settings.prompts_path() / "coverage.toml", _families(settings, show_errors=False).families)
    except CoverageError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command()
@click.option("--thin", "only_thin", is_flag=True, help="Only the thin cells.")
@db_option
def coverage(only_thin: bool, db: Path | None) -> None:
    """Accepted examples per cell of the coverage map (prompts/coverage.toml) against their targets."""
    from curator.coverage import recount, table

    cmap = _coverage_map(_settings())
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

    settings = _settings()
    cmap = _coverage_map(settings)
    with open_store(db) as store:
        lines = plan_augmentation(store, _families(settings).families, settings, cmap, recount(store, cmap),
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

    cmap = _coverage_map(_settings())
    with open_store(db) as store:
        try:
            result = export(store, cmap, out_dir=out_dir, seed=seed, formats=formats)
        except LeakError as exc:
            for leak in exc.leaks:
                click.echo(f"leak: #{leak['id']} in {leak['file']} matches eval items {leak['eval_items']}", err=True)
            raise click.ClickException(f"export refused: {len(exc.leaks)} rows match private eval items") from exc
    counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    click.echo(f"{'already exported' if result.reused else 'exported'} {result.version} to {result.path} ({counts})")


@cli.command()
@click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path), default=SAMPLE_DB,
              show_default=True, help="Where to build the sample database.")
@click.option("--no-app", is_flag=True, help="Only build the sample database.")
def demo(db: Path, no_app: bool) -> None:
    """Build the bundled sample project (Persian corpus and seeds) and open the app on it."""
    with Store(db) as store:
        summary = prepare_sample(store)
        if not store.count("examples", "kind = 'candidate'"):
            summary += "; " + _demo_candidates(store)
    click.echo(f"sample project in {db}: {summary}")
    if not no_app:
        _open_app(db)


def _demo_candidates(store: Store) -> str:
    """Candidates to triage without an API key: the procedural generators, then the gates."""
    from curator.gates.runner import run_gates
    from curator.teacher.procedural.run import run_procedural

    settings = _settings()
    fams = _families(settings).families
    made = sum(run_procedural(store, fams[name], settings, limit=8).candidates
               for name in ("school_math", "tool_calling") if name in fams)
    run_gates(store, fams)
    return f"{made} procedural candidates generated and gated"


def main() -> None:
    """Entry point: errors become one clear line and a non-zero exit, not a traceback."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (StoreError, CorpusError, ConfigError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence for a CLI
        if os.environ.get("CURATOR_DEBUG"):
            raise
        click.echo(f"error: {type(exc).__name__}: {exc} (set CURATOR_DEBUG=1 for the traceback)", err=True)
        sys.exit(1)
