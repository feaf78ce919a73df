"""Calibration of the meaning gates on the labelled Persian set shipped with curator
(`labelled/meaning_pairs.jsonl`, 45 paraphrase pairs that must match and 45 hard non-pairs that must
not): precision and recall of each matching gate at the configured thresholds, shown by
`curator gate report`, and the figures the thresholds were chosen from.

The pairs' vectors are computed once and kept beside the set (`meaning_pairs.vectors.npz`, with the
model id); with another model they are computed again on the fly.
Rebuild them with `python -m curator.meaning.calibration --rebuild`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curator.config import MeaningSettings
from curator.meaning.embedder import Embedder, active_model_id, default_embedder, model_id
from curator.meaning.texts import ask_text, number_signature, whole_text

LABELLED = Path(__file__).resolve().parent / "labelled"
PAIRS = LABELLED / "meaning_pairs.jsonl"
VECTORS = LABELLED / "meaning_pairs.vectors.npz"


@dataclass(frozen=True)
class Score:
    gate: str
    rule: str
    precision: float
    recall: float
    true_pos: int
    false_pos: int
    false_neg: int


def _messages(side: dict) -> list[dict]:
    return [{"role": "user", "content": side["instruction"]}, {"role": "assistant", "content": side["response"]}]


def load_pairs(path: Path = PAIRS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _texts(rows: list[dict], side: str) -> tuple[list[str], list[str], list[str]]:
    asks = [ask_text(_messages(r[side]), r[side].get("passage")) for r in rows]
    wholes = [whole_text(_messages(r[side]), r[side].get("passage")) for r in rows]
    return asks, wholes, [number_signature(a) for a in asks]


def pair_vectors(rows: list[dict], embedder: Embedder | None = None) -> dict[str, np.ndarray]:
    """{a_ask, a_whole, b_ask, b_whole}: float32 rows, from the kept file when its model is installed."""
    if embedder is None and VECTORS.exists():
        kept = np.load(VECTORS)
        if str(kept["model"]) == active_model_id() and len(kept["a_ask"]) == len(rows):
            return {k: kept[k].astype(np.float32) for k in ("a_ask", "a_whole", "b_ask", "b_whole")}
    embedder = embedder or default_embedder()
    out = {}
    for side in ("a", "b"):
        asks, wholes, _ = _texts(rows, side)
        vectors = embedder.embed(asks + wholes)
        out[f"{side}_ask"], out[f"{side}_whole"] = vectors[:len(rows)], vectors[len(rows):]
    return out


def _score(gate: str, rule: str, predicted: np.ndarray, truth: np.ndarray) -> Score:
    tp, fp, fn = int((predicted & truth).sum()), int((predicted & ~truth).sum()), int((~predicted & truth).sum())
    return Score(gate, rule, tp / max(tp + fp, 1), tp / max(tp + fn, 1), tp, fp, fn)


def calibrate(settings: MeaningSettings = MeaningSettings(), rows: list[dict] | None = None,
              vectors: dict[str, np.ndarray] | None = None) -> list[Score]:
    """Precision and recall of the meaning gates (and, for comparison, the lexical ones) on the pairs."""
    from curator.gates.decontam import Text, conversation_keys, decontaminate
    from curator.gates.dedup import near_pairs

    rows = rows if rows is not None else load_pairs()
    v = vectors or pair_vectors(rows)
    truth = np.array([r["match"] for r in rows])
    agree = np.array([a == b for a, b in zip(_texts(rows, "a")[2], _texts(rows, "b")[2])])
    if not settings.numbers_must_agree:
        agree[:] = True
    # b plays the candidate (one vector: ask + response), a the eval item (its ask, and ask + response).
    ask = np.einsum("ij,ij->i", v["b_whole"], v["a_ask"])
    whole = np.einsum("ij,ij->i", v["a_whole"], v["b_whole"])
    decontam = ((ask >= settings.decontam_ask) | (whole >= settings.decontam_whole)) & agree
    dedup = (whole >= settings.dedup) & agree
    lexical_decontam, lexical_dedup = [], []
    for r in rows:
        a, b = conversation_keys(_messages(r["a"])), conversation_keys(_messages(r["b"]))
        verdict = decontaminate([Text(1, *a)], [Text(2, *b)])[1]
        lexical_decontam.append(verdict.verdict == "fail")
        lexical_dedup.append(a[0] == b[0] or bool(near_pairs([a[0], b[0]])))
    return [
        _score("decontam_meaning", f"to the eval ask ≥ {settings.decontam_ask} or to its whole ≥ "
               f"{settings.decontam_whole}"
               + (", numbers agree" if settings.numbers_must_agree else ""), decontam, truth),
        _score("dedup_meaning", f"whole ≥ {settings.dedup}" + (", numbers agree" if settings.numbers_must_agree else ""),
               dedup, truth),
        _score("decontam", "lexical (8-grams, fuzzy question)", np.array(lexical_decontam), truth),
        _score("dedup", "lexical (near-duplicate match keys)", np.array(lexical_dedup), truth),
    ]


def rebuild() -> Path:
    """Compute the pairs' vectors with the installed model and keep them beside the set."""
    rows = load_pairs()
    vectors = pair_vectors(rows, default_embedder())
    tmp = VECTORS.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, model=np.array(model_id()), **{k: x.astype(np.float16) for k, x in vectors.items()})
    tmp.replace(VECTORS)
    return VECTORS


if __name__ == "__main__":
    if "--rebuild" in sys.argv:
        print(f"wrote {rebuild()}")
    for s in calibrate():
        print(f"{s.gate:<17} P {s.precision:.2f} R {s.recall:.2f} (tp {s.true_pos}, fp {s.false_pos}, "
              f"fn {s.false_neg})  {s.rule}")
