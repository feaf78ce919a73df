"""Calibration of the matching gates on the labelled Persian sets shipped with curator, at the configured
settings: what `curator gate report` and the palette's Gate report print.

- `templated.jsonl`: three families written from task templates (grammar role identification, shopping
  arithmetic, calculator tool calls), as the method prescribes, each with private eval items, clean
  candidates from the same templates about other content, leaks of an eval item's content in other
  words and templates, and reworded duplicates. The set goes through the real gates on a scratch
  database (scaffolds learned from its items, meaning thresholds from its vectors): precision and recall
  of each gate per family, and how many clean items all of them kept.
- `meaning_pairs.jsonl`: 45 paraphrase pairs that must match and 45 hard non-pairs that must not
  (same template, same topic, two questions on one passage, math that differs only in its numbers),
  judged pair by pair: b plays the candidate, a the eval item; the scaffold is learned from all of them.

Each set's vectors are computed once and kept beside it with the model id (`python -m
curator.services.calibration --rebuild`); with another model (or an installed stub) they are made on
the fly. The sets live in `tests/data` (`curator/meaning/labelled` in an install).
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from curator.config import GateSettings, MeaningSettings
from curator.gates import meaning
from curator.gates.content import content_of
from curator.gates.decontam import DecontamSettings, decontaminate, text_of
from curator.gates.dedup import DedupItem, DedupSettings, dedup
from curator.gates.scaffold import Scaffold, compare
from curator.meaning.embedder import DIM, Embedder, active_model_id, default_embedder
from curator.meaning.texts import ask_text, number_signature, whole_text
from curator.models import Example, Message
from curator.store import Store
from curator.text.normalize import key_hash

LABELLED = Path(__file__).resolve().parents[1] / "meaning" / "labelled"
PAIRS = LABELLED / "meaning_pairs.jsonl"
VECTORS = LABELLED / "meaning_pairs.vectors.npz"
TEMPLATED = LABELLED / "templated.jsonl"
TEMPLATED_VECTORS = LABELLED / "templated.vectors.npz"
GATES = ("decontam", "decontam_meaning", "dedup", "dedup_meaning")


@dataclass(frozen=True)
class Score:
    gate: str
    rule: str
    precision: float
    recall: float
    true_pos: int
    false_pos: int
    false_neg: int
    family: str = ""


def _score(gate: str, rule: str, predicted: np.ndarray, truth: np.ndarray, family: str = "") -> Score:
    tp, fp, fn = int((predicted & truth).sum()), int((predicted & ~truth).sum()), int((~predicted & truth).sum())
    return Score(gate, rule, tp / max(tp + fp, 1), tp / max(tp + fn, 1), tp, fp, fn, family)


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class KeptVectors:
    """The active embedder, answering from the vectors kept beside a set when they are the active model's."""

    def __init__(self, path: Path, embedder: Embedder | None = None) -> None:
        self.model_id = embedder.model_id if embedder is not None else active_model_id()
        self._embedder = embedder
        self._kept: dict[str, np.ndarray] = {}
        if embedder is None and path.exists():
            kept = np.load(path)
            if str(kept["model"]) == self.model_id:
                self._kept = dict(zip(kept["texts"].tolist(), kept["vectors"].astype(np.float32)))

    def embed(self, texts: list[str], batch: int = 16) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        missing = [i for i, t in enumerate(texts) if t not in self._kept]
        if missing:
            self._embedder = self._embedder or default_embedder()
            out[missing] = self._embedder.embed([texts[i] for i in missing], batch)
        for i, t in enumerate(texts):
            if t in self._kept:
                out[i] = self._kept[t]
        return out


# -- the templated set, through the gates -------------------------------------------------------------

@dataclass
class FamilyScores:
    family: str
    scores: list[Score]
    clean: int
    clean_kept: int
    leaks: int
    leaks_caught: int
    duplicates: int
    duplicates_caught: int


@dataclass
class TemplatedReport:
    families: list[FamilyScores] = field(default_factory=list)
    meaning: str = ""  # what the meaning gates did (or why they did not run)


def load_templated(path: Path = TEMPLATED) -> list[dict]:
    return _read(path)


def templated(meaning_settings: MeaningSettings = MeaningSettings(), *, rows: list[dict] | None = None,
              dedup_settings: DedupSettings = DedupSettings(), decontam_settings: DecontamSettings = DecontamSettings(),
              embedder: Embedder | None = None) -> TemplatedReport:
    """Precision and recall of each matching gate per family of the templated set, through the gates on a
    scratch database."""
    from curator.services.embed import embed_missing
    from curator.services.gating.meaning import run_meaning
    from curator.services.gating.runner import GateReport, run_set_level

    rows = rows if rows is not None else load_templated()
    report = TemplatedReport()
    with tempfile.TemporaryDirectory(prefix="curator-calibration-") as tmp, Store(Path(tmp) / "c.db") as store:
        ids = []
        with store.transaction():
            for r in rows:
                evaluated = r["set"] == "eval"
                e = Example(kind="eval_item" if evaluated else "candidate", role="eval" if evaluated else None,
                            family=r["family"], source_type="eval_import" if evaluated else "generated",
                            messages=[Message(**m) for m in r["messages"]])
                e.key_hash = key_hash(json.dumps(r["messages"], ensure_ascii=False))
                ids.append(store.add_example(e))
        gates = GateReport()
        run_set_level(store, gates, dedup_settings=dedup_settings, decontam_settings=decontam_settings)
        if meaning_settings.enabled:
            embedded = embed_missing(store, meaning_settings, embedder=KeptVectors(TEMPLATED_VECTORS, embedder))
            if embedded.unavailable:
                report.meaning = f"not run: {embedded.unavailable}"
            else:
                run_meaning(store, gates, embedded.model, meaning_settings)
                report.meaning = "run"
        else:
            report.meaning = "off"
        verdicts = store.current_verdicts()
    failed = [{g: (verdicts.get(i, {}).get(g) or {}).get("verdict") == "fail" for g in GATES} for i in ids]
    for family in sorted({r["family"] for r in rows}):
        idx = [k for k, r in enumerate(rows) if r["family"] == family and r["set"] == "candidate"]
        label = np.array([rows[k]["label"] for k in idx])
        fail = {g: np.array([failed[k][g] for k in idx]) for g in GATES}
        leak, dup, clean = label == "leak", label == "dup", label == "clean"
        scores = [
            _score("decontam", "content, spans, questions", fail["decontam"], leak, family),
            _score("decontam_meaning", "family threshold, content", fail["decontam_meaning"], leak, family),
            _score("decontamination", "either", fail["decontam"] | fail["decontam_meaning"], leak, family),
            _score("dedup", "exact, near, content", fail["dedup"], dup, family),
            _score("dedup_meaning", "family threshold, content", fail["dedup_meaning"], dup, family),
            _score("duplicates", "either", fail["dedup"] | fail["dedup_meaning"], dup, family),
        ]
        any_fail = np.any(np.stack(list(fail.values())), axis=0)
        report.families.append(FamilyScores(
            family, scores, int(clean.sum()), int((clean & ~any_fail).sum()), int(leak.sum()),
            int((leak & (fail["decontam"] | fail["decontam_meaning"])).sum()), int(dup.sum()),
            int((dup & (fail["dedup"] | fail["dedup_meaning"])).sum())))
    return report


# -- the meaning pairs, pair by pair ----------------------------------------------------------------

def _messages(side: dict) -> list[dict]:
    return [{"role": "user", "content": side["instruction"]}, {"role": "assistant", "content": side["response"]}]


def load_pairs(path: Path = PAIRS) -> list[dict]:
    return _read(path)


def _texts(rows: list[dict], side: str) -> tuple[list[str], list[str], list[str]]:
    asks = [ask_text(_messages(r[side]), r[side].get("passage")) for r in rows]
    wholes = [whole_text(_messages(r[side]), r[side].get("passage")) for r in rows]
    return asks, wholes, [number_signature(a) for a in asks]


def pair_vectors(rows: list[dict], embedder: Embedder | None = None) -> dict[str, np.ndarray]:
    """{a_ask, a_whole, b_ask, b_whole}: float32 rows, from the kept file when its model is the active one."""
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


def calibrate(settings: MeaningSettings = MeaningSettings(), rows: list[dict] | None = None,
              vectors: dict[str, np.ndarray] | None = None, *, decontam_settings: DecontamSettings = DecontamSettings(),
              dedup_settings: DedupSettings = DedupSettings()) -> list[Score]:
    """Precision and recall of the matching gates on the pairs, as the gates judge a pair: b the
    candidate, a the eval item (and, for dedup, two candidates of one family)."""
    rows = rows if rows is not None else load_pairs()
    v = vectors or pair_vectors(rows)
    truth = np.array([r["match"] for r in rows])
    contents = {side: [content_of(_messages(r[side]), r[side].get("passage")) for r in rows] for side in ("a", "b")}
    scaffold = Scaffold.learn(contents["a"] + contents["b"])
    # The set's own threshold, from its random pairs: not the labelled pairs, not a text and its copy.
    pool = np.concatenate([v["a_whole"], v["b_whole"]])
    sides = [r["a"]["instruction"] for r in rows] + [r["b"]["instruction"] for r in rows]
    known = np.array([[x == y for y in sides] for x in sides])
    n = len(rows)
    known[np.arange(n), np.arange(n) + n] = known[np.arange(n) + n, np.arange(n)] = True
    floor = min(settings.decontam_ask, settings.decontam_whole, settings.dedup)
    own = meaning.family_threshold(pool, floor, known=known)
    numbers = (_texts(rows, "a")[2], _texts(rows, "b")[2])
    ask = np.einsum("ij,ij->i", v["b_whole"], v["a_ask"])
    whole = np.einsum("ij,ij->i", v["a_whole"], v["b_whole"])
    stands = []  # nothing in their content stands against calling them the same
    for i in range(len(rows)):
        match = compare(contents["b"][i], contents["a"][i], scaffold)
        stands.append(not meaning._objection(match, (numbers[0][i], numbers[1][i]), settings))
    stands = np.array(stands)
    decontam = ((ask >= max(settings.decontam_ask, own)) | (whole >= max(settings.decontam_whole, own))) & stands
    dedup_m = (whole >= max(settings.dedup, own)) & stands
    lexical_decontam, lexical_dedup = [], []
    scaffolds = {"pairs": scaffold}
    for i, r in enumerate(rows):
        a = text_of(2, _messages(r["a"]), "pairs", r["a"].get("passage"))
        b = text_of(1, _messages(r["b"]), "pairs", r["b"].get("passage"))
        verdict = decontaminate([b], [a], decontam_settings, scaffolds)[1]
        lexical_decontam.append(verdict.verdict == "fail")
        found = dedup([DedupItem(1, a.key, family="pairs", content=a.content),
                       DedupItem(2, b.key, family="pairs", content=b.content)], dedup_settings, scaffolds)
        lexical_dedup.append(any(x.verdict == "fail" for x in found.values()))
    lexical_decontam, lexical_dedup = np.array(lexical_decontam), np.array(lexical_dedup)
    return [
        _score("decontam_meaning", f"family threshold {max(own, floor):.2f}, content", decontam, truth),
        _score("decontam", "content, spans, questions", lexical_decontam, truth),
        _score("decontamination", "either", decontam | lexical_decontam, truth),
        _score("dedup_meaning", f"family threshold {max(own, settings.dedup):.2f}, content", dedup_m, truth),
        _score("dedup", "exact, near, content", lexical_dedup, truth),
    ]


# -- the report ---------------------------------------------------------------------------------------

def report_lines(settings: MeaningSettings, gates: GateSettings = GateSettings()) -> list[str]:
    """The calibration as `curator gate report` and the palette print it (with curator.toml's settings)."""
    from curator.services.gate import set_level_settings

    dedup_settings, decontam_settings = set_level_settings(gates)
    rows = load_pairs()
    lines = ["calibration on the labelled Persian sets, the gates as configured",
             f"{TEMPLATED.name} (written from task templates):",
             f"{'family':<14} {'gate':<17} {'precision':>9} {'recall':>6}  (tp fp fn)"]
    found = templated(settings, dedup_settings=dedup_settings, decontam_settings=decontam_settings)
    for fam in found.families:
        for s in fam.scores:
            precision = f"{s.precision:>9.2f}" if s.true_pos + s.false_pos else f"{'-':>9}"
            lines.append(f"{fam.family:<14} {s.gate:<17} {precision} {s.recall:>6.2f}  "
                         f"({s.true_pos} {s.false_pos} {s.false_neg})")
        lines.append(f"{fam.family:<14} clean kept {fam.clean_kept}/{fam.clean}, leaks caught {fam.leaks_caught}/"
                     f"{fam.leaks}, duplicates caught {fam.duplicates_caught}/{fam.duplicates}")
    if found.meaning not in ("run", ""):
        lines.append(f"(meaning gates {found.meaning})")
    lines += ["", f"{PAIRS.name}: {sum(r['match'] for r in rows)} paraphrase pairs that must match,",
              f"{sum(not r['match'] for r in rows)} hard non-pairs that must not:"]
    for s in calibrate(settings, rows, decontam_settings=decontam_settings, dedup_settings=dedup_settings):
        lines.append(f"{s.gate:<17} precision {s.precision:.2f}  recall {s.recall:.2f}  ({s.rule})")
    return lines


def rebuild() -> list[Path]:
    """Compute both sets' vectors with the installed model and keep them beside the sets."""
    model = default_embedder()
    rows = load_pairs()
    vectors = pair_vectors(rows, model)
    tmp = VECTORS.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, model=np.array(model.model_id), **{k: x.astype(np.float16) for k, x in vectors.items()})
    tmp.replace(VECTORS)
    texts = []
    for r in load_templated():
        messages = r["messages"]
        texts += [whole_text(messages), ask_text(messages)]
    texts = sorted(set(texts))
    tmp = TEMPLATED_VECTORS.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, model=np.array(model.model_id), texts=np.array(texts),
                        vectors=model.embed(texts).astype(np.float16))
    tmp.replace(TEMPLATED_VECTORS)
    return [VECTORS, TEMPLATED_VECTORS]


if __name__ == "__main__":
    if "--rebuild" in sys.argv:
        print("wrote", ", ".join(str(p) for p in rebuild()))
    print("\n".join(report_lines(MeaningSettings())))
