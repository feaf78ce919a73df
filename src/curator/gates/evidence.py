"""The evidence of a duplicate or a leak, in a form a curator checks in a second (pure).

`matches(verdicts)` reads the set-level gates' failing verdicts: for each, the matched item (the eval
item, or the duplicate's keeper), how it matched (exact, content, span, question, near, meaning) and
the content the two share (the quoted sentence, the numbers, the words). `word_diff(a, b)` is what the
two texts say in the same words and what each says alone. The triage screen's gate details (`g`) show
both side by side; the export's curation log carries the same.
"""

from __future__ import annotations

import re
from typing import Any

from curator.gates.content import FUNCTION_WORDS
from curator.text.normalize import match_key

SET_LEVEL = ("decontam", "decontam_meaning", "dedup", "dedup_meaning")
_WORD = re.compile(r"[^\W_]+")


def matches(verdicts: dict[str, dict]) -> list[dict[str, Any]]:
    """For each failing set-level gate: {gate, matched, against ("eval item", "keeper", or "duplicate"
    when the matched item is another member of the keeper's cluster), how, score, shared: {quote,
    numbers, shared (words), coverage}, and for a duplicate its keeper}."""
    found = []
    for gate in SET_LEVEL:
        v = verdicts.get(gate) or {}
        if v.get("verdict") != "fail":
            continue
        detail = v.get("detail") or {}
        if gate == "decontam":
            hit = (detail.get("hits") or [{}])[0]
            matched, how, shared = hit.get("eval_id"), hit.get("test"), hit.get("shared") or {}
        elif gate == "decontam_meaning":
            matched, how, shared = detail.get("eval_item"), f"meaning ({detail.get('matched')})", detail.get("shared") or {}
        else:
            matched = detail.get("matched", detail.get("keeper"))
            how, shared = detail.get("how"), detail.get("shared") or {}
        if gate.startswith("decontam"):
            found.append({"gate": gate, "matched": matched, "against": "eval item", "how": how,
                          "score": v.get("score"), "shared": shared})
        else:
            keeper = detail.get("keeper", matched)
            found.append({"gate": gate, "matched": matched, "against": "keeper" if keeper == matched else "duplicate",
                          "how": how, "score": v.get("score"), "shared": shared, "keeper": keeper})
    return found


def _words(text: str) -> list[str]:
    words = _WORD.findall(match_key(text.replace("\u200c", " ")))
    return [w for w in words if (len(w) > 1 or w.isdigit()) and w not in FUNCTION_WORDS]


def word_diff(a: str, b: str, limit: int = 24) -> dict[str, list[str]]:
    """{shared, only_a, only_b}: the content words (and numbers) the two texts have in common and each
    has alone, in the order they come (at most `limit` each)."""
    left, right = _words(a), _words(b)
    in_left, in_right = set(left), set(right)
    return {"shared": list(dict.fromkeys(w for w in left if w in in_right))[:limit],
            "only_a": list(dict.fromkeys(w for w in left if w not in in_right))[:limit],
            "only_b": list(dict.fromkeys(w for w in right if w not in in_left))[:limit]}


def summary(match: dict[str, Any]) -> str:
    """One line: `decontam: eval item #12 (content, 0.83): «…»; numbers 3 40000; words سارا، دفتر`."""
    shared = match.get("shared") or {}
    score = f", {match['score']:.2f}" if isinstance(match.get("score"), (int, float)) else ""
    parts = [f"{match['gate']}: {match['against']} #{match['matched']} ({match.get('how') or '?'}{score})"]
    if match.get("keeper") not in (None, match["matched"]):
        parts[0] += f", kept: #{match['keeper']}"
    if shared.get("quote"):
        parts.append(f"quote «{shared['quote']}»")
    if shared.get("numbers"):
        parts.append("numbers " + " ".join(map(str, shared["numbers"])))
    if shared.get("shared"):
        parts.append("words " + "، ".join(shared["shared"][:8]))
    return "; ".join(parts)
