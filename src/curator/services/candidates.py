"""Candidates from elsewhere (`curator candidates import`) and the candidate listing for scripts
(`curator candidates list`).

An imported line becomes a new candidate (source type "imported") that passes the same gates as a
generated one. Its uid is derived from its content, so importing the same lines again adds nothing.
A source `passage` goes through the corpus's own analysis (tags, quality, match-key hash) and is
stored once per match key; `passage_id` links an existing passage.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from curator.config import Window
from curator.corpus.analysis import analyse
from curator.jsonl import objects
from curator.models import Example, Message, Passage, field_errors
from curator.progress import NEVER, Cancel, Progress
from curator.store import Store
from curator.display.wording import counted

if TYPE_CHECKING:
    from curator.services.triage import Filters

BATCH = 200  # lines per write transaction


class ImportedLine(BaseModel):
    """One line of an import file: a TRL-shaped conversation and what is known about it."""

    model_config = ConfigDict(extra="forbid")
    family: str
    messages: list[Message]
    tools: list[dict[str, Any]] | None = None
    answer: str | None = None
    task_type: str | None = None
    difficulty: str | None = None
    topic: str | None = None
    passage: str | None = None
    passage_id: int | None = None
    metadata: dict[str, Any] = {}

    @field_validator("messages")
    @classmethod
    def _not_empty(cls, value: list[Message]) -> list[Message]:
        if not value:
            raise ValueError("a conversation needs at least one message")
        return value

    @field_validator("family", "passage")
    @classmethod
    def _has_text(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value

    def uid(self) -> str:
        """Derived from the content: the same line imported twice is one candidate."""
        canonical = json.dumps(self.model_dump(mode="json", exclude_none=True), ensure_ascii=False, sort_keys=True)
        return "imp-" + hashlib.blake2b(canonical.encode("utf-8"), digest_size=14).hexdigest()


@dataclass
class CandidateImport:
    path: Path
    lines: int = 0
    added: int = 0
    existing: int = 0
    problems: list[str] = field(default_factory=list)  # `file:line: field: problem`, one per skipped line

    @property
    def skipped(self) -> int:
        return len(self.problems)

    def summary(self) -> str:
        return (f"{self.path}: {counted(self.added, 'candidate')} added, {self.existing} already present, "
                f"{counted(self.skipped, 'line')} skipped"
                + ("; run `curator gate` to gate them" if self.added else ""))


def _to_candidate(line: ImportedLine, window: Window, path: Path, number: int) -> tuple[Passage | None, Example]:
    passage = None
    if line.passage is not None:
        ((hashed, tags, quality, rules, fams),) = analyse([line.passage], window)
        passage = Passage(source_path=str(path), source_line=number, start=0, end=len(line.passage), text=line.passage,
                          key_hash=hashed, tags=orjson.loads(tags), quality=quality, rules=orjson.loads(rules),
                          families=orjson.loads(fams))
    example = Example(
        kind="candidate", family=line.family, task_type=line.task_type, difficulty=line.difficulty, topic=line.topic,
        source_type="imported", passage_id=line.passage_id, messages=line.messages, tools=line.tools,
        answer=line.answer, metadata=line.metadata, uid=line.uid(),
        passage_start=0 if line.passage is not None else None,
        passage_end=len(line.passage) if line.passage is not None else None)
    return passage, example


def import_candidates(store: Store, path: Path, *, families: Collection[str] | None = None, window: Window = Window(),
                      progress: Progress | None = None, cancel: Cancel = NEVER) -> CandidateImport:
    """Add every valid line of a JSONL file as a candidate, `BATCH` lines per transaction. A bad line
    is reported (`file:line: field: problem`) and skipped; with `families`, a family must be one of
    them. `cancel` stops between batches (what was added stays; running again adds the rest)."""
    report = CandidateImport(path)
    batch: list[tuple[Passage | None, Example]] = []

    def flush() -> None:
        added = store.add_imported(batch)
        report.added += added
        report.existing += len(batch) - added
        batch.clear()
        if progress:
            progress(report.lines, report.lines)

    try:
        for number, obj in objects(path, report.problems):
            report.lines += 1
            try:
                line = ImportedLine(**obj)
            except ValidationError as exc:
                report.problems.append(f"{path}:{number}: {field_errors(exc, 1, '(line)')}")
                continue
            if families is not None and line.family not in families:
                report.problems.append(f"{path}:{number}: family: unknown family {line.family!r}")
                continue
            if line.passage is not None and line.passage_id is not None:
                report.problems.append(f"{path}:{number}: passage_id: give passage or passage_id, not both")
                continue
            if line.passage_id is not None and not store.passage_exists(line.passage_id):
                report.problems.append(f"{path}:{number}: passage_id: no passage #{line.passage_id}")
                continue
            try:
                batch.append(_to_candidate(line, window, path, number))
            except ValidationError as exc:
                report.problems.append(f"{path}:{number}: {field_errors(exc, 1, '(line)')}")
                continue
            if len(batch) >= BATCH:
                flush()
                if cancel.is_set():
                    return report
    except OSError as exc:
        report.problems.append(f"{path}: cannot read ({exc.strerror or exc})")
    if batch:
        flush()
    return report


def list_candidates(store: Store, *, state: str | None = None, family: str | None = None,
                    where: "Filters | None" = None, batch: int = 500) -> Iterator[dict[str, Any]]:
    """Each candidate and revision as a plain dict: id, uid, kind, family, state, gate status, its
    current verdicts as {gate: {verdict, reason}} (after audits), its decisions, the predictor's
    P(reject) if any, and its metadata. `where` keeps the decidable ones a triage filter selects."""
    rows: list[dict[str, Any]] = []
    keep = None
    if where is not None:
        from curator.services.triage import queue_ids

        keep = set(queue_ids(store, "all", where))

    def complete(part: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        ids = [r["id"] for r in part]
        verdicts = store.current_verdicts(ids, with_audits=True)
        decisions = store.decisions_of(ids)
        predicted = store.predictions(ids)
        for r in part:
            r["verdicts"] = {gate: {"verdict": v["verdict"], "reason": v["reason"]}
                             for gate, v in sorted(verdicts.get(r["id"], {}).items())}
            r["decisions"] = [{"id": d.id, "action": d.action, "reason": d.reason, "note": d.note, "undone": undone,
                               "undoes": d.undoes, "at": d.created_at} for d, undone in decisions.get(r["id"], [])]
            r["predicted_reject"] = predicted.get(r["id"])
            r["metadata"] = r.pop("metadata")
            yield r

    for row in store.candidate_rows(state=state, family=family):
        if keep is not None and row["id"] not in keep:
            continue
        rows.append(row)
        if len(rows) >= batch:
            yield from complete(rows)
            rows = []
    if rows:
        yield from complete(rows)
