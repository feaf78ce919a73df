"""Use cases the app reaches from the command palette (ctrl+p), through the same service functions
as the CLI: imports, cost estimates, batches, LLM classification, the judge, gate audits.

Each asks for its arguments in one line, runs its service in a worker on its own connection, and
shows the service's summary; an error is shown, never fatal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curator.commands import PALETTE, UseCase, palette_help
from curator.store import Store


class ArgumentsError(ValueError):
    """What was typed for a palette command cannot be taken: the app asks again, with the text and why."""


@dataclass(frozen=True)
class ServiceCommand:
    """A palette command: a use case of `curator.commands.PALETTE` and the function that runs it."""

    use: UseCase
    run: Callable[[Any, Store, list[str]], str]  # (app, its own store, the words typed) -> a summary

    @property
    def title(self) -> str:
        return self.use.title

    @property
    def help(self) -> str:
        return palette_help(self.use)

    @property
    def prompt(self) -> str:
        return self.use.prompt

    @property
    def default(self) -> str:
        return self.use.default


def _family(app: Any, words: list[str]) -> Any:
    if not words or words[0] not in app.families:
        raise ArgumentsError(f"a family is needed (known: {', '.join(sorted(app.families))})")
    return app.families[words[0]]


def _number(words: list[str], index: int, default: int) -> int:
    if len(words) > index:
        if not words[index].isdigit():
            raise ArgumentsError(f"{words[index]!r} is not a number")
        return int(words[index])
    return default


def _option(words: list[str], name: str, default: str, choices: tuple[str, ...] = ()) -> tuple[str, list[str]]:
    """The value of `name VALUE` among the words typed (else `default`), and the words without it."""
    if name not in words:
        return default, words
    at = words.index(name)
    if at + 1 >= len(words):
        raise ArgumentsError(f"{name} needs a value" + (f" ({' or '.join(choices)})" if choices else ""))
    value = words[at + 1]
    if choices and value not in choices:
        raise ArgumentsError(f"{name} is {' or '.join(choices)}, not {value!r}")
    return value, words[:at] + words[at + 2:]


def _flag(words: list[str], name: str) -> tuple[bool, list[str]]:
    """Whether `name` is among the words typed, and the words without it."""
    return name in words, [w for w in words if w != name]


def _count_option(words: list[str], name: str) -> tuple[int | None, list[str]]:
    """The whole number of `name N` among the words typed (else None), and the words without it."""
    value, words = _option(words, name, "")
    if value and (not value.isdigit() or int(value) < 1):
        raise ArgumentsError(f"{name} takes a whole number from 1, not {value!r}")
    return (int(value) if value else None), words


def _path(words: list[str]) -> Path:
    if not words:
        raise ArgumentsError("a path is needed")
    return Path(" ".join(words)).expanduser()


def _skipped(problems: list[str], shown: int = 20) -> str:
    """The skipped lines under a summary: the first `shown`, and how many more (`curator` names them all)."""
    more = f"\n… and {len(problems) - shown} more skipped (the command line names them all)" if len(problems) > shown else ""
    return "".join(f"\nskipped: {p}" for p in problems[:shown]) + more


def _import_corpus(app: Any, store: Store, words: list[str]) -> str:
    from curator.services.corpus_import import import_corpus

    # (as `curator import PATH --field NAME`: the text field of .jsonl/.parquet rows)
    field, words = _option(words, "--field", "text")
    report = import_corpus(store, [_path(words)], field_name=field)
    return report.summary() + _skipped(report.problems)


def _import_seeds(eval_items: bool) -> Callable[[Any, Store, list[str]], str]:
    def run(app: Any, store: Store, words: list[str]) -> str:
        from curator.services.seeds import import_seeds

        report = import_seeds(store, _path(words), eval_items=eval_items, families=app.families)
        return report.summary("eval item" if eval_items else "seed") + _skipped(report.problems)

    return run


def _import_candidates(app: Any, store: Store, words: list[str]) -> str:
    from curator.services.candidates import import_candidates

    report = import_candidates(store, _path(words), families=app.families)
    return report.summary() + _skipped(report.problems)


def _estimate(app: Any, store: Store, words: list[str]) -> str:
    from curator.services.generate import estimate

    return estimate(store, _family(app, words), app.settings, limit=_number(words, 1, 10)).summary()


def _batch(app: Any, store: Store, words: list[str]) -> str:
    from curator.services.generate import run_batch

    return run_batch(store, app.families, _family(app, words).name, app.settings, limit=_number(words, 1, 10)).summary()


def _classify(app: Any, store: Store, words: list[str]) -> str:
    from curator.services.classify import classify

    family = app.project.rubric("classify")
    return classify(store, family, app.settings, limit=_number(words, 0, 50)).summary()


def _judge(app: Any, store: Store, words: list[str]) -> str:
    from curator.services.judge import judge

    rubric = app.project.rubric("judge")
    return judge(store, rubric, app.settings, limit=_number(words, 0, 100)).summary()


def _gate_report(app: Any, store: Store, words: list[str]) -> str:
    from curator.services.audit import gate_report

    return "\n".join(gate_report(store, app.settings))


def _eval_list(app: Any, store: Store, words: list[str]) -> str:
    from curator.display.wording import counted
    from curator.services.evaluation import eval_items

    items = eval_items(store)
    lines = [f"#{item.id} {item.uid or '-'} {item.family}: "
             + next((m.content for m in item.messages if m.role == "user"), "")[:60] for item in items]
    return "\n".join([f"{counted(len(items), 'private eval item')} (uid: what eval import-scores takes)", *lines])


def _embed(app: Any, store: Store, words: list[str]) -> str:
    from curator.services.embed import embed_missing

    return embed_missing(store, app.settings.meaning, limit=_number(words, 0, 0) or None).summary()


def _override(app: Any, store: Store, words: list[str]) -> str:
    from curator.services.audit import record

    if len(words) < 3 or not words[0].isdigit() or words[2] not in ("pass", "fail"):
        raise ArgumentsError("type: candidate-id gate pass|fail [note]")
    was = record(store, int(words[0]), words[1], words[2], " ".join(words[3:]) or None)
    return f"#{words[0]} {words[1]}: the gate said {was}, you say {words[2]}"


def _keeper(app: Any, store: Store, words: list[str]) -> str:
    from curator.services.keeper import make_keeper

    if len(words) != 1 or not words[0].isdigit():
        raise ArgumentsError("type: candidate-id")
    return "\n".join(make_keeper(store, int(words[0])).lines())


def _judging(app: Any, words: list[str], prefix: str) -> tuple[Any, list[str]]:
    """The judge's settings from `PREFIXendpoint/model/api` among the words typed (as the command's options),
    and the words without them."""
    from curator.services.evaluation import judge_settings

    endpoint, words = _option(words, f"{prefix}endpoint", "")
    model, words = _option(words, f"{prefix}model", "")
    api, words = _option(words, f"{prefix}api", "anthropic", ("anthropic", "openai"))
    try:
        return judge_settings(endpoint or None, model or None, api, app.settings.judge.model,
                              options=(f"{prefix}api", f"{prefix}endpoint")), words
    except ValueError as exc:
        raise ArgumentsError(str(exc)) from None


def _eval_run(app: Any, store: Store, words: list[str]) -> str:
    from curator.progress import NEVER
    from curator.services.evaluation import judge_eval, run_eval, score_run, scorecard, student_settings, write_report

    # (as `curator eval run`: --api, --limit, --resume, and --judge with the judge's options)
    api, words = _option(words, "--api", "openai", ("openai", "anthropic"))
    limit, words = _count_option(words, "--limit")
    resume, words = _count_option(words, "--resume")
    judge, words = _flag(words, "--judge")
    judging, rest = _judging(app, words, "--judge-")
    judge = judge or len(rest) < len(words)  # (naming a judge's option asks for the judge, as the command)
    if len(rest) < 2:
        raise ArgumentsError("type: endpoint-URL model [export-version] [--api anthropic] [--limit N] [--resume RUN] "
                         "[--judge]")

    def progress(done: int, total: int) -> None:
        app.call_from_thread(app.show_progress, "asking the student", done, total)

    report = run_eval(store, student_settings(rest[0], rest[1], api), run=resume,
                      export_version=rest[2] if len(rest) > 2 else None, limit=limit, progress=progress,
                      cancel=app.command_stop or NEVER)
    score_run(store, report.run, app.families)
    judged = judge_eval(store, report.run, judging, app.settings.prompts_path()) if judge else None
    written = write_report(store, report.run)
    return "\n".join([report.summary(), *report.errors[:5], *([judged.summary(), *judged.errors[:5]] if judged else []),
                      "", *scorecard(store, report.run).report_lines(), "", f"report: {written}"])


def _eval_judge(app: Any, store: Store, words: list[str]) -> str:
    from curator.services.evaluation import judge_eval, scorecard

    judging, words = _judging(app, words, "--")  # (as `curator eval judge --endpoint --model --api`)
    run = _number(words, 0, 0) or None
    report = judge_eval(store, run, judging, app.settings.prompts_path())
    return "\n".join([report.summary(), *report.errors[:5], "", *scorecard(store, report.run).report_lines()])


RUNS = {
    "import": _import_corpus, "seeds import": _import_seeds(False), "eval import": _import_seeds(True),
    "candidates import": _import_candidates, "generate --dry-run": _estimate, "generate --batch": _batch,
    "classify --llm": _classify, "gate judge": _judge, "embed": _embed, "gate report": _gate_report,
    "gate override": _override, "eval list": _eval_list, "eval run": _eval_run, "eval judge": _eval_judge,
    "candidates keeper": _keeper,
}
COMMANDS = tuple(ServiceCommand(use, RUNS[use.command]) for use in PALETTE)
