"""The formats trainers expect.

TRL conversational rows: `messages` (role/content; assistant `tool_calls` whose function
`arguments` are JSON strings; tool turns with `tool_call_id`) and `tools` as a JSON string, which
avoids the Arrow schema-merging corruption trainers hit when rows carry different tool schemas.
Optional prompt/completion (TRL conversational) and Alpaca (single-turn rows only).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from curator.export.mix import Row


def _message(m: dict[str, Any]) -> dict[str, Any]:
    if len(m) == 2 and "role" in m and m["role"] != "tool" and type(m.get("content")) is str and m["content"]:
        return m  # (the common turn, already in TRL's shape: used as it is)
    out: dict[str, Any] = {"role": m["role"], "content": m.get("content") or ""}
    if m.get("tool_calls"):
        out["tool_calls"] = [
            {"type": "function", "id": c.get("id") or f"call_{i}",
             "function": {"name": c["function"]["name"],
                          "arguments": c["function"].get("arguments") if isinstance(c["function"].get("arguments"), str)
                          else json.dumps(c["function"].get("arguments") or {}, ensure_ascii=False, sort_keys=True)}}
            for i, c in enumerate(m["tool_calls"])
        ]
    if m.get("role") == "tool" and m.get("tool_call_id"):
        out["tool_call_id"] = m["tool_call_id"]
    return out


def verified(row: Row) -> bool:
    """True when a computation or a schema proves the example: math or tool gates, or a procedural generator."""
    verdicts, d = row.verdicts, row.data
    if verdicts:
        math, tools = verdicts.get("math"), verdicts.get("tools")
        if (math and math.get("verdict") == "pass") or (tools and tools.get("verdict") == "pass"):
            return True
    return bool((d.get("metadata") or {}).get("verified")) or d["source_type"] == "manual_seed"


def metadata(row: Row) -> dict[str, Any]:
    d = row.data  # (read directly: this runs for every exported row)
    return {"id": d["id"], "family": d["family"], "task_type": d["task_type"], "difficulty": d["difficulty"],
            "source_type": d["source_type"], "source_passage_id": d["passage_id"], "verified": verified(row)}


def trl_without_verified(d: dict[str, Any]) -> dict[str, Any]:
    """A row's TRL record but for `verified` (the only field that follows its verdicts; the last key)."""
    return {"messages": [_message(m) for m in d["messages"]],
            "tools": json.dumps(d["tools"], ensure_ascii=False, sort_keys=True) if d["tools"] else None,
            "id": d["id"], "family": d["family"], "task_type": d["task_type"], "difficulty": d["difficulty"],
            "source_type": d["source_type"], "source_passage_id": d["passage_id"]}


def trl(row: Row) -> dict[str, Any]:
    out = trl_without_verified(row.data)
    out["verified"] = verified(row)
    return out


def prompt_completion(row: Row) -> dict[str, Any]:
    messages = [_message(m) for m in row.messages]
    last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    return {"prompt": messages[:last], "completion": messages[last:],
            "tools": json.dumps(row.tools, ensure_ascii=False, sort_keys=True) if row.tools else None, **metadata(row)}


def alpaca(row: Row) -> dict[str, Any] | None:
    """Single-turn rows only (no tools): None for the others."""
    users = [m for m in row.messages if m["role"] == "user"]
    assistants = [m for m in row.messages if m["role"] == "assistant"]
    if row.tools or len(users) != 1 or len(assistants) != 1 or any(m["role"] == "tool" for m in row.messages):
        return None
    system = next((m["content"] for m in row.messages if m["role"] == "system"), "")
    return {"instruction": users[0]["content"], "input": "", "output": assistants[0]["content"], "system": system,
            **metadata(row)}


FORMATS = {"prompt_completion": prompt_completion, "alpaca": alpaca}


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    """One JSON object a line, keys sorted, UTF-8 (orjson: exports are JSON-bound)."""
    return b"".join(orjson.dumps(r, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE) for r in rows)
