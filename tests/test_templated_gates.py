"""Content, not template, on data made the way the method prescribes: a labelled set written from task
templates (`tests/data/templated.jsonl`, eval items and candidates from the same templates) goes through
the real gates on a scratch database, with the bundled model's vectors kept beside the set (so no
figure here depends on a CPU's floats)."""

from __future__ import annotations

from collections import Counter

import pytest

from curator.config import MeaningSettings
from curator.services.calibration import calibrate, load_templated, templated

ROWS = load_templated()


@pytest.fixture(scope="module")
def report():
    return templated(MeaningSettings(), rows=ROWS)


def test_the_set_has_three_template_families_with_clean_items_leaks_and_duplicates() -> None:
    counts = Counter((r["family"], r["label"]) for r in ROWS)
    families = {f for f, _ in counts}
    assert families == {"grammar_tutor", "school_math", "tool_calling"}
    for family in families:
        assert counts[(family, "clean")] >= 30 and counts[(family, "leak")] >= 10 and counts[(family, "dup")] >= 10
        assert counts[(family, "eval")] >= 10
    by_id = {r["id"]: r for r in ROWS}
    for r in ROWS:
        if r["label"] == "leak":
            assert by_id[r["of"]]["label"] == "eval" and by_id[r["of"]]["family"] == r["family"]
        if r["label"] == "dup":
            assert by_id[r["of"]]["label"] == "clean"


def test_per_family_every_clean_item_is_kept_and_leaks_and_duplicates_are_caught(report) -> None:
    assert report.meaning == "run"
    for family in report.families:
        assert family.clean_kept / family.clean >= 0.99, family
        assert family.leaks_caught / family.leaks >= 0.95, family
        assert family.duplicates_caught / family.duplicates >= 0.95, family


def test_no_gate_fails_a_clean_item_in_any_family(report) -> None:
    for family in report.families:
        for score in family.scores:
            assert score.false_pos == 0, (family.family, score)


def test_the_meaning_pairs_decontamination_keeps_its_precision_at_full_recall() -> None:
    scores = {s.gate: s for s in calibrate(MeaningSettings())}
    for gate in ("decontam_meaning", "decontamination"):
        assert scores[gate].precision >= 0.90 and scores[gate].recall >= 0.95, scores[gate]
    assert scores["dedup_meaning"].precision >= 0.90, scores["dedup_meaning"]
    # Words alone miss a reworded item: what catches these is the meaning gate.
    assert scores["decontam"].recall < 0.5


def test_the_gates_settings_live_in_curator_toml_and_a_bad_one_is_a_clear_error(tmp_path) -> None:
    from curator.config import ConfigError, GateSettings, Settings
    from curator.services.gate import set_level_settings

    config = tmp_path / "curator.toml"
    config.write_text("[gates]\nsame_content = 0.6\nnear_duplicate = 95\n", encoding="utf-8")
    dedup, decontam = set_level_settings(Settings.load(config).gates)
    assert (dedup.threshold, dedup.content_threshold, decontam.content_threshold) == (95, 0.6, 0.6)
    config.write_text("[gates]\nsame_content = 1.5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="gates.same_content"):
        Settings.load(config)
    # Stricter: a candidate must hold more of an eval item's content to be a leak.
    strict = templated(MeaningSettings(enabled=False), rows=ROWS, **dict(zip(
        ("dedup_settings", "decontam_settings"), set_level_settings(GateSettings(same_content=0.95)))))
    default = templated(MeaningSettings(enabled=False), rows=ROWS)
    assert sum(f.leaks_caught for f in strict.families) < sum(f.leaks_caught for f in default.families)
