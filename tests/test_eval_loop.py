"""Closing the loop: the private eval set asked of a student model behind a local OpenAI-compatible
server (a scripted student, with faults), every answer scored by its family's verifier, and a
scorecard per family and cell that equals the script; a killed run resumes without asking again."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from curator.services.evaluation import answer_run, run_eval, score_run, scorecard, start_run
from curator.services.seeds import import_seeds
from curator.store import Store
from curator.student.client import Student, StudentError, StudentSettings
from fake_chat_api import ChatFault, FakeChatAPI
from tui_fixtures import FAMILIES, ROOT

CALC = [{"type": "function", "function": {"name": "calculator", "description": "Arithmetic.", "parameters": {
    "type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}}]


def math(n: int, difficulty: str) -> dict:
    return {"family": "school_math", "role": "eval", "task_type": "word_problem", "difficulty": difficulty,
            "messages": [{"role": "user", "content": f"اگر سارا {n} دفتر بخرد و هر دفتر ۴ هزار تومان باشد، روی هم چند هزار تومان می‌دهد؟"},
                         {"role": "assistant", "content": f"{n} × ۴ = {4 * n}. پس سارا {4 * n} هزار تومان می‌دهد."}]}


def tool(a: int, b: int) -> dict:
    return {"family": "tool_calling", "role": "eval", "task_type": "tool_needed", "difficulty": "middle_school",
            "tools": CALC, "messages": [
                {"role": "user", "content": f"حاصل {a} ضربدر {b} چقدر است؟"},
                {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "id": "c1", "function": {
                    "name": "calculator", "arguments": {"expression": f"{a}*{b}"}}}]},
                {"role": "tool", "tool_call_id": "c1", "content": str(a * b)},
                {"role": "assistant", "content": f"حاصل {a * b} است."}]}


NO_CALL = {"family": "tool_calling", "role": "eval", "task_type": "no_tool_needed", "difficulty": "middle_school",
           "tools": CALC, "messages": [{"role": "user", "content": "پایتخت ایران کجاست؟"},
                                       {"role": "assistant", "content": "پایتخت ایران تهران است."}]}
OPEN = {"family": "grammar_tutor", "role": "eval", "task_type": "explanation", "difficulty": "middle_school",
        "messages": [{"role": "user", "content": "در جملهٔ «مریم به مدرسه رفت» فاعل کدام است؟"},
                     {"role": "assistant", "content": "در این جمله «مریم» فاعل است، چون کار رفتن را انجام داده است."}]}

ITEMS = [math(3, "easy"), math(5, "easy"), math(7, "easy"), math(11, "hard"), math(13, "hard"), math(17, "hard"),
         tool(11, 70), tool(13, 70), tool(23, 47), NO_CALL, OPEN]


def student(body: dict) -> dict:
    """The script: right on easy math and 3 of 7 and 5 of 17 hard ones... exactly as WRONG says."""
    ask = body["messages"][-1]["content"]
    for n in (3, 5, 7, 11, 13, 17):
        if f"سارا {n} دفتر" in ask:
            given = 4 * n + (1 if n in WRONG_MATH else 0)
            return {"content": f"{n} × ۴ = {given}. پس جواب {given} هزار تومان است."}
    for a, b in ((11, 70), (13, 70), (23, 47)):
        if f"حاصل {a} ضربدر {b}" in ask:
            if (a, b) == (13, 70):  # a call whose arguments are not JSON
                return {"content": "", "tool_calls": [{"name": "calculator", "arguments": '{"expression": "13*70"'}]}
            expression = f"{a}*{b}" if (a, b) != (23, 47) else "23+47"  # one wrong call
            return {"content": "", "tool_calls": [{"name": "calculator", "arguments": {"expression": expression}}]}
    if "پایتخت" in ask:
        return {"content": "", "tool_calls": [{"name": "calculator", "arguments": {"expression": "1+1"}}]}  # needless call
    return {"content": "در این جمله «مریم» فاعل است، چون کار رفتن را او انجام داده است و فعل به او نسبت داده می‌شود."}


WRONG_MATH = {11, 17}  # two of the hard ones; every easy one right


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "eval.db"
    items = tmp_path / "eval.jsonl"
    items.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in ITEMS) + "\n", encoding="utf-8")
    with Store(path) as store:
        report = import_seeds(store, items, eval_items=True)
        assert not report.problems, report.problems
    return path


def test_the_scorecard_equals_the_script_through_faults(db: Path) -> None:
    with FakeChatAPI(script=student) as api, Store(db) as store:
        api.faults.extend([ChatFault.status(429, retry_after="0"), ChatFault.status(500), ChatFault.malformed(),
                           ChatFault.timeout(2.0)])
        settings = StudentSettings(endpoint=api.url, model="student", concurrency=4, timeout_s=1.0,
                                   backoff_base_s=0.01)
        report = run_eval(store, settings, export_version="v3")
        assert report.answered == len(ITEMS) and report.failed == 0, report.errors
        assert api.answered == len(ITEMS)
        score_run(store, report.run, FAMILIES)
        card = scorecard(store)
        tool_reasons = sorted(r for _, scorer, _, r, _ in store.eval_scores(report.run) if scorer == "tool_call")
    assert tool_reasons == ["arguments_not_json", "no_call_expected", "ok", "wrong_arguments"]
    lines = {(line.family, line.cell): (line.items, line.passed, line.pending) for line in card.lines}
    assert lines[("school_math", None)] == (6, 4, 0)
    assert lines[("school_math", "word_problem/easy")] == (3, 3, 0)
    assert lines[("school_math", "word_problem/hard")] == (3, 1, 0)
    assert lines[("tool_calling", "tool_needed/middle_school")] == (3, 1, 0)
    assert lines[("tool_calling", "no_tool_needed/middle_school")] == (1, 0, 0)
    assert lines[("grammar_tutor", None)] == (0, 0, 1), "an open answer waits for the judge"
    assert card.export_version == "v3"
    assert card.failing() == {("school_math", "word_problem/hard"): 2, ("tool_calling", "tool_needed/middle_school"): 2,
                              ("tool_calling", "no_tool_needed/middle_school"): 1}


def test_only_the_question_is_sent_with_its_tools(db: Path) -> None:
    with FakeChatAPI(script=student) as api, Store(db) as store:
        run_eval(store, StudentSettings(endpoint=api.url, model="student"), limit=len(ITEMS))
    by_question = {r["messages"][-1]["content"]: r for r in api.requests}
    asked = by_question["حاصل ۲۳ ضربدر ۴۷ چقدر است؟".replace("۲۳", "23").replace("۴۷", "47")]
    assert [m["role"] for m in asked["messages"]] == ["user"] and asked["tools"] == CALC
    assert all(m["role"] != "assistant" for r in api.requests for m in r["messages"]), "never the reference answer"


def test_an_unreachable_endpoint_or_a_wrong_model_is_one_line_and_nothing_is_stored(db: Path, tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-m", "curator", "eval", "run", "--endpoint", "http://127.0.0.1:9/v1",
                           "--model", "student", "--db", str(db)], capture_output=True, text=True, timeout=120)
    assert gone.returncode == 1 and "Traceback" not in gone.stderr
    assert gone.stderr.startswith("error: http://127.0.0.1:9/v1: cannot connect")
    with FakeChatAPI(script=student, models=["my-sft"]) as api:
        wrong = subprocess.run([sys.executable, "-m", "curator", "eval", "run", "--endpoint", api.url, "--model",
                                "student", "--db", str(db)], capture_output=True, text=True, timeout=120)
        assert wrong.returncode == 1 and "no model 'student' there (it serves my-sft)" in wrong.stderr
        assert api.requests == []
        judgeless = subprocess.run([sys.executable, "-m", "curator", "eval", "run", "--endpoint", api.url, "--model",
                                    "my-sft", "--judge", "--judge-api", "openai", "--db", str(db)],
                                   capture_output=True, text=True, timeout=120)
        assert judgeless.returncode == 2 and "--judge-api openai needs --judge-endpoint" in judgeless.stderr
        assert api.requests == [], "a judge with no endpoint is refused before the student is asked"
        judge_alone = subprocess.run([sys.executable, "-m", "curator", "eval", "judge", "--api", "openai", "--db",
                                      str(db)], capture_output=True, text=True, timeout=120)
        assert judge_alone.returncode == 2 and "--api openai needs --endpoint" in judge_alone.stderr, "its own options"
    with Store(db, readonly=True) as store:
        assert store.eval_runs() == [] and store.count("jobs") == 0


def test_a_failing_item_is_named_and_the_others_are_answered(db: Path) -> None:
    with FakeChatAPI(script=student) as api, Store(db) as store:
        api.faults.extend([ChatFault.status(400)])  # a request the server refuses: not retried
        report = run_eval(store, StudentSettings(endpoint=api.url, model="student", concurrency=1))
    assert report.failed == 1 and report.answered == len(ITEMS) - 1
    assert "400" in report.errors[0] and api.url in report.errors[0]


def test_a_killed_run_resumes_without_asking_again(db: Path) -> None:
    answered_first = 4
    release, reached = threading.Event(), threading.Event()
    count = [0]
    lock = threading.Lock()

    def held(body: dict) -> dict:
        with lock:
            count[0] += 1
            mine = count[0]
        if mine == answered_first:
            reached.set()
        if mine > answered_first:
            release.wait(60)  # the requests after the first ones hang until the process is killed
        return student(body)

    with FakeChatAPI(script=held) as api:
        cmd = [sys.executable, "-m", "curator", "eval", "run", "--endpoint", api.url, "--model", "student",
               "--concurrency", "2", "--db", str(db)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert reached.wait(60), "the student was asked"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the first answers are committed (a condition, not a pause)
            with Store(db, readonly=True) as store:
                if store.eval_runs() and len(store.answered_eval_items(1)) == answered_first:
                    break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        release.set()
        with Store(db, readonly=True) as store:
            before = store.answered_eval_items(1)
        assert len(before) == answered_first
        asked_before = len(api.requests)
        api.script = student
        out = subprocess.run([*cmd, "--resume", "1"], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert f"{answered_first} answered before" in out.stdout
        assert len(api.requests) - asked_before == len(ITEMS) - answered_first
    with Store(db, readonly=True) as store:
        assert len(store.answered_eval_items(1)) == len(ITEMS)
        assert len(store.eval_runs()) == 1


def test_report_json_and_no_answer_reaches_an_export(db: Path, tmp_path: Path) -> None:
    from curator.target_mix import CoverageMap
    from curator.services.export import export_dataset

    with FakeChatAPI(script=student) as api:
        out = subprocess.run([sys.executable, "-m", "curator", "eval", "run", "--endpoint", api.url, "--model",
                              "student", "--export", "v1", "--db", str(db)], capture_output=True, text=True,
                             timeout=120)
    assert out.returncode == 0, out.stderr
    assert "school_math" in out.stdout and "word_problem/hard" in out.stdout
    assert f"({api.url}, model student)" in out.stdout, "the scorecard says where the eval items went"
    written = db.parent / "evals" / "run-1" / "eval_report.md"
    assert f"report: {written}" in out.stdout
    markdown = written.read_text(encoding="utf-8")
    assert "| school_math | (all) | 6 | 4 | 67% |" in markdown and "| school_math | word_problem/hard | 3 | 1 |" in markdown
    assert f"- asked: {api.url}, model student" in markdown and "export: v1" in markdown
    report = subprocess.run([sys.executable, "-m", "curator", "eval", "report", "--json", "--db", str(db)],
                            capture_output=True, text=True, timeout=120)
    rows = [json.loads(line) for line in report.stdout.splitlines()]
    fam = next(r for r in rows if r["family"] == "school_math" and r["cell"] is None)
    assert (fam["items"], fam["passed"], fam["run"], fam["export"]) == (6, 4, 1, "v1")
    assert all({"family", "cell", "items", "passed", "run"} <= set(r) for r in rows)
    with Store(db) as store:
        from curator.services.seeds import create_seed

        create_seed(store, {"family": "grammar_tutor", "role": "fewshot", "messages": [  # (something to train on)
            {"role": "user", "content": "قید در جملهٔ «تند دوید» کدام است؟"},
            {"role": "assistant", "content": "«تند» قید است، چون چگونگی دویدن را می‌گوید."}]})
        result = export_dataset(store, CoverageMap.load(ROOT / "prompts" / "coverage.toml", FAMILIES),
                                out_dir=tmp_path / "out")
    files = {p.name: p.read_text(encoding="utf-8") for p in result.path.iterdir() if p.is_file()}
    everything = "".join(files.values())
    assert "پس جواب" not in everything and "فعل به او نسبت داده می‌شود" not in everything, "no student answer leaves"
    assert "train.jsonl" in files and "سارا" not in files["train.jsonl"] + files["polish.jsonl"], \
        "nor an eval item in a training file"


def test_student_error_names_the_endpoint() -> None:
    import asyncio

    async def ask() -> None:
        s = Student(StudentSettings(endpoint="http://127.0.0.1:9/v1", model="m", max_retries=0))
        try:
            await s.answer([{"role": "user", "content": "سلام"}])
        finally:
            await s.close()

    with pytest.raises(StudentError, match=r"127\.0\.0\.1:9/v1: connection error"):
        asyncio.run(ask())
    assert start_run and answer_run  # the service's steps, used by the app's worker too


def test_augment_from_eval_plans_only_the_failing_cells_in_proportion(db: Path) -> None:
    from curator.config import Settings
    from curator.services.augment import plan_from_eval, queue

    settings = Settings(prompts_dir=ROOT / "prompts")
    with FakeChatAPI(script=student) as api, Store(db) as store:
        report = run_eval(store, StudentSettings(endpoint=api.url, model="student"))
        score_run(store, report.run, FAMILIES)
        planned = plan_from_eval(store, FAMILIES, settings, jobs_per_failure=2)
        wanted = {(line.cell.family, line.cell.value): line.added for line in planned.lines}
        assert wanted == {("school_math", "word_problem/hard"): 4, ("tool_calling", "tool_needed/middle_school"): 4,
                          ("tool_calling", "no_tool_needed/middle_school"): 2}
        assert store.count("jobs", "kind = 'generate'") == 0, "planning writes nothing"
        assert planned.summary().startswith("10 jobs for 3 failing cells;"), planned.summary()  # (not "thin")
        done = queue(store, planned)
        assert done.summary().startswith("10 jobs queued for 3 failing cells;"), done.summary()
        queued = done.queued
        assert queued == planned.jobs == 10, "the dry run counts what the real run queues"
        params = [store.job(i).params for (i,) in store.conn.execute("SELECT id FROM jobs WHERE kind = 'generate'")]
    hard = [p for p in params if p.get("difficulty") == "hard"]
    assert len(hard) == 4 and all(p["task_type"] == "word_problem" and p["augment"]["eval_run"] == "1" for p in hard)


def test_the_judge_scores_the_open_answers_against_their_references(db: Path) -> None:
    """`--judge`: each open answer, with its question and reference, goes to the judge's endpoint (here the
    Anthropic Messages API, through the real SDK); its verdict and reason are stored, scoring again keeps them."""
    from curator.services.evaluation import judge_eval
    from fake_messages_api import FakeMessagesAPI

    def grader(body: dict, n: int) -> dict:
        asked = "".join(block["text"] for block in body["messages"][-1]["content"])
        assert "Reference answer:" in asked and "«مریم» فاعل است" in asked
        return {"verdict": "pass", "reason": "فاعل درست گفته شده است."}

    with FakeChatAPI(script=student) as api, FakeMessagesAPI(responder=grader) as teacher, Store(db) as store:
        report = run_eval(store, StudentSettings(endpoint=api.url, model="student"))
        score_run(store, report.run, FAMILIES)
        judged = judge_eval(store, report.run, StudentSettings(endpoint=teacher.url, model="claude-haiku-4-5",
                                                               api="anthropic", api_key="k"), ROOT / "prompts")
        assert (judged.judged, judged.passed, judged.failed) == (1, 1, 0), judged.errors
        assert len(teacher.requests) == 1, "only the open answer goes to the judge"
        score_run(store, report.run, FAMILIES)  # scoring again keeps the judge's verdict
        card = scorecard(store)
        reasons = [r for _, scorer, _, _, r in store.eval_scores(report.run) if scorer == "judge"]
    grammar = next(line for line in card.lines if line.family == "grammar_tutor" and line.cell is None)
    assert (grammar.items, grammar.passed, grammar.pending) == (1, 1, 0)
    assert reasons[0]["reason"] == "فاعل درست گفته شده است." and reasons[0]["rubric"]


def test_scores_from_an_outside_harness_make_a_run_of_their_own(db: Path, tmp_path: Path) -> None:
    with Store(db, readonly=True) as store:
        items = store.current_eval_items()
    math_items = [i for i in items if i.family == "school_math"]
    lines = [json.dumps({"uid": item.uid, "passed": n < 4, "reason": "lm-eval exact_match"})
             for n, item in enumerate(math_items)]
    lines += ['{"uid": "nope", "passed": true}', "not json", json.dumps({"uid": math_items[0].uid, "passed": "yes",
                                                                            "scorer": "other"})]
    scores = tmp_path / "scores.jsonl"
    scores.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "curator", "eval", "import-scores", str(scores), "--model", "my-sft",
                          "--db", str(db)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, "skipped lines are named and the exit says so"
    assert "scores.jsonl:7: uid: 'nope' is not a current private eval item" in out.stderr
    assert "scores.jsonl:8: not valid JSON" in out.stderr and "scores.jsonl:9: passed: must be true or false" in out.stderr
    assert "6 scores imported" in out.stdout
    report = subprocess.run([sys.executable, "-m", "curator", "eval", "report", "--json", "--db", str(db)],
                            capture_output=True, text=True, timeout=120)
    rows = [json.loads(line) for line in report.stdout.splitlines()]
    assert next(r for r in rows if r["cell"] is None) == {**next(r for r in rows if r["cell"] is None),
                                                          "family": "school_math", "items": 6, "passed": 4}


def test_the_next_export_records_the_eval_run_that_steered_it(db: Path, tmp_path: Path) -> None:
    """augment --from-eval → the teacher generates for the failing cells → accepted → exported: the manifest
    counts the rows each eval run steered, and the curation log names the run on each of them."""
    from curator.config import Settings, TeacherSettings
    from curator.jobs.runner import run_with_teacher
    from curator.services.augment import plan_from_eval, queue
    from curator.services.export import export_dataset
    from curator.services.gate import run_gates
    from curator.services.triage import decide
    from curator.target_mix import CoverageMap
    from fake_messages_api import FakeMessagesAPI

    settings = Settings(prompts_dir=ROOT / "prompts", teacher=TeacherSettings(concurrency=2, backoff_base_s=0.01))
    with FakeChatAPI(script=student) as api, FakeMessagesAPI() as teacher, Store(db) as store:
        report = run_eval(store, StudentSettings(endpoint=api.url, model="student"))
        score_run(store, report.run, FAMILIES)
        queue(store, plan_from_eval(store, FAMILIES, settings, jobs_per_failure=1))
        run_with_teacher(store, FAMILIES, settings, family="school_math", api_key="k", base_url=teacher.url)
        run_gates(store, FAMILIES)
        made = [r[0] for r in store.conn.execute("SELECT id FROM examples WHERE kind = 'candidate'")]
        assert made, "the teacher made candidates for the failing math cell"
        for example_id in made:
            decide(store, example_id, "accept")
        result = export_dataset(store, CoverageMap.load(ROOT / "prompts" / "coverage.toml", FAMILIES),
                                out_dir=tmp_path / "out")
    manifest = json.loads((result.path / "manifest.json").read_text(encoding="utf-8"))
    log = [json.loads(line) for line in (result.path / "curation_log.jsonl").read_text(encoding="utf-8").splitlines()]
    exported = [row for row in log if row["exported"] and row["kind"] == "candidate"]
    assert exported and all(row["eval_run"] == 1 for row in exported)
    assert manifest["eval_runs"] == {"1": len(exported)}


def test_a_stopped_run_keeps_its_answers_and_resumes(db: Path) -> None:
    import asyncio
    import threading

    stop = threading.Event()
    answered = [0]

    def counting(body: dict) -> dict:
        answered[0] += 1
        if answered[0] == 3:
            stop.set()  # the curator stops the run while the third item is being answered
        return student(body)

    with FakeChatAPI(script=counting) as api, Store(db) as store:
        settings = StudentSettings(endpoint=api.url, model="student", concurrency=1)
        run = start_run(store, settings)

        async def ask() -> object:
            s = Student(settings)
            try:
                return await answer_run(store, run, s, cancel=stop)
            finally:
                await s.close()

        report = asyncio.run(ask())
        assert report.stopped and report.answered == 3 and "--resume 1" in report.summary()
        assert len(store.answered_eval_items(run)) == 3 and store.eval_run(run)["finished_at"] is None
        resumed = run_eval(store, settings, run=run)
    assert resumed.already == 3 and resumed.answered == len(ITEMS) - 3 and not resumed.stopped
    assert len(api.requests) == len(ITEMS), "no item asked twice"


def test_a_student_behind_the_messages_api(db: Path) -> None:
    """`--api anthropic`: the same run through the Anthropic SDK (the teacher's), system turns and tools in
    its shape; a server without a model list is asked anyway."""
    from fake_messages_api import FakeMessagesAPI

    def said(body: dict, n: int) -> dict:
        assert "tools" not in body or body["tools"][0]["input_schema"]["required"] == ["expression"]
        return {"note": "Persian answer follows"}

    with FakeMessagesAPI(responder=said) as api, Store(db) as store:
        report = run_eval(store, StudentSettings(endpoint=api.url, model="student", api="anthropic"))
        assert report.answered == len(ITEMS) and report.failed == 0
        with_tools = [r for r in api.requests if "tools" in r]
    assert len(with_tools) == 4 and all(r["model"] == "student" for r in api.requests)


def test_a_harness_finds_the_uids_in_eval_list_or_scores_by_the_exported_id(db: Path, tmp_path: Path) -> None:
    """What a harness needs: `curator eval list` shows each current item's uid; a score may name the `id` an
    export's eval_private.jsonl carries instead."""
    with Store(db, readonly=True) as store:
        items = store.current_eval_items()
    listed = subprocess.run([sys.executable, "-m", "curator", "eval", "list", "--json", "--db", str(db)],
                            capture_output=True, text=True, timeout=120)
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["id"], r["uid"]) for r in rows] == [(i.id, i.uid) for i in items] and all(r["uid"] for r in rows)
    scores = tmp_path / "by_id.jsonl"
    scores.write_text("\n".join(json.dumps({"id": i.id, "passed": True}) for i in items[:2])
                      + '\n{"id": 999999, "passed": true}\n', encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "curator", "eval", "import-scores", str(scores), "--db", str(db)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "by_id.jsonl:3: id: 999999 is not a current private eval item" in out.stderr
    assert "2 scores imported" in out.stdout, out.stdout
