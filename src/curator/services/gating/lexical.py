"""The lexical set-level gates — near-duplicates and decontamination on match keys — doing only new work.

Each example in the pool is sketched once: its match keys, their hash and its LSH band keys are stored
(`sketches`). A run then looks only at what can have changed since the last one (marks in the store):
  - new examples (no sketch yet), examples decided on or given another verdict since (a keeper may
    change), and duplicate clusters a member left (rejected, revised, made an eval item);
  - their LSH buckets and exact-key matches give the candidate pairs, rapidfuzz confirms them;
  - only the clusters they touch are rebuilt (all pairs among their members again, so a cluster that
    loses a bridge splits as a full run would split it), and only changed verdicts are written;
  - decontamination checks only candidates not yet checked against this eval set.
With nothing new it returns after a few indexed queries. When the rules change (thresholds,
settings), everything is looked at again. The same store gives the same verdicts in every process:
the sketches use stable hashes (`sketch.word_id`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz import fuzz

from curator.gates import decontam as decontam_gate
from curator.gates import dedup as dedup_gate
from curator.gates.decontam import DecontamSettings, Text, conversation_keys, decontaminate
from curator.gates.base import Verdict, verdict_changed
from curator.gates.dedup import DedupItem, DedupSettings, UnionFind, cluster_verdicts
from curator.gates.sketch import Corpus, band_keys, band_pairs, minhash
from curator.progress import NEVER, Cancel
from curator.store import Store

SKETCH_BATCH = 2000  # examples sketched per transaction
CHECK_BATCH = 20000  # candidates decontaminated per pass (memory stays bounded)
WRITE_BATCH = 500


@dataclass
class LexicalReport:
    sketched: int = 0
    rebuilt: int = 0  # examples whose cluster was looked at again
    checked: int = 0  # candidates checked against the eval set
    written: int = 0  # verdicts that changed
    full: bool = False
    nothing_new: bool = False
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def summary(self) -> str:
        if self.nothing_new:
            return "nothing new"
        how = "everything (the rules changed or first run)" if self.full else f"{self.rebuilt} in touched clusters"
        return (f"{self.sketched} sketched; dedup looked at {how}; {self.checked} checked against the eval set; "
                f"{self.written} verdicts changed")


def sketch_version(settings: DedupSettings) -> str:
    """What a stored sketch depends on: the match key (through the gates' versions) and the LSH shape."""
    return f"d{dedup_gate.VERSION}.c{decontam_gate.VERSION}.{settings.permutations}x{settings.bands}.{settings.ngram}"


def rules_key(dedup: DedupSettings, decontam: DecontamSettings, thresholds: dict[str, float | None]) -> str:
    """What the verdicts depend on besides the data: when it changes, everything is looked at again."""
    text = json.dumps([sketch_version(dedup), dedup.threshold, sorted((k, v) for k, v in thresholds.items() if v),
                       vars(decontam)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def key_hash64(key: str) -> int:
    """A stable signed 64-bit hash of a match key (exact duplicates share it)."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def sketch(keys: list[str], settings: DedupSettings) -> np.ndarray:
    """LSH band keys (n x bands) of match keys."""
    corpus = Corpus.build(keys)
    hashes, owner, _ = corpus.ngrams(settings.ngram)
    return band_keys(minhash(hashes, owner, len(keys), settings.permutations), settings.bands)


def sketch_new(store: Store, settings: DedupSettings, cancel: Cancel = NEVER, *, after: int = 0,
               also: set[int] | None = None) -> list[int]:
    """Sketch the pool examples after id `after` (and those of `also`: older ones that may have come
    back into the pool) that have no sketch of this version; returns their ids."""
    version = sketch_version(settings)
    done: list[int] = []

    def put(rows: list[tuple[int, str]]) -> None:
        keys = [conversation_keys(json.loads(messages)) for _, messages in rows]
        bands = sketch([k for k, _ in keys], settings)
        store.put_sketches(version, [(ex_id, key, question, key_hash64(key), bands[i].tobytes())
                                     for i, ((ex_id, _), (key, question)) in enumerate(zip(rows, keys))])
        done.extend(r[0] for r in rows)

    older = store.unsketched_of(version, sorted(i for i in also or () if i <= after))
    for start in range(0, len(older), SKETCH_BATCH):
        put(older[start:start + SKETCH_BATCH])
    while not cancel.is_set():
        rows = store.unsketched(version, SKETCH_BATCH, after)
        if not rows:
            break
        put(rows)
        after = rows[-1][0]
    return done


def run_lexical(store: Store, families: dict[str, Any] | None = None, *,
                dedup_settings: DedupSettings = DedupSettings(),
                decontam_settings: DecontamSettings = DecontamSettings(),
                cancel: Cancel = NEVER) -> tuple[LexicalReport, bool]:
    """Dedup and decontamination, only new work (see the module). Returns (report, finished): with
    `cancel` set it stops between batches; what is written stays and the next run does the rest."""
    report = LexicalReport()
    start = store.change_marks()  # where the logs stand as this run begins: the next run starts here
    marks = store.gate_marks()
    thresholds = {name: getattr(f, "dedup_threshold", None) for name, f in (families or {}).items()}
    rules = rules_key(dedup_settings, decontam_settings, thresholds)
    report.full = marks.get("lexical.rules") != rules
    changed = set() if report.full else \
        store.changed_since(int(marks.get("lexical.decision", 0)), int(marks.get("lexical.verdict", 0)))
    seen = 0 if report.full else int(marks.get("lexical.sketched", 0))  # examples after it are new
    new = sketch_new(store, dedup_settings, cancel, after=seen, also=changed)
    report.sketched = len(new)
    if cancel.is_set():
        return report, False
    sketched, last_sketched = store.sketched_after(int(marks.get("lexical.sketched", 0)))
    dirty = set(new) | set(sketched) | changed  # sketched by a run that stopped early, too
    # A member leaves the pool only by a decision (reject, role) or a revision (a new example): with
    # nothing dirty, no cluster lost one.
    left = store.left_pool_clusters() if (report.full or dirty) else []
    evals_changed = marks.get("lexical.evals") != start["evals"]
    if not (report.full or dirty or evals_changed):
        report.nothing_new = True
        return report, True
    if report.full or dirty or left:
        if not _dedup(store, report, dirty, left, dedup_settings, thresholds, cancel):
            return report, False
    if not _decontaminate(store, report, decontam_settings, cancel):
        return report, False
    store.set_gate_marks({"lexical.decision": start["decision"], "lexical.verdict": start["verdict"],
                          "lexical.evals": start["evals"], "lexical.rules": rules, "lexical.sketched": last_sketched})
    return report, True


def _confirm(store: Store, pairs: set[tuple[int, int]], ids: np.ndarray, threshold, settings: DedupSettings,
             scores: dict[tuple[int, int], float]) -> None:
    """rapidfuzz scores (0-1, 0 when under the pair's threshold) of candidate pairs of row indices
    not scored yet, into `scores`. `threshold(row)` is the row's family threshold, if it sets one."""
    todo = [p for p in pairs if p not in scores]
    keys = store.sketch_keys(sorted({int(ids[r]) for p in todo for r in p}))
    for a, b in todo:
        cutoff = max(settings.threshold, threshold(a) or settings.threshold, threshold(b) or settings.threshold)
        score = fuzz.ratio(keys[int(ids[a])][0], keys[int(ids[b])][0], score_cutoff=cutoff)
        scores[(a, b)] = score / 100 if score else 0.0


def _dedup(store: Store, report: LexicalReport, dirty: set[int], left: list[tuple[int, int]],
           settings: DedupSettings, thresholds: dict[str, float | None], cancel: Cancel) -> bool:
    """Rebuild the duplicate clusters that new or changed examples touch (all of them on a full run)."""
    ids, hashes, clusters, keys = store.pool_sketches(sketch_version(settings))
    if len(ids) == 0:
        store.set_clusters([(None, ex_id) for ex_id, _ in left])
        return True
    facts: dict[int, tuple[str, str, bool, float, str]] = {}

    def know(rows) -> None:
        facts.update(store.dedup_facts([int(ids[r]) for r in rows if int(ids[r]) not in facts]))

    def threshold(row: int) -> float | None:
        fact = facts.get(int(ids[row]))
        return thresholds.get(fact[4]) if fact else None

    scores: dict[tuple[int, int], float] = {}
    if report.full:
        region = np.ones(len(ids), dtype=bool)
    else:
        focus = np.isin(ids, np.fromiter(dirty, dtype=np.int64, count=len(dirty))) | \
            np.isin(clusters, np.array([c for _, c in left], dtype=np.int64))
        pairs = {p for p in band_pairs(keys, focus) if focus[p[0]] or focus[p[1]]}
        know({r for p in pairs for r in p})
        _confirm(store, pairs, ids, threshold, settings, scores)
        partner = np.isin(hashes, hashes[focus])  # the same match key
        for (a, b), score in scores.items():
            if score:
                partner[a] = partner[b] = True
        touched = np.array(sorted(set(clusters[focus | partner].tolist()) - {0}), dtype=np.int64)
        region = focus | partner | np.isin(clusters, touched)
    if cancel.is_set():
        return False
    pairs = {p for p in band_pairs(keys, None if report.full else region) if region[p[0]] and region[p[1]]}
    know({r for p in pairs for r in p})
    _confirm(store, pairs, ids, threshold, settings, scores)
    scores = {p: v for p, v in scores.items() if v and region[p[0]] and region[p[1]]}
    rows = np.flatnonzero(region)
    report.rebuilt = len(rows)
    # Rows with no partner in the region pass alone; only the others are clustered (with their facts).
    values, counts = np.unique(hashes[rows], return_counts=True)
    linked = np.zeros(len(ids), dtype=bool)
    linked[rows[np.isin(hashes[rows], values[counts > 1])]] = True
    for a, b in scores:
        linked[a] = linked[b] = True
    alone = rows[~linked[rows]]
    rows = rows[linked[rows]]
    know(rows)
    # cluster the linked rows: exact keys first, then confirmed near pairs (as `dedup.dedup` does)
    index = {int(r): i for i, r in enumerate(rows)}
    items: list[DedupItem] = []
    for r in rows:
        kind, state, failed, judge, family = facts[int(ids[r])]
        items.append(DedupItem(id=int(ids[r]), key=str(hashes[r]), seed=kind == "seed", accepted=state == "accepted",
                               failed_elsewhere=failed, judge_score=judge, threshold=thresholds.get(family)))
    uf = UnionFind()
    evidence: dict[int, tuple[int, float, str]] = {}
    first_of: dict[int, int] = {}
    for i, r in enumerate(rows):
        h = int(hashes[r])
        if h in first_of:
            uf.union(first_of[h], i)
            evidence[i] = (first_of[h], 1.0, "exact")
        else:
            first_of[h] = i
    for (a, b), score in sorted(scores.items()):
        ia, ib = index[a], index[b]
        uf.union(ia, ib)
        evidence.setdefault(ib, (ia, score, "near"))
        evidence.setdefault(ia, (ib, score, "near"))
    verdicts = cluster_verdicts(items, uf, evidence)
    written = [(item.id, verdicts[item.id]) for item in items]
    cleared = [(None, ex_id) for ex_id, _ in left]
    if not _write_dedup(store, report, written, cancel, cleared):
        return False
    for start in range(0, len(alone), CHECK_BATCH):  # the rows alone, a batch at a time (memory stays flat)
        part = alone[start:start + CHECK_BATCH]
        ok = Verdict.ok(None, cluster_size=1)
        cleared = [(None, int(ids[r])) for r in part if clusters[r]]
        if not _write_dedup(store, report, [(int(ids[r]), ok) for r in part], cancel, cleared):
            return False
    return True


def _write_dedup(store: Store, report: LexicalReport, verdicts: list[tuple[int, Verdict]], cancel: Cancel,
                 cleared: list[tuple[None, int]]) -> bool:
    """Write the dedup verdicts that changed and each example's cluster (its keeper, or none)."""
    current = store.current_verdicts_of(dedup_gate.NAME, [ex_id for ex_id, _ in verdicts], ("keeper",))
    changed = []
    for ex_id, v in verdicts:
        _count(report, dedup_gate.NAME, v.verdict)
        if verdict_changed(current.get(ex_id), v, "keeper"):
            changed.append((ex_id, dedup_gate.NAME, dedup_gate.VERSION, v.verdict, v.reason, v.score, v.detail))
    cluster_rows = cleared + [(v.detail.get("keeper"), ex_id) for ex_id, v in verdicts
                              if v.detail.get("cluster_size", 1) > 1]
    for start in range(0, max(len(changed), len(cluster_rows)), WRITE_BATCH):
        if cancel.is_set():
            return False
        if changed[start:start + WRITE_BATCH]:
            store.insert_verdicts(changed[start:start + WRITE_BATCH])
        if cluster_rows[start:start + WRITE_BATCH]:
            store.set_clusters(cluster_rows[start:start + WRITE_BATCH])
    report.written += len(changed)
    return True


def _decontaminate(store: Store, report: LexicalReport, settings: DecontamSettings, cancel: Cancel) -> bool:
    """Check every candidate not yet checked against the current eval set, `CHECK_BATCH` at a time."""
    evals = [Text(ex_id, *conversation_keys(json.loads(messages))) for ex_id, messages in store.eval_messages()]
    eval_set = decontam_gate.fingerprint(evals, settings)
    after = 0
    while not cancel.is_set():
        todo = store.decontam_todo(eval_set, CHECK_BATCH, after)
        if not todo:
            return True
        candidates = [Text(ex_id, key, question) for ex_id, key, question in todo]
        verdicts = decontaminate(candidates, evals, settings)
        ids = [c.id for c in candidates]
        current = store.current_verdicts_of(decontam_gate.NAME, ids, ("eval_set",))
        changed = []
        for ex_id in ids:
            v = verdicts[ex_id]
            _count(report, decontam_gate.NAME, v.verdict)
            if verdict_changed(current.get(ex_id), v, "eval_set"):
                changed.append((ex_id, decontam_gate.NAME, decontam_gate.VERSION, v.verdict, v.reason, v.score,
                                v.detail))
        for start in range(0, len(changed), WRITE_BATCH):
            store.insert_verdicts(changed[start:start + WRITE_BATCH])
        for start in range(0, len(ids), WRITE_BATCH):
            store.set_checked_eval_set(eval_set, ids[start:start + WRITE_BATCH])
        report.checked += len(ids)
        report.written += len(changed)
        after = ids[-1]
    return False


def _count(report: LexicalReport, gate: str, verdict: str) -> None:
    report.counts.setdefault(gate, {}).setdefault(verdict, 0)
    report.counts[gate][verdict] += 1
