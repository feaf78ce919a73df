"""The store is the only module that speaks SQL: no SQL text and no raw connection outside
src/curator/store/ (statements, WHERE fragments, `.conn`)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "curator"
# SQL here is written in capitals, so prose ("With --batch", "Commit the...") is not taken for it.
STATEMENT = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|WITH|BEGIN|COMMIT|ROLLBACK|PRAGMA)\s")
FRAGMENT = re.compile(r"\b(json_each|GROUP BY|ORDER BY|IS NULL|IS NOT NULL)\b|\b\w+ (=|!=|IN) [?(']|\bIN \(")


def sql_outside_the_store() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path.relative_to(SRC).parts[0] == "store":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            text = None
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
            elif isinstance(node, ast.JoinedStr):
                text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
            if text and (STATEMENT.match(text) or FRAGMENT.search(text)):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}: {text[:60]!r}")
            if isinstance(node, ast.Attribute) and node.attr == "conn":
                found.append(f"{path.relative_to(SRC)}:{node.lineno}: .conn")
    return found


def test_no_sql_outside_the_store() -> None:
    assert sql_outside_the_store() == []


def test_the_check_tells_sql_from_prose() -> None:
    for sql in ("SELECT id FROM examples", "state = ? AND family = ?", "kind IN ('seed')", "UPDATE jobs SET x = 1"):
        assert STATEMENT.match(sql) or FRAGMENT.search(sql), sql
    for prose in ("With --batch: poll until every batch has ended.", "Commit the candidates together", " with "):
        assert not (STATEMENT.match(prose) or FRAGMENT.search(prose)), prose
