"""The output schemas a task family can name: what the teacher must return, as pydantic models.

Every schema is a batch `{"items": [...]}` so one request yields several candidates.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from curator.models import Message
from curator.text.numbers import parse_number


class Item(BaseModel):
    """One generated example: a conversation plus the labels the coverage map counts."""

    model_config = ConfigDict(extra="ignore")
    task_type: str = Field(min_length=1)
    difficulty: str | None = None
    topic: str | None = None
    messages: list[Message] = Field(min_length=2)
    notes: str | None = None


class MathItem(Item):
    """A school-math problem: the final numeric answer is required, so it can be verified."""

    answer: str = Field(min_length=1)

    @field_validator("answer")
    @classmethod
    def _numeric(cls, value: str) -> str:
        parse_number(value)  # ValueError becomes a validation error naming the field
        return value


class ToolSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["function"] = "function"
    function: dict[str, Any]


class ToolItem(Item):
    """A tool-calling trace with the tools it may use (empty calls for negative cases)."""

    tools: list[ToolSpec] = Field(min_length=1)


class ConversationBatch(BaseModel):
    items: list[Item] = Field(min_length=1)


class MathBatch(BaseModel):
    items: list[MathItem] = Field(min_length=1)


class ToolBatch(BaseModel):
    items: list[ToolItem] = Field(min_length=1)


class PassageLabels(BaseModel):
    """The teacher's refinement of a passage's heuristic classification."""

    model_config = ConfigDict(extra="ignore")
    tags: list[str]
    quality: Literal["high", "medium", "reject"]
    families: list[str] = Field(default_factory=list)
    reason: str = ""


class JudgeScores(BaseModel):
    model_config = ConfigDict(extra="forbid")
    clarity: int = Field(ge=1, le=5)
    correctness: int = Field(ge=1, le=5)
    faithfulness: int = Field(ge=1, le=5)
    naturalness: int = Field(ge=1, le=5)
    format: int = Field(ge=1, le=5)
    usefulness: int = Field(ge=1, le=5)


class FixedExample(BaseModel):
    messages: list[Message] = Field(min_length=2)


class JudgeVerdict(BaseModel):
    """The judge's scores against the frozen rubric, its decision, and an optional corrected example."""

    model_config = ConfigDict(extra="ignore")
    scores: JudgeScores
    decision: Literal["accept", "edit", "reject"]
    reason: str = Field(min_length=1)
    fixed_example: FixedExample | None = None


SCHEMAS: dict[str, type[BaseModel]] = {
    "ConversationBatch": ConversationBatch,
    "MathBatch": MathBatch,
    "ToolBatch": ToolBatch,
    "PassageLabels": PassageLabels,
    "JudgeVerdict": JudgeVerdict,
}


@functools.lru_cache(maxsize=None)
def json_schema(name: str) -> dict[str, Any]:
    """The JSON schema sent to servers that support structured outputs (built once; do not mutate)."""
    return SCHEMAS[name].model_json_schema()
