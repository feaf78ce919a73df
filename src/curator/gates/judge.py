"""The LLM judge's verdict: a judgement under the frozen rubric (`prompts/judge.toml`, its hash stored
with every verdict) as a gate verdict. Planning judge jobs and storing their results is the judge
use case's (`curator.services.judge`)."""

from __future__ import annotations

from statistics import mean

from curator.families.schemas import JudgeVerdict
from curator.gates.base import Verdict

DECISION = {"accept": "pass", "edit": "flag", "reject": "fail"}


def to_verdict(judged: JudgeVerdict, rubric_hash: str, model: str) -> Verdict:
    scores = judged.scores.model_dump()
    return Verdict(DECISION[judged.decision], f"judge_{judged.decision}", round(mean(scores.values()) / 5, 3),
                   {"scores": scores, "decision": judged.decision, "why": judged.reason, "rubric_hash": rubric_hash,
                    "model": model})
