"""A family file's overrides of the project settings (dedup_threshold, min_persian_ratio, max_tokens,
length) are checked on load: a bad value is an error naming the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.families import FamilyError, load_family
from tui_fixtures import ROOT

MATH = (ROOT / "prompts/families/school_math.toml").read_text(encoding="utf-8")


def family_with(tmp_path: Path, line: str) -> Path:
    """school_math with one override in place of its own (written first, so it is line 1)."""
    key = line.split("=", 1)[0].strip()
    rest = "\n".join(x for x in MATH.splitlines() if not x.strip().startswith(f"{key} "))
    path = tmp_path / "math.toml"
    path.write_text(f"{line}\n{rest}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("line, key", [
    ("dedup_threshold = 0", "dedup_threshold"),
    ("dedup_threshold = 120", "dedup_threshold"),
    ('dedup_threshold = "high"', "dedup_threshold"),
    ("min_persian_ratio = 1.5", "min_persian_ratio"),
    ("min_persian_ratio = true", "min_persian_ratio"),
    ("max_tokens = 8", "max_tokens"),
    ("length = { response_max_token = 300 }", "length"),
    ("length = { response_max_tokens = -1 }", "length"),
    ('length = "short"', "length"),
])
def test_a_bad_override_names_the_file_line_and_key(tmp_path: Path, line: str, key: str) -> None:
    with pytest.raises(FamilyError, match=rf"math.toml:1: {key}: "):
        load_family(family_with(tmp_path, line))


def test_good_overrides_are_read(tmp_path: Path) -> None:
    family = load_family(family_with(tmp_path, "dedup_threshold = 95"))
    assert family.dedup_threshold == 95.0 and family.length["response_max_tokens"] == 350
    assert load_family(family_with(tmp_path, "min_persian_ratio = 0.7")).min_persian_ratio == 0.7
    assert load_family(ROOT / "prompts/families/passage_qa.toml").dedup_threshold is None  # [gates] near_duplicate


def test_the_output_rules_are_the_same_for_every_request(tmp_path: Path) -> None:
    """`[prompt] output` ends the prefix every request of the family shares: no per-job placeholder."""
    path = tmp_path / "math.toml"
    path.write_text(MATH.replace('output = """\nWhat to return:', 'output = """\nWhat to return for {topic}:'),
                    encoding="utf-8")
    line = next(i for i, x in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if x.startswith("output"))
    with pytest.raises(FamilyError, match=rf"math.toml:{line}: output: \{{topic\}}: the output rules are the same"):
        load_family(path)
    family = load_family(ROOT / "prompts/families/school_math.toml")
    assert family.output.startswith("What to return:") and '"answer": "120000"' in family.output
