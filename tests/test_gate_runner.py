"""Gates over a real store: verdicts stored with reasons, status, judge, audit, eval import."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from curator.config import JudgeSettings, Settings, TeacherSettings
from curator.services.judge import JudgeModelError, plan_judging
from curator.models import Example, Message
from curator.services.demo import prepare_sample
from curator.services import audit
from curator.services.gate import run_gates
from curator.services.seeds import import_seeds
from curator.store import Store
from curator.teacher.client import Teacher
from curator.families import load_families, load_family
from curator.jobs.procedural import run_procedural
from curator.jobs.runner import run_jobs
from curator.text.normalize import key_hash
from fake_messages_api import FakeMessagesAPI

ROOT = Path(__file__).resolve().parents[1]
FAMS = load_families(ROOT / "prompts").families


def candidate(store: Store, user: str, answer: str, *, family: str = "grammar_tutor", model: str = "gen-model",
              **kw) -> int:
    e = Example(kind="candidate", family=family, task_type=kw.pop("task_type", "explanation"), model=model,
                messages=[Message(role="user", content=user), Message(role="assistant", content=answer)], **kw)
    e.key_hash = key_hash(user + "\n" + answer)
    return store.add_example(e)


@pytest.fixture
def store(db_file: Path):
    with Store(db_file) as s:
        prepare_sample(s)
        yield s


def test_gate_run_stores_every_verdict_and_sets_status(store: Store) -> None:
    run_procedural(store, FAMS["school_math"], Settings(), limit=12)
    good = candidate(store, "فاعل در جملهٔ «مریم آمد» کدام است؟", "«مریم» فاعل است، چون کار آمدن را انجام داده است.")
    dup = candidate(store, "فاعل در جملهٔ «مريم آمد» كدام است؟", "«مريم» فاعل است، چون كار آمدن را انجام داده است.")
    english = candidate(store, "What is a verb?", "A verb is an action word in a sentence.")
    (eval_seed,) = store.examples("kind = 'seed' AND role = 'eval' AND family = 'passage_qa'")
    leak = candidate(store, eval_seed.messages[0].content, eval_seed.messages[1].content, family="passage_qa")
    report = run_gates(store, FAMS)
    assert report.checked == 16 and report.duplicates >= 1 and report.contaminated == 1
    latest = store.current_verdicts()
    assert {"format", "language", "length", "dedup", "decontam"} <= set(latest[good])
    assert latest[good]["dedup"]["verdict"] == "pass"
    assert (latest[dup]["dedup"]["reason"], latest[dup]["dedup"]["detail"]["keeper"]) == ("duplicate_of", good)
    assert latest[english]["language"]["reason"] == "not_persian"
    assert latest[leak]["decontam"]["detail"]["eval_items"] == [eval_seed.id]
    assert all(v["version"] for g in latest.values() for v in g.values())
    states = {e.id: (e.state, e.gate_status) for e in store.examples("kind = 'candidate'")}
    assert states[good] == ("gated", "pass") and states[dup] == ("gated", "fail") and states[leak][1] == "fail"
    math_ids = [e.id for e in store.examples("family = 'school_math' AND kind = 'candidate'")]
    assert all(latest[i]["math"]["verdict"] == "pass" for i in math_ids)
    # A second run changes nothing and writes no new set-level rows.
    before = store.count("gate_verdicts")
    run_gates(store, FAMS)
    assert store.count("gate_verdicts") == before


def test_eval_import_feeds_decontamination(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "eval.jsonl"
    rows = [{"messages": [{"role": "user", "content": "پایتخت ایران کجاست و چه جمعیتی دارد؟"},
                          {"role": "assistant", "content": "پایتخت ایران تهران است و جمعیت آن بیش از هشت میلیون نفر است که در دامنه‌ی البرز زندگی می‌کنند."}]},
            {"messages": [{"role": "user", "content": ""}]}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    report = import_seeds(store, path, eval_items=True)
    assert report.added == 1 and len(report.problems) == 1 and f"{path}:2:" in report.problems[0]
    assert import_seeds(store, path, eval_items=True).added == 0
    copy = candidate(store, "درباره‌ی تهران بگو", "پايتخت ايران تهران است و جمعيت آن بيش از ۸ ميليون نفر است که در دامنه‌ي البرز زندگي مي‌کنند.",
                     family="passage_qa")
    run_gates(store, FAMS)
    assert store.current_verdicts()[copy]["decontam"]["verdict"] == "fail"


def judge_settings(**kw) -> Settings:
    return Settings(teacher=TeacherSettings(concurrency=2), judge=JudgeSettings(model="judge-model", **kw))


def run_judge(store: Store, api: FakeMessagesAPI, settings: Settings):
    rubric = load_family(ROOT / "prompts" / "judge.toml")
    plan = plan_judging(store, rubric, settings, limit=10)

    async def main():
        teacher = Teacher(settings.teacher, api_key="k", base_url=api.url)
        try:
            return await run_jobs(store, {rubric.name: rubric}, teacher, settings, kind="judge")
        finally:
            await teacher.close()

    return rubric, plan, asyncio.run(main())


def test_judge_verdicts_carry_the_rubric_hash_and_fixes_become_revisions(store: Store) -> None:
    # Not «قید چیست؟»: the sample's few-shot seed asks that, and the meaning dedup keeps the seed.
    a = candidate(store, "حرف ربط چیست؟", "حرف ربط کلمه‌ای است که دو جمله یا دو کلمه را به هم وصل می‌کند، مثل «و» و «اما».")
    b = candidate(store, "صفت چیست؟", "صفت کلمه‌ای است که اسم را توصیف می‌کند، مثل «بزرگ» در «خانهٔ بزرگ».")
    run_gates(store, FAMS)
    decisions = {a: "accept", b: "edit"}

    def responder(body, n):
        example_id = a if "حرف ربط چیست" in body["messages"][0]["content"] else b
        verdict = {"scores": {"clarity": 5, "correctness": 5, "faithfulness": 5, "naturalness": 4, "format": 5,
                              "usefulness": 4}, "decision": decisions[example_id], "reason": "روشن و درست."}
        if decisions[example_id] == "edit":
            verdict["fixed_example"] = {"messages": [
                {"role": "user", "content": "صفت چیست؟"},
                {"role": "assistant", "content": "صفت کلمه‌ای است که دربارهٔ اسم توضیح می‌دهد، مثل «بزرگ» در «خانهٔ بزرگ»."}]}
        return verdict

    with FakeMessagesAPI(responder=responder) as api:
        rubric, plan, report = run_judge(store, api, judge_settings())
        assert all(body["model"] == "judge-model" for body in api.requests)
        assert all("temperature" not in body for body in api.requests)
    assert report.done == 2
    latest = store.current_verdicts()
    assert latest[a]["judge"]["verdict"] == "pass" and latest[a]["judge"]["version"] == rubric.template_hash
    assert latest[a]["judge"]["detail"]["rubric_hash"] == rubric.template_hash
    assert latest[b]["judge"]["verdict"] == "flag"
    (revision,) = store.examples("kind = 'revision'")
    assert revision.parent_id == b and revision.state == "new"
    assert "توضیح می‌دهد" in revision.messages[1].content
    assert "توصیف" in store.example(b).messages[1].content, "the original is never overwritten"
    assert latest[b]["judge"]["detail"]["revision_id"] == revision.id


def test_the_judge_may_not_grade_its_own_model(store: Store) -> None:
    candidate(store, "ضمیر چیست؟", "ضمیر کلمه‌ای است که به جای اسم می‌نشیند تا اسم تکرار نشود، مثل «او» و «ما».",
              model="judge-model")
    run_gates(store, FAMS)
    rubric = load_family(ROOT / "prompts" / "judge.toml")
    with pytest.raises(JudgeModelError, match="also generated candidate"):
        plan_judging(store, rubric, judge_settings(), limit=10)
    assert plan_judging(store, rubric, judge_settings(allow_same_model=True), limit=10).added == 1


def test_audit_samples_both_sides_and_overrides_feed_status_and_report(store: Store) -> None:
    ids = [candidate(store, f"پرسش {i}: فاعل در جملهٔ «علی آمد» چیست؟", f"«علی» فاعل است. توضیح شمارهٔ {i} برای دانش‌آموز.")
           for i in range(6)]
    english = candidate(store, "What is a noun?", "A noun is a word that names a person, a place, a thing or an idea.")
    run_gates(store, FAMS)
    sample = audit.sample(store, "language", 4, seed=1)
    assert {item.verdict for item in sample} == {"pass", "fail"}
    audit.record(store, english, "language", "pass", "fine for a bilingual lesson")
    audit.record(store, ids[0], "language", "pass")
    audit.record(store, ids[1], "language", "fail")
    assert store.example(english).gate_status == "pass", "the curator's override feeds the status"
    row = {r.gate: r for r in audit.report(store)}["language"]
    assert row.audited == 3 and row.false_reject == 1.0 and row.false_accept == 0.5
    with pytest.raises(audit.AuditError):
        audit.record(store, ids[0], "judge", "pass")


def test_an_audit_judges_the_gates_on_candidates_only(store: Store) -> None:
    """Seeds carry verdicts too, but the curator audits the gates on what they decide: candidates (seeds were
    sampled and could be overridden, skewing the report); a misspelt gate is named, not 'nothing left'."""
    candidate(store, "فاعل در جملهٔ «مریم خندید» چیست؟", "«مریم» فاعل است، چون کار خندیدن را انجام داده است.")
    run_gates(store, FAMS)
    seeds = {s.id for s in store.seeds()}
    assert store.conn.execute("SELECT count(*) FROM current_verdicts WHERE example_id IN (%s)"
                              % ",".join(map(str, seeds))).fetchone()[0], "(seeds have verdicts)"
    sampled = {item.example_id for item in audit.sample(store, "language", 1000)}
    assert sampled and not sampled & seeds
    with pytest.raises(audit.AuditError, match="is a seed: an audit judges the gates on candidates"):
        audit.record(store, min(seeds), "language", "fail")
    with pytest.raises(audit.AuditError, match="no gate 'langauge' \\(the gates: content, decontam, "):
        audit.sample(store, "langauge", 4)


def test_a_decontamination_override_changes_nothing(store: Store) -> None:
    (eval_seed,) = store.examples("kind = 'seed' AND role = 'eval' AND family = 'safety'")
    leak = candidate(store, eval_seed.messages[0].content, eval_seed.messages[1].content, family="safety")
    run_gates(store, FAMS)
    audit.record(store, leak, "decontam", "pass")
    assert store.example(leak).gate_status == "fail"


def test_gate_cli_runs_and_reports(store: Store, db_file: Path) -> None:
    candidate(store, "فاعل چیست؟", "فاعل کسی است که کار را انجام می‌دهد، مثل «علی» در «علی آمد».")
    env = {**os.environ, "CURATOR_DB": str(db_file)}
    out = subprocess.run([sys.executable, "-m", "curator", "gate"], env=env, capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "1 new candidate checked" in out.stdout and "dedup" in out.stdout
    rep = subprocess.run([sys.executable, "-m", "curator", "gate", "report"], env=env, capture_output=True, text=True,
                         cwd=ROOT)
    table = audit.report_lines(audit.report(store))
    assert table[0].split() == ["gate", "pass", "flag", "fail", "audited", "agree", "f-rej", "f-acc"]
    assert rep.stdout.splitlines()[:len(table)] == table  # the same lines as the palette's Gate report


def test_a_gate_run_pauses_between_batches_and_resumes(store: Store, monkeypatch) -> None:
    import threading

    from curator.services.gating import lexical as lexical_module
    from curator.services.gating import runner as runner_module

    monkeypatch.setattr(runner_module, "BATCH", 5)
    monkeypatch.setattr(lexical_module, "WRITE_BATCH", 5)
    run_procedural(store, FAMS["school_math"], Settings(), limit=12)
    stop = threading.Event()
    calls = []

    def progress(done: int, total: int) -> None:
        calls.append(done)
        stop.set()  # pause after the first batch

    first = run_gates(store, FAMS, progress=progress, cancel=stop)
    assert first.paused and first.checked == 5 and store.count("examples", "state = 'new' AND kind = 'candidate'") == 7
    second = run_gates(store, FAMS)
    assert not second.paused and second.checked == 7
    assert store.count("examples", "state = 'new' AND kind = 'candidate'") == 0
