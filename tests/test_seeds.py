"""Seeds: validated per row, stored once, each with its role."""

import json
from pathlib import Path

from curator.services.seeds import import_seeds
from curator.store import Store

GOOD = {"family": "grammar_tutor", "role": "fewshot",
        "messages": [{"role": "user", "content": "فاعل چیست؟"}, {"role": "assistant", "content": "کننده‌ی کار."}]}


def test_bad_rows_name_line_and_field(store: Store, tmp_path: Path) -> None:
    rows = [
        GOOD,
        {**GOOD, "role": "teacher"},
        {**GOOD, "messages": [{"role": "user", "content": "  "}]},
        {**GOOD, "messages": [{"role": "robot", "content": "x"}]},
        {"role": "eval", "messages": GOOD["messages"]},
    ]
    path = tmp_path / "seeds.jsonl"
    path.write_text("{oops\n" + "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n{oops\n",
                    encoding="utf-8")
    report = import_seeds(store, path)
    assert report.added == 1
    assert [int(p.split(":")[1]) for p in report.problems] == [1, 3, 4, 5, 6, 7], "in line order"
    problems = "\n".join(report.problems)
    assert f"{path}:3: role:" in problems
    assert f"{path}:4: messages.0" in problems and "empty user turn" in problems
    assert f"{path}:5: messages.0.role" in problems
    assert f"{path}:6: family: Field required" in problems
    assert f"{path}:1: not valid JSON" in problems and f"{path}:7: not valid JSON" in problems


def test_reimport_adds_nothing_even_with_arabic_letters(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps(GOOD, ensure_ascii=False) + "\n", encoding="utf-8")
    variant = tmp_path / "v.jsonl"
    variant.write_text(json.dumps(GOOD, ensure_ascii=False).replace("ی", "ي") + "\n", encoding="utf-8")
    assert import_seeds(store, path).added == 1
    assert import_seeds(store, path).existing == 1
    assert import_seeds(store, variant).existing == 1
    assert store.count("examples") == 1
