"""Closing the loop: the private eval set asked of the student model trained on an export, every answer
scored by the verifier its family deserves, and a scorecard per family and coverage cell.

`start_run` checks the endpoint (a clear error naming the URL before anything is stored), records the
run and queues one `eval_answer` job per eval item; `answer_run` asks the student (leased jobs: a kill
loses nothing and an answered item is never asked again; retries, faults and cancel as for the
teacher); `score_run` scores the answers; `scorecard` sums them up. The eval items go only to the
endpoint named for the run; no answer or score is ever part of a training export."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curator.errors import CuratorError
from curator.jsonl import objects
from curator.models import Example, Job
from curator.progress import NEVER, Cancel, Progress
from curator.scorecard import card, score
from curator.store import Store
from curator.store.base import lease_owner
from curator.store.jobs import LEASE_S
from curator.student.client import Student, StudentError, StudentSettings
from curator.teacher.client import OutputError, extract_json
from curator.display.wording import counted

__all__ = ["StudentSettings", "answer_run", "import_scores", "write_report", "judge_eval", "judge_run", "latest_scorecard", "run_eval",
           "score_run", "scorecard", "start_run"]
KIND = "eval_answer"
MAX_ATTEMPTS = 3


class EvalRunError(CuratorError):
    """An eval run cannot be started or read (no eval items, no such run)."""


@dataclass
class EvalRunReport:
    run: int
    endpoint: str
    answered: int = 0
    failed: int = 0
    retried: int = 0
    recovered: int = 0
    already: int = 0  # answered before this call (a resumed run)
    stopped: bool = False  # cancelled before every item was asked
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"eval run #{self.run} on {self.endpoint}: {self.answered} answered, {self.failed} failed, "
                f"{self.retried} to retry")
        if self.already:
            text += f"; {self.already} answered before"
        if self.recovered:
            text += f"; {counted(self.recovered, 'item')} of a stopped run taken up again"
        if self.stopped:
            text += f"; stopped: go on with `curator eval run ... --resume {self.run}`"
        return text + "; the eval items were sent to this endpoint only"


def start_run(store: Store, student: StudentSettings, *, export_version: str | None = None,
              limit: int | None = None) -> int:
    """Record a run and queue one job per current eval item (call after `Student.check`)."""
    items = store.current_eval_items()[:limit] if limit else store.current_eval_items()
    if not items:
        raise EvalRunError("no private eval items to ask (import them with `curator eval import FILE`)")
    run = store.add_eval_run(endpoint=student.endpoint, model=student.model, api=student.api,
                             export_version=export_version,
                             params={"concurrency": student.concurrency, "items": len(items)})
    store.add_jobs([Job(idem_key=f"eval:{run}:{item.id}", kind=KIND, family=item.family,
                        params={"run": run, "item": item.id}) for item in items])
    return run


async def answer_run(store: Store, run: int, student: Student, *, progress: Progress | None = None,
                     cancel: Cancel = NEVER, owner: str | None = None) -> EvalRunReport:
    """Ask the student every queued item of the run; each answer is stored with its job's `done`."""
    if store.eval_run(run) is None:
        raise EvalRunError(f"no eval run #{run} (see `curator eval report`)")
    report = EvalRunReport(run, student.settings.endpoint)
    owner = owner or lease_owner()
    report.recovered = store.recover_jobs(max_attempts=MAX_ATTEMPTS)
    report.already = len(store.answered_eval_items(run))
    items = {item.id: item for item in store.current_eval_items()}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for job_id in store.queued_eval_jobs(run):
        queue.put_nowait(job_id)
    total = queue.qsize()

    async def worker() -> None:
        while not queue.empty() and not cancel.is_set():
            job_id = queue.get_nowait()
            job = store.job(job_id)
            item = items.get(job.params.get("item"))
            if item is None:
                if store.fail_job(job_id, "the eval item is no longer in the eval set"):
                    report.failed += 1
                continue
            attempt = store.claim_job(job_id, owner, max_attempts=MAX_ATTEMPTS)
            if attempt is None:
                continue
            try:
                answer = await student.answer(score.question(item), item.tools)
            except StudentError as exc:
                state = "queued" if exc.retryable and attempt < MAX_ATTEMPTS else "failed"
                store.finish_attempt(job_id, state=state, attempt=attempt, error=str(exc), raw=exc.raw, owner=owner)
                report.errors.append(f"item #{item.id}: {exc}")
                if state == "queued":
                    report.retried += 1
                    queue.put_nowait(job_id)
                else:
                    report.failed += 1
            else:
                with store.transaction():
                    if store.finish_attempt(job_id, state="done", attempt=attempt, raw=answer.raw, owner=owner,
                                            input_tokens=answer.input_tokens, output_tokens=answer.output_tokens,
                                            detail={"retries": answer.retries} if answer.retries else None):
                        store.store_eval_answer(run, item.id, job_id, answer.as_message(), answer.raw)
                        report.answered += 1
            if progress:
                progress(report.answered + report.failed, total)

    async def renew() -> None:
        while True:
            await asyncio.sleep(LEASE_S / 3)
            store.renew_leases(owner)

    renewer = asyncio.create_task(renew())
    try:
        await asyncio.gather(*(worker() for _ in range(student.settings.concurrency)))
    finally:
        renewer.cancel()
    report.stopped = cancel.is_set() and bool(store.queued_eval_jobs(run))
    if not store.queued_eval_jobs(run) and not store.eval_job_states(run).get("running"):
        store.finish_eval_run(run)
    return report


def student_settings(endpoint: str, model: str, api: str = "openai", **more: Any) -> StudentSettings:
    """The student's settings: its key, if its server wants one, from $STUDENT_API_KEY (never stored)."""
    return StudentSettings(endpoint=endpoint, model=model, api=api, api_key=os.environ.get("STUDENT_API_KEY", ""),
                           **more)


def judge_settings(endpoint: str | None, model: str | None, api: str, default_model: str, *,
                   options: tuple[str, str] = ("--judge-api", "--judge-endpoint")) -> StudentSettings:
    """The judge's settings: the teacher's endpoint ($ANTHROPIC_BASE_URL, else Anthropic's API) and
    `default_model` unless named; its key from $JUDGE_API_KEY, else $ANTHROPIC_API_KEY for the Anthropic API
    (never stored). ValueError for an OpenAI-style judge with no endpoint, naming the API's and the
    endpoint's `options` as the curator typed them."""
    api_option, endpoint_option = options
    if api not in ("anthropic", "openai"):
        raise ValueError(f"{api_option} is anthropic or openai, not {api!r}")
    key = os.environ.get("JUDGE_API_KEY") or (os.environ.get("ANTHROPIC_API_KEY", "") if api == "anthropic" else "")
    where = endpoint or (os.environ.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com" if api == "anthropic"
                         else None)
    if where is None:
        raise ValueError(f"{api_option} openai needs {endpoint_option}")
    return StudentSettings(endpoint=where, model=model or default_model, api=api, api_key=key, concurrency=4)


def run_eval(store: Store, settings: StudentSettings, *, run: int | None = None, export_version: str | None = None,
             limit: int | None = None, progress: Progress | None = None, cancel: Cancel = NEVER) -> EvalRunReport:
    """From synchronous code: check the endpoint, start a run (or resume `run`), ask every item, score."""

    async def main() -> EvalRunReport:
        student = Student(settings)
        try:
            await student.check()
            number = run if run is not None else start_run(store, settings, export_version=export_version, limit=limit)
            return await answer_run(store, number, student, progress=progress, cancel=cancel)
        finally:
            await student.close()

    report = asyncio.run(main())
    return report


def score_run(store: Store, run: int, families: dict[str, Any]) -> int:
    """Score every answer of the run (again, from scratch); returns how many items were scored."""
    items = {item.id: item for item in store.current_eval_items()}
    judged = {item: (passed, reason, evidence) for item, scorer, passed, reason, evidence in store.eval_scores(run)
              if scorer == "judge" and passed is not None}  # a judge's verdict is kept: scoring again costs nothing
    rows = []
    answers = store.eval_answers(run)
    for item_id, answer in answers.items():
        item = items.get(item_id)
        if item is None:
            continue
        for s in score.score_answer(item, answer, families.get(item.family)):
            if s.scorer == "judge" and item_id in judged:
                rows.append((item_id, "judge", *judged[item_id]))
                continue
            rows.append((item_id, s.scorer, None if s.passed is None else int(s.passed), s.reason, s.evidence))
    store.replace_eval_scores(run, rows)
    return len(answers)


def scorecard(store: Store, run: int | None = None) -> card.Scorecard:
    """The scorecard of a run (the latest by default), with the change since the run before it."""
    runs = [r["id"] for r in store.eval_runs()]
    if not runs:
        raise EvalRunError("no eval run yet (run `curator eval run --endpoint URL --model NAME`)")
    run = runs[-1] if run is None else run
    if run not in runs:
        raise EvalRunError(f"no eval run #{run} (runs: {', '.join(map(str, runs))})")
    earlier = [r for r in runs if r < run]
    items = {item.id: item for item in store.current_eval_items()}  # read once for both cards
    previous = _card(store, earlier[-1], items) if earlier else None
    return _card(store, run, items, previous)


def latest_scorecard(store: Store) -> card.Scorecard | None:
    """The latest run's scorecard, or None when there is no run yet (the dashboard)."""
    return scorecard(store) if store.eval_runs() else None


def _card(store: Store, run: int, items: dict[int, Any], previous: card.Scorecard | None = None) -> card.Scorecard:
    by_item: dict[int, list[score.Score]] = {}
    for item_id, scorer, passed, reason, evidence in store.eval_scores(run):
        by_item.setdefault(item_id, []).append(score.Score(scorer, None if passed is None else bool(passed), reason,
                                                            evidence))
    rows = [(items[i].family, card.cell_of(items[i].task_type, items[i].difficulty), score.verdict(s))
            for i, s in by_item.items() if i in items]
    recorded = store.eval_run(run)
    built = card.build(run, recorded["export_version"], rows, previous)
    built.asked = f"{recorded['endpoint']}, model {recorded['model']}"
    return built


def write_report(store: Store, run: int | None = None) -> Path:
    """`evals/run-N/eval_report.md` beside the database (written atomically): the run's scorecard."""
    found = scorecard(store, run)
    folder = store.path.resolve().parent / "evals" / f"run-{found.run}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "eval_report.md"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(card.markdown(found), encoding="utf-8")
    os.replace(tmp, path)
    return path


@dataclass
class JudgeReport:
    run: int
    endpoint: str
    judged: int = 0
    passed: int = 0
    failed: int = 0  # requests that did not give a verdict
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"eval run #{self.run}: {self.judged} open answers judged by {self.endpoint} ({self.passed} pass, "
                f"{self.judged - self.passed} fail); {self.failed} not judged")


def rubric(prompts: Path) -> tuple[dict[str, str], str]:
    """The eval judge's prompt (`prompts/eval_judge.toml`) and its hash."""
    path = prompts / "eval_judge.toml"
    raw = path.read_bytes()
    try:
        prompt = tomllib.loads(raw.decode("utf-8"))["prompt"]
        system, user = prompt["system"].strip(), prompt["user"].strip()
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise EvalRunError(f"{path}: not a judge rubric ({exc}); it needs [prompt] system and user") from exc
    return {"system": system, "user": user}, hashlib.sha256(raw).hexdigest()[:16]


def _text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(f"{m['role']}: {m.get('content', '')}" for m in messages)


async def judge_run(store: Store, run: int, judge: Student, prompts: Path) -> JudgeReport:
    """Score the run's open answers still pending a judge: the question, the reference and the answer
    go to the judge endpoint named for this run, and its verdict (with its reason) is stored."""
    prompt, version = rubric(prompts)
    report = JudgeReport(run, judge.settings.endpoint)
    items = {item.id: item for item in store.current_eval_items()}
    answers = store.eval_answers(run)
    pending = [item for item, scorer, passed, _, _ in store.eval_scores(run) if scorer == "judge" and passed is None]

    async def one(item_id: int) -> None:
        item = items.get(item_id)
        if item is None or item_id not in answers:
            return
        user = prompt["user"].format(question=_text(score.question(item)), reference=score.reference(item).content,
                                     answer=answers[item_id].get("content") or "")
        try:
            said = await judge.answer([{"role": "system", "content": prompt["system"]},
                                       {"role": "user", "content": user}])
            verdict = extract_json(said.content)
            passed = {"pass": True, "fail": False}[str(verdict.get("verdict", "")).lower()]
        except (StudentError, OutputError, KeyError, AttributeError) as exc:
            report.failed += 1
            report.errors.append(f"item #{item_id}: {exc}")
            return
        reason = str(verdict.get("reason", ""))[:500]
        store.set_eval_score(run, item_id, "judge", passed, "judged", {
            "reason": reason, "judge": f"{judge.settings.endpoint} {judge.settings.model}", "rubric": version})
        report.judged += 1
        report.passed += passed

    await asyncio.gather(*(one(i) for i in pending))
    return report


def judge_eval(store: Store, run: int | None, settings: StudentSettings, prompts: Path) -> JudgeReport:
    """From synchronous code: check the judge endpoint, then judge the run's pending open answers."""
    run = run if run is not None else scorecard(store).run

    async def main() -> JudgeReport:
        judge = Student(settings)
        try:
            await judge.check()
            return await judge_run(store, run, judge, prompts)
        finally:
            await judge.close()

    return asyncio.run(main())


@dataclass
class ImportedScores:
    run: int
    imported: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"eval run #{self.run}: {counted(self.imported, 'score')} imported"
        return text + (f"; {counted(len(self.problems), 'line')} skipped" if self.problems else "")


def eval_items(store: Store) -> list[Example]:
    """The private eval set as it is now (`curator eval list`): what a harness scores, with the `uid` its
    scores name."""
    return store.current_eval_items()


def import_scores(store: Store, path: Path, *, model: str = "external", export_version: str | None = None) -> ImportedScores:
    """Per-item scores from an outside harness (lm-eval, lighteval): one JSON object a line with the eval
    item's `uid` (`curator eval list`) or its `id` (as in an export's eval_private.jsonl) and `passed`
    (true/false), optionally `scorer` and `reason`. They become a run of their own; a bad line is named
    (file:line: field: why) and skipped."""
    current = store.current_eval_items()
    by_uid = {item.uid: item for item in current if item.uid}
    by_id = {item.id: item for item in current}
    rows: list[tuple[int, str, int | None, str, dict[str, Any]]] = []
    problems: list[str] = []
    seen: set[tuple[int, str]] = set()
    try:
        read = list(objects(path, problems))
    except OSError as exc:
        raise EvalRunError(f"{path}: cannot read the scores ({exc})") from exc
    for number, row in read:
        key = "uid" if "uid" in row or "id" not in row else "id"
        value = row.get(key)
        item = (by_uid if key == "uid" else by_id).get(value) if type(value) in (str, int) else None  # (not a bool)
        if item is None:
            problems.append(f"{path}:{number}: {key}: {row.get(key)!r} is not a current private eval item")
            continue
        if not isinstance(row.get("passed"), bool):
            problems.append(f"{path}:{number}: passed: must be true or false")
            continue
        scorer = str(row.get("scorer") or "external")[:40]
        if (item.id, scorer) in seen:
            problems.append(f"{path}:{number}: {key}: {row[key]} scored twice by {scorer}")
            continue
        seen.add((item.id, scorer))
        rows.append((item.id, scorer, int(row["passed"]), "imported",
                     {"reason": str(row.get("reason", ""))[:500], "file": path.name, "line": number}))
    if not rows:
        raise EvalRunError(f"{path}: no score to import" + (f" ({problems[0]})" if problems else ""))
    run = store.add_eval_run(endpoint=f"import:{path.name}", model=model, api="import", export_version=export_version,
                             params={"items": len(rows)})
    store.replace_eval_scores(run, rows)
    store.finish_eval_run(run)
    return ImportedScores(run, len(rows), problems)
