"""Task families: TOML files in `prompts/families/` that a curator edits.

A family file names its description, the output schema (a model in `families.schemas`), which passage
tags it accepts (or `passage = "none"` for families that need no passage), the gates it runs, its
coverage dimensions, and the prompt: the instructions (`system`), the output rules (`output`, optional:
the same for every request, so plain text without placeholders) and a user template whose placeholders
are filled per job. The instructions, the family's few-shot seeds and the output rules make the prefix
every request of the family shares (and the teacher caches); the user turn is the job's own part.
A malformed file is reported with file and line; only that family is disabled.
"""

from __future__ import annotations

import hashlib
import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curator.errors import CuratorError
from curator.families.schemas import SCHEMAS

PLACEHOLDERS = {"passage", "passage_id", "topic", "task_type", "difficulty", "fewshot", "n", "persona", "tools",
                "seed_words", "example", "family"}
KNOWN_GATES = {"format", "content", "language", "length", "math", "tools", "faithfulness", "dedup", "decontam", "judge"}
LENGTH_KEYS = ("instruction_max_tokens", "response_max_tokens", "response_min_tokens")  # the length gate's bounds
PASSAGE_MODES = {"required", "optional", "none"}


PROCEDURAL_SCHEMAS = ("MathBatch", "ToolBatch")  # the schemas `jobs.procedural` has a generator for


class FamilyError(CuratorError):
    """A family file is malformed: `path:line: what is wrong`."""


@dataclass(frozen=True)
class Family:
    """One task family, loaded from its file."""

    name: str
    path: Path
    description: str
    schema: str
    system: str
    user: str
    template_hash: str
    output: str = ""  # the output rules: after the few-shot block, the end of the shared prefix
    passage: str = "required"
    accepts_tags: tuple[str, ...] = ()
    gates: tuple[str, ...] = ()
    dimensions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    personas: tuple[str, ...] = ()
    items_per_request: int = 3
    max_tokens: int | None = None
    min_persian_ratio: float = 0.6
    length: dict[str, int] = field(default_factory=dict)
    dedup_threshold: float | None = None
    other_language_roles: tuple[str, ...] = ()  # roles whose turns may be in another language (a translation's source)

    def render(self, values: dict[str, Any]) -> str:
        """The user prompt for one job. Values are inserted as text, never re-interpreted."""
        return string.Formatter().vformat(self.user, (), _Defaults(values))

    @property
    def has_procedural(self) -> bool:
        """Whether the built-in generators (no API key) make this family's candidates."""
        return self.schema in PROCEDURAL_SCHEMAS

    def dimension(self, name: str, index: int) -> str | None:
        """The `index`-th value of a dimension, cycling (deterministic diversity)."""
        values = self.dimensions.get(name) or ()
        return values[index % len(values)] if values else None


class _Defaults(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _line_of(text: str, key: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().startswith(f"{key} ") or line.strip().startswith(f"{key}="):
            return number
    return 1


def load_family(path: Path) -> Family:
    """Parse and validate one family file; FamilyError names the file and line."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise FamilyError(f"{path}:1: not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _toml_error_line(str(exc))
        raise FamilyError(f"{path}:{line}: {exc}") from exc

    def fail(key: str, message: str) -> FamilyError:
        return FamilyError(f"{path}:{_line_of(text, key)}: {key}: {message}")

    prompt = data.get("prompt")
    if not isinstance(prompt, dict):
        raise FamilyError(f"{path}:1: missing [prompt] table with system and user")
    for key in ("system", "user"):
        if not isinstance(prompt.get(key), str) or not prompt[key].strip():
            raise fail(key, "missing or empty")
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(prompt["user"]) if name is not None}
    except ValueError as exc:
        raise fail("user", f"bad template ({exc})") from exc
    if unknown := sorted(f for f in fields if f not in PLACEHOLDERS):
        raise fail("user", f"unknown placeholder {{{unknown[0]}}} (known: {', '.join(sorted(PLACEHOLDERS))})")
    output = prompt.get("output", "")
    if not isinstance(output, str):
        raise fail("output", "must be text")
    if used := sorted(name for name in PLACEHOLDERS if f"{{{name}}}" in output):
        raise fail("output", f"{{{used[0]}}}: the output rules are the same for every request (a job's own "
                             "values belong in user)")
    name = data.get("name", path.stem)
    schema = data.get("schema")
    if schema not in SCHEMAS:
        raise fail("schema", f"{schema!r} is not a known schema ({', '.join(SCHEMAS)})")
    passage = data.get("passage", "required")
    if passage not in PASSAGE_MODES:
        raise fail("passage", f"must be one of {', '.join(sorted(PASSAGE_MODES))}")
    if passage == "required" and "passage" not in fields:
        raise fail("user", "a family that requires a passage must use {passage}")
    gates = data.get("gates", [])
    if not isinstance(gates, list) or (bad := [g for g in gates if g not in KNOWN_GATES]):
        raise fail("gates", f"unknown gate {bad[0] if isinstance(gates, list) else gates!r}")
    dimensions = data.get("dimensions", {})
    if not isinstance(dimensions, dict) or not all(
        isinstance(v, list) and all(isinstance(x, str) for x in v) for v in dimensions.values()
    ):
        raise FamilyError(f"{path}:{_line_of(text, '[dimensions]')}: dimensions: each must be a list of strings")
    items = data.get("items_per_request", 3)
    if not isinstance(items, int) or not 1 <= items <= 20:
        raise fail("items_per_request", "must be a whole number from 1 to 20")
    threshold = data.get("dedup_threshold")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
                                  or not 0 < threshold <= 100):
        raise fail("dedup_threshold", "must be a number from 1 to 100 (fuzz.ratio; [gates] near_duplicate is the default)")
    ratio = data.get("min_persian_ratio", 0.6)
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 <= ratio <= 1:
        raise fail("min_persian_ratio", "must be a number from 0 to 1")
    max_tokens = data.get("max_tokens")
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 16):
        raise fail("max_tokens", "must be a whole number of at least 16")
    length = data.get("length", {})
    if not isinstance(length, dict) or (bad := [k for k in length if k not in LENGTH_KEYS]) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in length.values()):
        what = f"unknown key {bad[0]!r} (known: {', '.join(LENGTH_KEYS)})" if isinstance(length, dict) and bad \
            else "a table of whole numbers of tokens"
        raise fail("length", what)
    other_roles = data.get("other_language_roles", [])
    if not isinstance(other_roles, list) or any(r not in ("user", "assistant") for r in other_roles):
        raise fail("other_language_roles", 'must be a list of "user" and/or "assistant"')
    return Family(
        name=name, path=path, description=str(data.get("description", "")).strip(), schema=schema,
        system=prompt["system"].strip(), user=prompt["user"].strip(), output=output.strip(),
        template_hash=hashlib.sha256(raw).hexdigest()[:16], passage=passage,
        accepts_tags=tuple(data.get("accepts_tags", [])), gates=tuple(gates),
        dimensions={k: tuple(v) for k, v in dimensions.items()}, personas=tuple(data.get("personas", [])),
        items_per_request=items, max_tokens=data.get("max_tokens"),
        min_persian_ratio=float(ratio), length=dict(length),
        dedup_threshold=None if threshold is None else float(threshold), other_language_roles=tuple(other_roles),
    )


def _toml_error_line(message: str) -> int:
    marker = "(at line "
    if marker in message:
        return int(message.split(marker, 1)[1].split(",", 1)[0])
    return 1


@dataclass
class FamilySet:
    """All families of a prompts folder; broken files are listed in `errors` and left out."""

    families: dict[str, Family]
    errors: list[str]


def load_families(prompts_dir: Path) -> FamilySet:
    families: dict[str, Family] = {}
    errors: list[str] = []
    for path in sorted((prompts_dir / "families").glob("*.toml")):
        try:
            family = load_family(path)
        except FamilyError as exc:
            errors.append(str(exc))
            continue
        if family.name in families:
            errors.append(f"{path}:1: name: {family.name!r} is also defined in {families[family.name].path}")
            continue
        families[family.name] = family
    return FamilySet(families, errors)
