"""The meaning gates over the store, doing only new work: each family's threshold (from its own
similarity distribution, kept until the family has grown or shrunk by `GROWTH`), the content of a pair
(from the lexical sketches, judged with the family's scaffold), semantic decontamination of the
candidates not checked against this eval set, and semantic dedup of what new vectors touch. The
export's leak check by meaning uses the same thresholds and content (`thresholds`, `content_judge`).
"""

from __future__ import annotations

import hashlib

from curator.config import MeaningSettings
from curator.gates import meaning
from curator.gates.base import Verdict, verdict_changed
from curator.gates.content import Content
from curator.gates.dedup import DedupItem
from curator.gates.scaffold import Match, Scaffold, compare
from curator.meaning.embedder import unpack
from curator.progress import NEVER, Cancel
from curator.services.gating import runner
from curator.services.gating.lexical import load_scaffolds
from curator.store import Store

GROWTH = 1.25  # a family's threshold is measured again when its embedded items grew or shrank by this factor


def thresholds(store: Store, model: str, settings: MeaningSettings, pool: list | None = None, *,
               refresh: bool = True) -> dict[str, float]:
    """{family: its meaning threshold}: the cosine only 1 in 100 random pairs of its embedded items reach,
    never below the floors. Measured again (with `refresh`) for a family that has none or has grown or
    shrunk by `GROWTH` since; without `refresh`, what is kept (a family without one gets the floor)."""
    floor = min(settings.decontam_ask, settings.decontam_whole, settings.dedup)
    kept = {family: (row.meaning_items, row.meaning_threshold) for family, row in store.scaffolds(df=False).items()}
    out = {family: t for family, (_, t) in kept.items() if t is not None}
    if not refresh or pool is None:
        return out
    by_family: dict[str, list[int]] = {}
    for i, row in enumerate(pool):
        by_family.setdefault(row.family, []).append(i)
    for family, rows in by_family.items():
        items, threshold = kept.get(family, (None, None))
        if threshold is not None and items and len(rows) < items * GROWTH and len(rows) * GROWTH > items:
            continue
        vectors = unpack([pool[i].whole for i in rows])
        out[family] = meaning.family_threshold(vectors, floor)
        store.set_meaning_threshold(family, len(rows), out[family])
    return out


def content_judge(store: Store, scaffolds: dict[str, Scaffold]) -> meaning.Judge:
    """What two examples' content shares, from their sketches, judged with the first one's family scaffold
    (None when either has no sketch: the pair is then judged by its numbers alone)."""
    sketches: dict[int, tuple[Content | None, str]] = {}
    young = Scaffold()

    def load(ids: list[int]) -> None:
        wanted = [i for i in ids if i not in sketches]
        found = store.sketch_keys(wanted)
        for ex_id in wanted:
            row = found.get(ex_id)
            sketches[ex_id] = (Content.from_json(row.content) if row and row.content else None, row.family if row else "")

    def judge(a: int, b: int) -> Match | None:
        load([a, b])
        (content_a, family), (content_b, _) = sketches[a], sketches[b]
        if content_a is None or content_b is None:
            return None
        return compare(content_a, content_b, scaffolds.get(family, young))
    return judge


def _digest(values: dict[str, object]) -> str:
    return hashlib.sha256(repr(sorted(values.items())).encode()).hexdigest()[:12]


def run_meaning(store: Store, report: runner.GateReport, model: str, settings: MeaningSettings = MeaningSettings(), *,
                cancel: Cancel = NEVER) -> bool:
    """Semantic decontamination and dedup over what is embedded by `model`, doing only new work:
    decontamination checks the candidates not yet checked against this eval set (and thresholds);
    dedup compares the new vectors with their family and re-clusters only the clusters they touch
    (all of it when the thresholds changed). Returns False when stopped early."""
    now = store.change_marks()
    scaffolds = load_scaffolds(store)
    seen = {"meaning.decision": now["decision"], "meaning.evals": now["evals"],
            "meaning.vectors": store.embedding_mark(model),
            "meaning.rules": f"{model}|{settings.decontam_ask}|{settings.decontam_whole}|{settings.dedup}|"
                             f"{settings.numbers_must_agree}|{meaning.VERSION}|"
                             f"{_digest({f: s.fingerprint() for f, s in scaffolds.items()})}"}
    if all(store.gate_marks().get(k) == v for k, v in seen.items()):  # no new vector, decision or eval item
        report.meaning = "nothing new"
        return True
    missing, total = store.count_unembedded(model)
    notes: list[str] = []
    tail = [f"{missing} of {total} not embedded, not checked for meaning (run `curator embed`)"] if missing else []
    pool = store.meaning_pool(model)
    evals = meaning.Embedded.evals_from_rows(store.eval_embeddings(model))
    if not pool:
        report.meaning = "; ".join(["nothing embedded yet", *tail])
        store.set_gate_marks(seen)
        return True
    limits = thresholds(store, model, settings, pool)
    judge = content_judge(store, scaffolds)
    emb = meaning.Embedded.from_rows([(r.id, r.numbers, r.whole) for r in pool])
    current = store.current_verdict_keys((meaning.DECONTAM, meaning.DEDUP),
                                         ("eval_set", "eval_item", "keeper", "settings"))
    verdicts: list[tuple[str, dict[int, Verdict], tuple[str, ...]]] = []

    fingerprint = meaning.eval_set(evals, settings, model, limits)
    todo = [i for i, r in enumerate(pool) if r.kind != "seed" and
            ((current.get(r.id, {}).get(meaning.DECONTAM) or {}).get("detail") or {}).get("eval_set") != fingerprint]
    if evals.ids:
        own = [limits.get(pool[i].family, 0.0) for i in todo]
        verdicts.append((meaning.DECONTAM, meaning.decontaminate(emb.take(todo), evals, settings, fingerprint,
                                                                 thresholds=own, judge=judge),
                         ("eval_item", "eval_set")))
        notes.append(f"{len(todo)} checked against {len(evals.ids)} eval items by meaning")
    else:
        notes.append("no eval item embedded: semantic decontamination did not run")

    settings_key = meaning.dedup_settings(settings, model, limits)
    scores = {ex_id: g["judge"]["score"] or 0.0 for ex_id, g in store.current_verdicts(gates=("judge",)).items()}
    failed = store.failed_elsewhere()
    chosen = store.keeper_choices()  # the curator's keepers come before the gate's
    items = [DedupItem(id=r.id, key=f"#{r.id}", seed=r.kind == "seed", accepted=r.state == "accepted",
                       failed_elsewhere=r.id in failed, judge_score=scores.get(r.id, 0.0), chosen=chosen.get(r.id, 0))
             for r in pool]
    families = [r.family for r in pool]
    old = {r.id: (current[r.id][meaning.DEDUP]["detail"] or {}) for r in pool
           if meaning.DEDUP in current.get(r.id, {}) and
           (current[r.id][meaning.DEDUP]["detail"] or {}).get("settings") == settings_key}
    rows = meaning.rows_to_recluster(emb, families, old, settings, limits)
    if rows is None:
        rows = list(range(len(pool)))
    dedup_verdicts = meaning.dedup([items[i] for i in rows], [families[i] for i in rows], emb.take(rows), settings,
                                   thresholds=limits, judge=judge)
    verdicts.append((meaning.DEDUP, {k: meaning.with_settings(v, settings_key) for k, v in dedup_verdicts.items()},
                     ("keeper", "settings")))
    notes.append(f"{len(rows)} re-clustered by meaning")

    changed: list[tuple] = []
    for gate, found, keys in verdicts:
        for ex_id, v in found.items():
            if verdict_changed(current.get(ex_id, {}).get(gate), v, *keys):
                changed.append((ex_id, gate, meaning.VERSION, v.verdict, v.reason, v.score, v.detail))
            report.count(gate, v.verdict)
    report.paraphrased_evals = sum(v[3] == "fail" for v in changed if v[1] == meaning.DECONTAM)
    report.paraphrases = sum(v[3] == "fail" for v in changed if v[1] == meaning.DEDUP)
    found = f"{report.paraphrased_evals} new paraphrases of eval items, {report.paraphrases} new paraphrased duplicates"
    report.meaning = "; ".join([found, *notes, *tail])
    for start in range(0, len(changed), runner.BATCH):
        if cancel.is_set():
            return False
        store.insert_verdicts(changed[start:start + runner.BATCH])
    store.set_gate_marks(seen)
    return True
