"""The triage habits as services: one line per gate with its key evidence, the full evidence on demand,
the warning before accepting what export would drop, the curator's own flag queue, the session's pace,
reject reasons counted for the coverage report and the curation log, and coverage that counts only
what export would take. Small stores with hand-written verdicts (no gates run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.config import ConfigError, Settings
from curator.target_mix import CoverageMap, LiveCoverage, recount
from curator.export.mix import load_rows, attach_verdicts
from curator.export.curation_log import entries
from curator.export.writer import coverage_report
from curator.services.gating.runner import update_status
from curator.models import Example, Message
from curator.services import triage
from curator.services.coverage import coverage

CMAP = CoverageMap(targets={("grammar_tutor", "family", "grammar_tutor"): 10}, dimensions=[])


def candidate(n: int) -> Example:
    return Example(kind="candidate", family="grammar_tutor", task_type="explanation",
                   messages=[Message(role="user", content=f"پرسش شمارهٔ {n} دربارهٔ دستور زبان چیست؟"),
                             Message(role="assistant", content=f"پاسخ شمارهٔ {n}: فعل جمله را کامل می‌کند.")],
                   key_hash=f"k{n}")


@pytest.fixture
def store(tmp_path: Path):
    from curator.store import Store

    with Store(tmp_path / "habits.db") as s:
        yield s


def gated(store, verdicts: dict[str, tuple[str, str, float | None, dict]], n: int) -> int:
    example_id = store.add_example(candidate(n))
    store.insert_verdicts([(example_id, gate, "1", v, reason, score, detail)
                           for gate, (v, reason, score, detail) in verdicts.items()])
    update_status(store, [example_id])
    return example_id


PARAPHRASE = {"decontam_meaning": ("fail", "paraphrase_of_eval", 0.9412,
                                   {"eval_item": 812, "matched": "ask", "score": 0.9412}),
              "language": ("pass", "ok", 0.99, {}), "rules": ("pass", "ok", None, {})}


def test_one_line_per_gate_names_the_key_evidence_failures_first() -> None:
    verdicts = {
        "rules": {"verdict": "pass", "reason": "ok", "score": None, "detail": {}},
        "dedup_meaning": {"verdict": "fail", "reason": "paraphrase_of", "score": 0.97,
                          "detail": {"keeper": 12, "cluster_size": 2, "how": "meaning"}},
        "language": {"verdict": "flag", "reason": "english_span", "score": 0.8,
                     "detail": {"turn": 1, "span": [3, 30], "text": "The subject does the action."}},
        "decontam_meaning": {"verdict": "fail", "reason": "paraphrase_of_eval", "score": 0.9412,
                             "detail": {"eval_item": 812, "matched": "ask", "score": 0.9412}},
    }
    lines = [f"{g.gate} {g.verdict} {g.summary}" for g in triage.gate_lines(verdicts)]
    assert lines == ["decontam_meaning fail paraphrase_of_eval #812 (0.94)",
                     "dedup_meaning fail paraphrase_of #12 (0.97)",
                     "language flag english_span «The subject does the action.» (0.80)",
                     "rules pass ok"]
    details = triage.gate_details(verdicts)
    assert '"text": "The subject does the action."' in details and '"eval_item": 812' in details
    blind = triage.gate_lines(verdicts, blind=True)
    assert {g.verdict for g in blind} == {"?"} and "812" not in " ".join(g.summary for g in blind)
    assert "812" not in triage.gate_details(verdicts, blind=True)


def test_accepting_what_export_would_drop_warns(store) -> None:
    contaminated = gated(store, PARAPHRASE, 1)
    clean = gated(store, {"rules": ("pass", "ok", None, {})}, 2)
    warnings = triage.load_card(store, contaminated).accept_warnings()
    assert warnings == ["fails decontam_meaning",
                        "export drops it (contaminated (paraphrase of eval item #812, ask cosine 0.9412))"]
    assert triage.load_card(store, clean).accept_warnings() == []


def test_the_card_shows_its_notes_flags_and_earlier_decisions(store) -> None:
    example_id = gated(store, {"rules": ("pass", "ok", None, {})}, 1)
    triage.decide(store, example_id, "note", note="check the verb")
    triage.decide(store, example_id, "flag")
    triage.decide(store, example_id, "reject", reason="unnatural")
    triage.undo(store)
    card = triage.load_card(store, example_id)
    history = card.history()
    assert [h.split(" ", 2)[2] for h in history] == ["note: check the verb", "flag", "reject (unnatural) (undone)"]
    assert not card.decided


def test_the_flag_queue_holds_the_curators_own_undecided_flags(store) -> None:
    a, b, c = (gated(store, {"rules": ("pass", "ok", None, {})}, n) for n in (1, 2, 3))
    for example_id in (a, b, c):
        triage.decide(store, example_id, "flag")
    triage.decide(store, b, "accept")  # decided: it leaves the queue
    triage.undo(store, example_id=c)  # its flag undone
    assert triage.queue_ids(store, "mine") == [a]
    assert triage.queue_ids(store, "mine", triage.Filters(family="student_support")) == []
    assert triage.queue_ids(store, "mine", triage.Filters(family="grammar_tutor")) == [a]


def test_the_session_counts_decisions_and_their_median_seconds() -> None:
    session = triage.Session()
    assert session.count == 0 and session.median_seconds is None
    for decision_id, seconds in ((1, 2.0), (2, 9.0), (3, 4.0)):
        session.record(decision_id, seconds)
    assert (session.count, session.median_seconds) == (3, 4.0)
    session.forget(2)
    assert (session.count, session.median_seconds) == (2, 3.0)


def test_reject_reasons_are_settings_with_a_persian_curation_default(tmp_path: Path) -> None:
    assert Settings().triage.reasons[:3] == ["wrong", "unnatural", "off_topic"] and not Settings().triage.blind
    toml = tmp_path / "curator.toml"
    toml.write_text('[triage]\nreasons = ["wrong", "Not A Code"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="triage.reasons"):
        Settings.load(toml)
    toml.write_text('[triage]\nreasons = ["wrong", "tone"]\nblind = true\n', encoding="utf-8")
    assert Settings.load(toml).triage.reasons == ["wrong", "tone"] and Settings.load(toml).triage.blind


def test_reject_reasons_are_counted_in_the_coverage_report_and_the_curation_log(store) -> None:
    ids = [gated(store, {"rules": ("pass", "ok", None, {})}, n) for n in range(4)]
    triage.decide(store, ids[0], "reject", reason="wrong")
    triage.decide(store, ids[1], "reject", reason="wrong")
    triage.decide(store, ids[2], "reject", reason="off_topic")
    triage.decide(store, ids[2], "accept")  # accepted after all: its reason no longer counts
    triage.decide(store, ids[3], "reject")
    assert store.reject_reason_counts() == {"wrong": 2, "": 1}
    assert coverage(store, CMAP).reject_reasons == {"wrong": 2, "": 1}
    assert "rejected: wrong 2, (no reason) 1" in coverage(store, CMAP).lines()
    report = coverage_report([], CMAP, "v1", store.reject_reason_counts())
    assert "| wrong | 2 |" in report and "| (no reason) | 1 |" in report
    rows = load_rows(store, "considered")
    attach_verdicts(store, rows)
    log = {entry["id"]: entry for entry in entries(store, rows, {})}
    assert log[ids[0]]["reject_reason"] == "wrong" and log[ids[2]]["reject_reason"] is None
    assert [d["reason"] for d in log[ids[2]]["decisions"]] == ["off_topic", None]


def test_coverage_counts_only_what_export_would_take(store) -> None:
    contaminated = gated(store, PARAPHRASE, 1)
    duplicate = gated(store, {"dedup": ("fail", "duplicate_of", 1.0, {"keeper": 99})}, 2)
    clean = gated(store, {"rules": ("pass", "ok", None, {})}, 3)
    family = ("grammar_tutor", "family", "grammar_tutor")
    live = LiveCoverage(store, CMAP)
    for example_id in (contaminated, duplicate, clean):
        triage.decide(store, example_id, "accept")
        live.sync(store, example_id)
    assert live.counts[family] == 1, "the contaminated and the duplicate candidates are not counted"
    assert recount(store, CMAP)[family] == 1
    assert LiveCoverage(store, CMAP).counts[family] == 1 and LiveCoverage(store, CMAP).members == {clean}
    triage.undo(store, example_id=clean)
    assert live.sync(store, clean) == -1 and live.counts[family] == 0
