"""The lexical set-level gates — dedup and decontamination on what examples say — doing only new work.

Each example of the pool (and each private eval item) is sketched once: its match keys, their hash, its
LSH band keys and its content units (`gates.content`) are stored (`sketches`). Each family's scaffold
(`gates.scaffold`: what its items share) is learned from its sketches and kept until the family has
grown or shrunk by `GROWTH`; each example's content keys (its heaviest content units) are made under
its family's scaffold. A run then looks only at what can have changed since the last one:
  - new examples, examples decided on or given another verdict since (a keeper may change: a decision
    may be the curator's choice of keeper, which outranks the gate's own), duplicate clusters a member
    left, and the examples of a family whose scaffold was learned again;
  - their LSH buckets, exact-key matches and content keys give the candidate pairs; rapidfuzz and the
    content comparison confirm them;
  - only the clusters they touch are rebuilt (all pairs among their members again, so a cluster that
    loses a bridge splits as a full run would split it), and only changed verdicts are written;
  - decontamination checks only candidates not yet checked against this eval set and their family's
    current scaffold.
With nothing new it returns after a few indexed queries. When the rules change (thresholds,
settings), everything is looked at again. The same store gives the same verdicts in every process:
the sketches use stable hashes (`sketch.word_id`).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from curator.gates import content as content_gate
from curator.gates import decontam as decontam_gate
from curator.gates import dedup as dedup_gate
from curator.gates.base import Verdict, verdict_changed
from curator.gates.content import Content, content_of, stored_messages
from curator.gates.decontam import DecontamSettings, Text, conversation_keys, decontaminate
from curator.gates.dedup import CONTENT_BUCKET, CONTENT_KEYS, CONTENT_SHARED, DedupItem, DedupSettings, UnionFind, cluster_verdicts
from curator.gates.scaffold import Scaffold, content_keys
from curator.gates.sketch import MINHASH, Corpus, band_keys, band_pairs, key_pairs, minhash
from curator.progress import NEVER, Cancel
from curator.store import Store
from curator.store.sketches import SketchText
from curator.display.wording import counted

SKETCH_BATCH = 2000  # examples sketched per transaction
CHECK_BATCH = 20000  # candidates decontaminated per pass (memory stays bounded)
WRITE_BATCH = 500
KEY_BATCH = 2000  # content keys made per transaction
CONFIRM_BATCH = 20000  # candidate pairs confirmed with one read of their sketches
GROWTH = 1.25  # a family's scaffold is learned again when it has grown or shrunk by this factor
SAMPLE = 20000  # ... from about this many of its examples at most (and all its eval items)


@dataclass
class LexicalReport:
    sketched: int = 0
    rebuilt: int = 0  # examples whose cluster was looked at again
    checked: int = 0  # candidates checked against the eval set
    written: int = 0  # verdicts that changed
    learned: list[str] = field(default_factory=list)  # families whose scaffold was learned (again)
    full: bool = False
    nothing_new: bool = False
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def summary(self) -> str:
        if self.nothing_new:
            return "nothing new"
        how = "everything (the rules changed or first run)" if self.full else f"{self.rebuilt} in touched clusters"
        learned = f"scaffold learned for {', '.join(self.learned)}; " if self.learned else ""
        return (f"{self.sketched} sketched; {learned}dedup looked at {how}; {self.checked} checked against the "
                f"eval set; {counted(self.written, 'verdict')} changed")


def sketch_version(settings: DedupSettings) -> str:
    """What a stored sketch depends on: the match key and content units (through the gates' versions) and
    the LSH shape."""
    return (f"d{dedup_gate.VERSION}.c{decontam_gate.VERSION}.u{content_gate.VERSION}."
            f"{settings.permutations}x{settings.bands}.{settings.ngram}.{MINHASH}")


def rules_key(dedup: DedupSettings, decontam: DecontamSettings, thresholds: dict[str, float | None]) -> str:
    """What the verdicts depend on besides the data: when it changes, everything is looked at again."""
    text = json.dumps([sketch_version(dedup), dedup.threshold, dedup.content_threshold,
                       sorted((k, v) for k, v in thresholds.items() if v), vars(decontam)], sort_keys=True, default=str)
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
    """Sketch the pool examples and eval items after id `after` (and those of `also`: older ones that may
    have come back into the pool) that have no sketch of this version; returns their ids."""
    version = sketch_version(settings)
    done: list[int] = []
    passage = store.passage_texts()

    def put(rows: list[tuple[int, str, int | None]]) -> None:
        messages = [stored_messages(text) for _, text, _ in rows]
        keys = [conversation_keys(m, passage(pid)) for m, (_, _, pid) in zip(messages, rows)]
        contents = [content_of(m, passage(pid)).to_json() for m, (_, _, pid) in zip(messages, rows)]
        bands = sketch([k for k, _ in keys], settings)
        store.put_sketches(version, [(ex_id, key, question, key_hash64(key), bands[i].tobytes(), contents[i])
                                     for i, ((ex_id, _, _), (key, question)) in enumerate(zip(rows, keys))])
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


# -- scaffolds ------------------------------------------------------------------------------------

def load_scaffolds(store: Store) -> dict[str, Scaffold]:
    """Every family's current scaffold, as learned and kept in the store."""
    out = {}
    for family, row in store.scaffolds().items():
        if row.fingerprint:
            items, counts = json.loads(row.df)
            out[family] = Scaffold.kept(items, counts, row.fingerprint)
    return out


def learn_scaffolds(store: Store, settings: DedupSettings, *, everything: bool = False,
                    new: list[int] | None = None) -> list[str]:
    """Learn again the scaffold of every family that has none yet or has grown or shrunk by `GROWTH` since
    (every family's with `everything`); returns those families. With `new` (the examples sketched since
    the last run), only the families they belong to are counted, and only if they may have grown enough."""
    version = sketch_version(settings)
    kept = store.scaffolds(df=False)
    if new is not None and not everything:
        grown = {f: n + (kept[f].items if f in kept else 0) for f, n in store.family_counts_of(new).items()}
        if not any(f not in kept or not kept[f].fingerprint or n >= kept[f].items * GROWTH for f, n in grown.items()):
            return []
    learned = []
    for family, size in sorted(store.family_sizes(version).items()):
        row = kept.get(family)
        if not everything and row is not None and row.fingerprint and row.items * GROWTH > size > row.items / GROWTH:
            continue
        every = max(1, math.ceil(size / SAMPLE))
        scaffold = Scaffold.learn(Content.from_json(c) for c in store.family_contents(version, family, every))
        store.put_scaffold(family, size, json.dumps([scaffold.items, dict(scaffold.df)], ensure_ascii=False),
                           scaffold.fingerprint())
        learned.append(family)
    return learned


def _epoch(scaffold: Scaffold) -> str:
    return f"{dedup_gate.VERSION}.{CONTENT_KEYS}:{scaffold.fingerprint()}"


def _keys(content: Content, scaffold: Scaffold, family: str) -> bytes:
    keys = np.zeros(CONTENT_KEYS, dtype=np.uint64)
    found = content_keys(content, scaffold, family, CONTENT_KEYS)
    keys[:len(found)] = found
    return keys.tobytes()


def key_contents(store: Store, settings: DedupSettings, scaffolds: dict[str, Scaffold], cancel: Cancel = NEVER, *,
                 families: list[str] | None = None, ids: set[int] = frozenset()) -> set[int]:
    """Make the content keys of the pool examples whose keys were not made under their family's current
    scaffold: every example of `families` (all families by default), and those of `ids`; returns them."""
    version = sketch_version(settings)
    keyed: set[int] = set()
    for family in sorted(scaffolds if families is None else families):
        scaffold = scaffolds.get(family)
        if scaffold is None:
            continue
        epoch, after = _epoch(scaffold), 0
        while not cancel.is_set():
            rows = store.unkeyed(version, family, epoch, KEY_BATCH, after)
            if not rows:
                break
            store.put_content_keys(epoch, [(ex_id, _keys(Content.from_json(text), scaffold, family))
                                           for ex_id, text in rows])
            keyed.update(r[0] for r in rows)
            after = rows[-1][0]
    by_epoch: dict[str, list[tuple[int, bytes]]] = {}
    for ex_id, family, text, epoch in store.unkeyed_of(sorted(ids - keyed)):
        scaffold = scaffolds.get(family)
        if scaffold is not None and epoch != _epoch(scaffold):
            by_epoch.setdefault(_epoch(scaffold), []).append((ex_id, _keys(Content.from_json(text), scaffold, family)))
    for epoch, rows in by_epoch.items():
        for start in range(0, len(rows), KEY_BATCH):
            store.put_content_keys(epoch, rows[start:start + KEY_BATCH])
        keyed.update(r[0] for r in rows)
    return keyed


# -- the run --------------------------------------------------------------------------------------

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
    evals_changed = marks.get("lexical.evals") != start["evals"]
    if not (report.full or dirty or evals_changed):
        report.nothing_new = True
        return report, True
    # A family grows only by new sketches: with none, no scaffold needs learning.
    if report.full or new or sketched:
        report.learned = learn_scaffolds(store, dedup_settings, everything=report.full,
                                         new=None if report.full else sorted(set(new) | set(sketched)))
    scaffolds = load_scaffolds(store)
    dirty |= key_contents(store, dedup_settings, scaffolds, cancel, families=None if report.full else report.learned,
                          ids=dirty)
    if cancel.is_set():
        return report, False
    # A member leaves the pool only by a decision (reject, role) or a revision (a new example): with
    # nothing dirty, no cluster lost one.
    left = store.left_pool_clusters() if (report.full or dirty) else []
    if report.full or dirty or left:
        if not _dedup(store, report, dirty, left, dedup_settings, thresholds, scaffolds, cancel):
            return report, False
    if not _decontaminate(store, report, dedup_settings, decontam_settings, scaffolds, cancel):
        return report, False
    store.set_gate_marks({"lexical.decision": start["decision"], "lexical.verdict": start["verdict"],
                          "lexical.evals": start["evals"], "lexical.rules": rules, "lexical.sketched": last_sketched})
    return report, True


class _Pairs:
    """Confirms candidate pairs of pool rows, once each: near duplicates by rapidfuzz (unless their content
    differs), same content by the family's scaffold. `scores[(a, b)]` is (score 0-1, how, shared) or None."""

    def __init__(self, store: Store, ids: np.ndarray, settings: DedupSettings, thresholds: dict[str, float | None],
                 scaffolds: dict[str, Scaffold]) -> None:
        self.store, self.ids, self.settings = store, ids, settings
        self.thresholds, self.scaffolds = thresholds, scaffolds
        self.scores: dict[tuple[int, int], tuple[float, str, dict] | None] = {}
        self.sketches: dict[int, tuple[str, str, str, str]] = {}
        self.contents: dict[int, Content | None] = {}

    def content(self, ex_id: int) -> Content | None:
        if ex_id not in self.contents:
            text = self.sketches[ex_id].content
            self.contents[ex_id] = Content.from_json(text) if text else None
        return self.contents[ex_id]

    def confirm(self, near: set[tuple[int, int]], same: set[tuple[int, int]]) -> None:
        todo = sorted(p for p in near | same if p not in self.scores)
        for start in range(0, len(todo), CONFIRM_BATCH):  # the rows of a batch of pairs at a time: memory stays flat
            if len(self.sketches) > CONFIRM_BATCH:
                self.sketches.clear()
                self.contents.clear()
            part = todo[start:start + CONFIRM_BATCH]
            wanted = {int(self.ids[r]) for p in part for r in p} - set(self.sketches)
            self.sketches.update(self.store.sketch_keys(sorted(wanted)))
            self._confirm(part, near, same)

    def _confirm(self, todo: list[tuple[int, int]], near: set[tuple[int, int]], same: set[tuple[int, int]]) -> None:
        young = Scaffold()
        for pair in todo:
            a, b = int(self.ids[pair[0]]), int(self.ids[pair[1]])
            key_a, family_a = self.sketches[a].key, self.sketches[a].family
            key_b, family_b = self.sketches[b].key, self.sketches[b].family
            scaffold = self.scaffolds.get(family_a, young) if family_a == family_b else young
            contents = (self.content(a), self.content(b))
            found = None
            if pair in near:
                cutoff = max(self.settings.threshold, self.thresholds.get(family_a) or self.settings.threshold,
                             self.thresholds.get(family_b) or self.settings.threshold)
                hit = dedup_gate.near(key_a, key_b, cutoff, contents, scaffold)
                found = (hit[0], "near", hit[1]) if hit else None
            if found is None and pair in same and family_a == family_b and None not in contents:
                hit = dedup_gate.same(contents[0], contents[1], scaffold, self.settings.content_threshold)
                found = (hit[0], "content", hit[1]) if hit else None
            self.scores[pair] = found


def _dedup(store: Store, report: LexicalReport, dirty: set[int], left: list[tuple[int, int]],
           settings: DedupSettings, thresholds: dict[str, float | None], scaffolds: dict[str, Scaffold],
           cancel: Cancel) -> bool:
    """Rebuild the duplicate clusters that new or changed examples touch (all of them on a full run)."""
    ids, hashes, clusters, keys, ckeys = store.pool_sketches(sketch_version(settings))
    if len(ids) == 0:
        store.set_clusters([(None, ex_id) for ex_id, _ in left])
        return True
    facts: dict[int, tuple[str, str, bool, float, str]] = {}

    def know(rows) -> None:
        facts.update(store.dedup_facts([int(ids[r]) for r in rows if int(ids[r]) not in facts]))

    pairs = _Pairs(store, ids, settings, thresholds, scaffolds)
    if report.full:
        region = np.ones(len(ids), dtype=bool)
    else:
        focus = np.isin(ids, np.fromiter(dirty, dtype=np.int64, count=len(dirty))) | \
            np.isin(clusters, np.array([c for _, c in left], dtype=np.int64))
        near = {p for p in band_pairs(keys, focus) if focus[p[0]] or focus[p[1]]}
        same = key_pairs(ckeys, focus, CONTENT_BUCKET, CONTENT_SHARED)
        pairs.confirm(near, same)
        partner = np.isin(hashes, hashes[focus])  # the same match key
        for (a, b), found in pairs.scores.items():
            if found:
                partner[a] = partner[b] = True
        touched = np.array(sorted(set(clusters[focus | partner].tolist()) - {0}), dtype=np.int64)
        region = focus | partner | np.isin(clusters, touched)
    if cancel.is_set():
        return False
    if report.full:
        near, same = band_pairs(keys), key_pairs(ckeys, None, CONTENT_BUCKET, CONTENT_SHARED)
    else:  # all pairs among the region's rows: found among those rows alone
        inside = np.flatnonzero(region)
        near = {(int(inside[a]), int(inside[b])) for a, b in band_pairs(keys[inside])}
        same = {(int(inside[a]), int(inside[b])) for a, b in key_pairs(ckeys[inside], None, CONTENT_BUCKET,
                                                                        CONTENT_SHARED)}
    pairs.confirm(near, same)
    scores = {p: v for p, v in pairs.scores.items() if v and region[p[0]] and region[p[1]]}
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
    chosen = store.keeper_choices()  # the curator's keepers come before the gate's (a few: one indexed read)
    # cluster the linked rows: exact keys first, then confirmed pairs (as `dedup.dedup` does)
    index = {int(r): i for i, r in enumerate(rows)}
    items: list[DedupItem] = []
    for r in rows:
        kind, state, failed, judge, family = facts[int(ids[r])]
        items.append(DedupItem(id=int(ids[r]), key=str(hashes[r]), seed=kind == "seed", accepted=state == "accepted",
                               failed_elsewhere=failed, judge_score=judge, threshold=thresholds.get(family),
                               chosen=chosen.get(int(ids[r]), 0)))
    uf = UnionFind()
    evidence: dict[int, tuple] = {}
    first_of: dict[int, int] = {}
    for i, r in enumerate(rows):
        h = int(hashes[r])
        if h in first_of:
            uf.union(first_of[h], i)
            evidence[i] = (first_of[h], 1.0, "exact", {})
        else:
            first_of[h] = i
    for (a, b), (score, how, shared) in sorted(scores.items()):
        ia, ib = index[a], index[b]
        uf.union(ia, ib)
        evidence.setdefault(ib, (ia, score, how, shared))
        evidence.setdefault(ia, (ib, score, how, shared))
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
    current = store.current_verdicts_of(dedup_gate.NAME, [ex_id for ex_id, _ in verdicts], ("keeper", "matched"))
    changed = []
    for ex_id, v in verdicts:
        _count(report, dedup_gate.NAME, v.verdict)
        if verdict_changed(current.get(ex_id), v, "keeper", "matched"):
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


def _text(row: SketchText) -> Text:
    return Text(row.id, row.key, row.question, row.family, Content.from_json(row.content) if row.content else None)


def checked_marks(eval_set: str, scaffolds: dict[str, Scaffold]) -> dict[str, str]:
    """What a candidate of each family is checked against: the eval set and its family's scaffold."""
    return {family: f"{family}|{eval_set}|{s.fingerprint()}" for family, s in scaffolds.items()}


def _decontaminate(store: Store, report: LexicalReport, dedup_settings: DedupSettings, settings: DecontamSettings,
                   scaffolds: dict[str, Scaffold], cancel: Cancel) -> bool:
    """Check every candidate not yet checked against the current eval set and its family's scaffold,
    `CHECK_BATCH` at a time."""
    evals = [_text(row) for row in store.eval_sketches(sketch_version(dedup_settings))]
    eval_set = decontam_gate.fingerprint(evals, settings)
    marks = checked_marks(eval_set, scaffolds)
    after = 0
    while not cancel.is_set():
        todo = store.decontam_todo(sorted(marks.values()), CHECK_BATCH, after)
        if not todo:
            return True
        candidates = [_text(row) for row in todo]
        verdicts = decontaminate(candidates, evals, settings, scaffolds, eval_set=eval_set)
        ids = [c.id for c in candidates]
        current = store.current_verdicts_of(decontam_gate.NAME, ids, ("eval_set", "eval_items"))
        changed = []
        for ex_id in ids:
            v = verdicts[ex_id]
            _count(report, decontam_gate.NAME, v.verdict)
            if verdict_changed(current.get(ex_id), v, "eval_set", "eval_items"):
                changed.append((ex_id, decontam_gate.NAME, decontam_gate.VERSION, v.verdict, v.reason, v.score,
                                v.detail))
        for start in range(0, len(changed), WRITE_BATCH):
            store.insert_verdicts(changed[start:start + WRITE_BATCH])
        checked = [(marks.get(c.family, f"{c.family}|{eval_set}|"), c.id) for c in candidates]
        for start in range(0, len(checked), WRITE_BATCH):
            store.set_checked_eval_set(checked[start:start + WRITE_BATCH])
        report.checked += len(ids)
        report.written += len(changed)
        after = ids[-1]
    return False


def _count(report: LexicalReport, gate: str, verdict: str) -> None:
    report.counts.setdefault(gate, {}).setdefault(verdict, 0)
    report.counts[gate][verdict] += 1
