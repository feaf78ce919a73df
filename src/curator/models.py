"""Pydantic models for every row the store keeps. The store converts at its boundary."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Quality = Literal["high", "medium", "reject"]
SeedRole = Literal["fewshot", "eval", "polish"]
ExampleKind = Literal["candidate", "seed", "revision", "eval_item"]
SourceType = Literal["generated", "procedural", "manual_seed", "revision", "eval_import", "imported"]
ExampleState = Literal["new", "gated", "accepted", "rejected"]
GateStatus = Literal["pass", "flag", "fail"]
Role = Literal["system", "user", "assistant", "tool"]
JobState = Literal["queued", "running", "done", "failed", "paused"]
Action = Literal["accept", "reject", "skip", "undo", "flag", "note", "edit", "role", "keeper"]


def now_iso() -> str:
    """UTC timestamp with a `Z`, the one time format the store uses."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Source(_Row):
    """A corpus file that was imported."""

    id: int | None = None
    path: str
    sha256: str
    size: int
    passages_added: int = 0
    imported_at: str = Field(default_factory=now_iso)
    complete: bool = True
    lease_owner: str | None = None
    lease_expires: str | None = None


class Passage(_Row):
    """A span of a source text: `source_text[start:end] == text`."""

    id: int | None = None
    source_id: int | None = None
    source_path: str
    source_line: int | None = None  # 1-based JSONL line the text came from
    start: int
    end: int
    text: str
    key_hash: str
    tags: list[str] = Field(default_factory=list)
    quality: Quality = "medium"
    rules: list[str] = Field(default_factory=list)
    families: list[str] = Field(default_factory=list)
    created_at: str = Field(default_factory=now_iso)


class ToolCall(BaseModel):
    """One function call made by the assistant, TRL style."""

    model_config = ConfigDict(extra="allow")
    type: Literal["function"] = "function"
    id: str | None = None
    function: dict[str, Any]

    @field_validator("function")
    @classmethod
    def _has_name(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(value.get("name"), str) or not value["name"]:
            raise ValueError("a tool call needs function.name")
        return value


class Message(BaseModel):
    """One turn of a conversation."""

    model_config = ConfigDict(extra="forbid")
    role: Role
    content: str = ""
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> "Message":
        if not self.content.strip() and not self.tool_calls:
            raise ValueError(f"empty {self.role} turn")
        if self.tool_calls and self.role != "assistant":
            raise ValueError("only assistant turns carry tool_calls")
        return self


class Example(_Row):
    """A training example: a generated candidate, a hand-written seed, an edited revision or an eval item."""

    id: int | None = None
    kind: ExampleKind = "candidate"
    role: SeedRole | None = None
    family: str
    task_type: str | None = None
    difficulty: str | None = None
    topic: str | None = None
    source_type: SourceType = "generated"
    passage_id: int | None = None
    passage_start: int | None = None
    passage_end: int | None = None
    messages: list[Message]
    tools: list[dict[str, Any]] | None = None
    answer: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    parent_id: int | None = None
    job_id: int | None = None
    template_hash: str | None = None
    model: str | None = None
    state: ExampleState = "new"
    gate_status: GateStatus | None = None
    key_hash: str = ""
    created_at: str = Field(default_factory=now_iso)
    uid: str | None = None  # stable across copies of the database; given by the store on insert
    lineage: str | None = None  # uid of the first example of its line (original, then revisions/versions)
    version: int = 1  # seed versions: an edit makes a new row with version + 1
    superseded_by: int | None = None  # the revision or newer seed version that replaced this one

    @field_validator("messages")
    @classmethod
    def _has_messages(cls, value: list[Message]) -> list[Message]:
        if not value:
            raise ValueError("an example needs at least one message")
        return value

    @model_validator(mode="after")
    def _role_matches_kind(self) -> "Example":
        if self.kind == "seed" and self.role is None:
            raise ValueError("a seed needs a role: fewshot, eval or polish")
        if not self.key_hash:  # the match key's hash of its text, unless one was given
            from curator.text.normalize import key_hash

            self.key_hash = key_hash(conversation_text(self.messages))
        return self

    def copy_with(self, **update: Any) -> "Example":
        """A validated copy with these fields changed and its key hash made again from its messages
        (`model_copy` would keep the old hash and skip validation)."""
        return Example.model_validate({**self.model_dump(), **update, "key_hash": ""})


class GateVerdict(_Row):
    """What one gate said about one example, and why."""

    id: int | None = None
    example_id: int
    gate: str
    gate_version: str
    verdict: GateStatus
    score: float | None = None
    reason: str
    detail: dict[str, Any] = Field(default_factory=dict)
    created_at: str = Field(default_factory=now_iso)


class Decision(_Row):
    """One curator decision. The log is append-only: undo is a decision too."""

    id: int | None = None
    example_id: int
    action: Action
    note: str | None = None
    seconds: float | None = None
    undoes: int | None = None
    created_at: str = Field(default_factory=now_iso)
    reason: str | None = None  # a reject reason code
    bulk: int | None = None  # the bulk decision it is part of (`services.bulk`)


class Job(_Row):
    """A unit of teacher work, made idempotent by its key."""

    id: int | None = None
    idem_key: str
    kind: str = "generate"
    family: str | None = None
    passage_id: int | None = None
    topic: str | None = None
    template_hash: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    state: JobState = "queued"
    attempts: int = 0
    last_error: str | None = None
    raw_response: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    batch_id: str | None = None
    created_at: str = Field(default_factory=now_iso)
    updated_at: str = Field(default_factory=now_iso)
    lease_owner: str | None = None
    lease_expires: str | None = None
    chunk_id: int | None = None  # the batch chunk it was sent in (batch mode)
    lost_leases: int = 0  # leases lost before its request was sent (they use no attempt)


class ExportRecord(_Row):
    """A versioned export folder that was written."""

    id: int | None = None
    version: str
    path: str
    counts: dict[str, Any] = Field(default_factory=dict)
    manifest_sha256: str
    created_at: str = Field(default_factory=now_iso)


def conversation_text(messages: list[Message]) -> str:
    """All the text of a conversation (turn contents and tool-call arguments), one turn per line."""
    parts = []
    for m in messages:
        if m.content:
            parts.append(m.content)
        for call in m.tool_calls or ():
            parts.append(f"{call.function.get('name')} {call.function.get('arguments', '')}")
    return "\n".join(parts)


def field_errors(exc: ValidationError, limit: int = 3, whole: str = "(row)") -> str:
    """The first `limit` problems of a validation, each `field.path: message` (`whole` for the row itself),
    without pydantic's "Value error, " prefix: what a curator reads beside the file and line."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or whole}: {e['msg'].removeprefix('Value error, ')}"
                     for e in exc.errors()[:limit])
