"""Evidence a curator can check in a second: a leak's or a duplicate's verdict names the matched item
and the content the two share; the gate details (`g`) show both side by side with a word diff, and the
curation log carries the same."""

from __future__ import annotations

import json
from pathlib import Path

from curator.config import MeaningSettings, Settings
from curator.target_mix import CoverageMap
from curator.gates.evidence import word_diff
from curator.models import Example, Message
from curator.services import triage
from curator.services.calibration import load_templated
from curator.services.export import export_dataset
from curator.services.gate import run_gates
from curator.store import Store
from curator.text.normalize import key_hash
from curator.tui.app import CuratorApp
from curator.tui.screens.evidence import EvidenceScreen
from curator.tui.widgets.rtl import RtlText
from tui_fixtures import FAMILIES, ROOT, settle

ROWS = {r["id"]: r for r in load_templated()}
OFF = MeaningSettings(enabled=False)


def add(store: Store, row: dict, *, state: str = "new") -> int:
    evaluated = row["set"] == "eval"
    e = Example(kind="eval_item" if evaluated else "candidate", role="eval" if evaluated else None,
                family=row["family"], task_type="unit_price", difficulty="elementary", state=state,
                source_type="eval_import" if evaluated else "generated",
                messages=[Message(**m) for m in row["messages"]])
    e.key_hash = key_hash(json.dumps(row["messages"], ensure_ascii=False))
    return store.add_example(e)


def build(path: Path) -> tuple[int, int, int, int]:
    """The templated shopping-arithmetic family (its scaffold is learned from its items); returns an eval
    item, its content reworded (a leak), a clean item of the same template, and a reworded duplicate of
    the clean one."""
    with Store(path) as store:
        ids = {key: add(store, row) for key, row in ROWS.items() if row["family"] == "school_math"}
        run_gates(store, FAMILIES, meaning=OFF)
    return ids["m-e0"], ids["m-l0"], ids["m-c10"], ids["m-d10"]


def test_the_word_diff_says_what_is_shared_and_what_each_says_alone() -> None:
    diff = word_diff("سارا ۳ دفتر چهل‌هزار تومانی خرید", "اگر سارا ۳ دفتر بخرد")
    assert diff["shared"] == ["سارا", "3", "دفتر"] and "خرید" in diff["only_a"] and diff["only_b"] == ["بخرد"]


def test_a_leak_and_a_duplicate_name_the_matched_item_and_the_shared_content(tmp_path: Path) -> None:
    eval_id, leak, clean, dup = build(tmp_path / "e.db")
    with Store(tmp_path / "e.db") as store:
        leak_found = triage.evidence(store, triage.load_card(store, leak))
        dup_found = triage.evidence(store, triage.load_card(store, dup))
        assert triage.evidence(store, triage.load_card(store, clean)) == [], "the clean item matches nothing"
    first = leak_found[0]
    assert first.summary.startswith(f"decontam: eval item #{eval_id} (content")
    assert "numbers 3 40000 120000" in first.summary and "سارا" in first.summary
    assert first.other_label == f"eval item #{eval_id}" and "سارا" in first.other
    assert {"سارا", "دفتر", "3"} <= set(first.diff["shared"])
    assert dup_found[0].other_label == f"keeper #{clean}" and "same content" not in dup_found[0].summary
    assert dup_found[0].summary.startswith(f"dedup: keeper #{clean} (content")


def test_the_curation_log_carries_the_evidence(tmp_path: Path) -> None:
    eval_id, leak, clean, dup = build(tmp_path / "log.db")
    with Store(tmp_path / "log.db") as store:
        for example_id in (leak, dup, clean):
            triage.decide(store, example_id, "accept")
        cmap = CoverageMap.load(ROOT / "prompts" / "coverage.toml", FAMILIES)
        result = export_dataset(store, cmap, out_dir=tmp_path / "out", meaning_settings=OFF)
    log = {r["id"]: r for r in map(json.loads, (result.path / "curation_log.jsonl").read_text().splitlines())}
    evidence = log[leak]["evidence"][0]
    assert (evidence["gate"], evidence["matched"], evidence["how"]) == ("decontam", eval_id, "content")
    assert {"3", "40000"} <= set(evidence["shared"]["numbers"]) and "سارا" in evidence["word_diff"]["shared"]
    assert log[dup]["evidence"][0]["matched"] == clean and log[clean]["evidence"] == []
    assert not log[leak]["exported"] and not log[dup]["exported"]


async def test_the_gate_details_show_the_leak_side_by_side(tmp_path: Path) -> None:
    eval_id, leak, _, _ = build(tmp_path / "app.db")
    app = CuratorApp(tmp_path / "app.db", Settings(prompts_dir=ROOT / "prompts", bidi="app"), start="triage")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        while app.screen.card.example.id != leak:
            await pilot.press("right")
            await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        assert isinstance(app.screen, EvidenceScreen)
        texts = [w.text for w in app.screen.query(RtlText)]
        assert "this candidate" in texts and f"eval item #{eval_id}" in texts
        assert any(t.startswith("shared: ") and "سارا" in t for t in texts)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, EvidenceScreen)
