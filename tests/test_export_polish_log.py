"""The curation log agrees with polish.jsonl: every current polish seed is written there and logged
as exported (a new version's old one as replaced), even one the gates put in a duplicate cluster."""

from __future__ import annotations

import json
from pathlib import Path

from curator.target_mix import CoverageMap
from curator.models import Example, Message
from curator.services.export import export_dataset
from curator.services.seeds import edit_seed
from curator.store import Store
from curator.services.gate import run_gates
from tui_fixtures import FAMILIES, ROOT
from curator.services.demo import prepare_sample

CMAP = CoverageMap.load(ROOT / "prompts" / "coverage.toml", FAMILIES)


def test_polish_seeds_are_logged_as_exported(tmp_path: Path) -> None:
    with Store(tmp_path / "p.db") as store:
        prepare_sample(store)
        polish = [s for s in store.seeds(role="polish")]
        first = polish[0]
        edited = first.model_dump(include={"family", "role", "task_type", "difficulty", "topic"})
        edited["messages"] = [m.model_dump(exclude_none=True) for m in first.messages]
        edited["messages"][-1]["content"] += " (ویرایش)"
        new_id = edit_seed(store, first.id, edited)
        twin = Example(kind="seed", role="polish", family=polish[1].family, task_type=polish[1].task_type,
                       messages=[Message(role=m.role, content=m.content) for m in polish[1].messages])
        twin.messages[-1].content += " همین."  # all but the same words as another polish seed
        twin_id = store.add_example(twin.copy_with())
        run_gates(store, FAMILIES)
        clustered = [v.detail.get("cluster_size") for v in store.verdicts(twin_id) if v.gate == "dedup"]
        assert clustered == [2], "dedup puts the two together (a seed is never removed as a duplicate)"
        result = export_dataset(store, CMAP, out_dir=tmp_path / "out")
    log = {row["id"]: row for row in map(json.loads, (result.path / "curation_log.jsonl").read_text().splitlines())}
    written = (result.path / "polish.jsonl").read_text(encoding="utf-8").splitlines()
    current = [i for i, row in log.items() if row["kind"] == "seed" and "polish.jsonl" in row["why"]]
    assert len(current) == len(written) == result.counts["polish"]
    assert new_id in current and twin_id in current and polish[1].id in current
    assert all(log[i]["exported"] for i in current)
    assert not log[first.id]["exported"] and "replaced by version" in log[first.id]["why"]
