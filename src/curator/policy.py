"""What may be trained on: the one policy that export applies, coverage counts and triage warns about
(pure; on plain row data and its current verdicts).

- A private eval item (an imported eval item or an eval seed) is never exported.
- A row that cannot train (`trainable.untrainable`: no user turn, no answer, turns out of
  order, a tool call not matching its schema, terminal control characters) is never exported.
- A row a contamination or duplicate gate fails (`EXCLUDING_GATES`) is never exported, whatever was
  decided; coverage never counts it, and triage asks for a second `a` (the CLI for `--force`).
- Of what remains, export takes accepted candidates and revisions (the newest of each lineage) and the
  current few-shot and polish seeds, up to each cell's target (`export.mix`). Coverage counts the
  accepted ones (`store.predicates.ACCEPTED`) less those `EXCLUDING_GATES` fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from curator.trainable import untrainable

# The gates whose failure keeps a row out of every export (see `exclusion_reason`).
EXCLUDING_GATES = ("decontam", "decontam_meaning", "dedup", "dedup_meaning")


def _failed(verdicts: Mapping[str, dict], gate: str) -> bool:
    return (verdicts.get(gate) or {}).get("verdict") == "fail"


def exclusion_reason(data: Mapping[str, Any], verdicts: Mapping[str, dict]) -> str | None:
    """Why a row (`kind`, `role`, `messages` as dicts and `tools`, or instead `untrainable`: what
    `trainable.untrainable` said of them) with these current verdicts ({gate: {verdict, detail}})
    can never be exported, or None."""
    if data.get("kind") == "eval_item" or data.get("role") == "eval":
        return "excluded: private eval item"
    why = data["untrainable"] if "untrainable" in data else untrainable(data.get("messages") or [], data.get("tools"))
    if why:  # (`untrainable`: already known, for a row read without its messages: `export.row_facts`)
        return f"excluded: cannot train ({why})"

    for gate in EXCLUDING_GATES:  # (most rows fail none: one look at each)
        v = verdicts.get(gate)
        if v is not None and v.get("verdict") == "fail":
            break
    else:
        return None

    def detail(gate: str) -> dict:
        return verdicts[gate].get("detail") or {}

    if _failed(verdicts, "decontam"):
        return f"excluded: contaminated (eval items {detail('decontam').get('eval_items', [])})"
    if _failed(verdicts, "decontam_meaning"):
        d = detail("decontam_meaning")
        return (f"excluded: contaminated (paraphrase of eval item #{d.get('eval_item')}, "
                f"{d.get('matched')} cosine {d.get('score')})")
    if _failed(verdicts, "dedup"):
        return f"excluded: duplicate of #{detail('dedup').get('keeper')}"
    if _failed(verdicts, "dedup_meaning"):
        return f"excluded: paraphrase of #{detail('dedup_meaning').get('keeper')}"
    return None
