"""The queue that learns: train the triage predictor on the curator's decisions and estimate every
pending candidate's P(reject) (`curator.predictor`). The app runs `refresh` in a worker whenever enough
new decisions have arrived; `curator triage predict` runs it from the command line."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from curator import predictor
from curator.store import Store

RETRAIN_EVERY = 25  # new decisions before the app retrains
CHANGED = 0.005  # an estimate that moved less is not rewritten


@dataclass
class Refresh:
    """What a refresh did: the model's name, what it learnt from, how many estimates it wrote, and the
    seconds of each step (read, fit, predict, write)."""

    name: str | None
    trained_on: int
    rejects: int
    predicted: int
    seconds: dict[str, float] = field(default_factory=dict)
    why_not: str | None = None  # set when there was not enough to learn from

    def summary(self) -> str:
        if self.name is None:
            return f"predictor: not trained ({self.why_not})"
        return (f"predictor {self.name}: learnt from {self.trained_on:,} decisions ({self.rejects:,} rejects), "
                f"estimated {self.predicted:,} pending candidates in {sum(self.seconds.values()):.2f} s")


def refresh(store: Store, *, cap: int = predictor.TRAIN_CAP, write: bool = True) -> Refresh:
    """Train on the latest `cap` decisions and estimate every pending candidate (kept in the store)."""
    clock = time.perf_counter()
    labelled = dict(store.decided_for_training(cap))
    labels = list(labelled.values())
    if not predictor.enough(labels):
        return Refresh(None, len(labels), sum(labels), 0,
                       why_not=f"{len(labels)} decisions, {sum(labels)} rejects; it needs {predictor.MIN_DECISIONS} "
                               f"with {predictor.MIN_EACH} of each")
    rows = store.feature_rows(list(labelled))
    pending = store.feature_rows(store.pending_for_prediction())
    vectors = store.main_vectors([r.id for r in rows] + [r.id for r in pending])
    seconds = {"read": time.perf_counter() - clock}
    clock = time.perf_counter()
    model = predictor.train(rows, [labelled[r.id] for r in rows], vectors)
    seconds["fit"] = time.perf_counter() - clock
    clock = time.perf_counter()
    estimates = model.p_reject(pending, vectors)
    seconds["predict"] = time.perf_counter() - clock
    clock = time.perf_counter()
    if write:  # only the estimates that moved (a retrain rewrites few rows), and none of a decided candidate
        before = store.predictions()
        moved = [(r.id, float(p)) for r, p in zip(pending, estimates)
                 if abs(before.get(r.id, -1.0) - float(p)) >= CHANGED]
        now_pending = {r.id for r in pending}
        store.put_predictions(model.name, moved, drop=[i for i in before if i not in now_pending])
    seconds["write"] = time.perf_counter() - clock
    return Refresh(model.name, model.trained_on, model.rejects, len(pending), seconds)


def trained_on(model_name: str) -> int:
    """How many decisions a model learnt from (its name says: `hgb-<n>-<digest>`)."""
    try:
        return int(model_name.split("-")[1])
    except (IndexError, ValueError):
        return 0


def stale(store: Store) -> bool:
    """Whether the estimates are missing or `RETRAIN_EVERY` decisions behind (and there is enough to learn)."""
    accepted, rejected = store.decision_mark()
    if accepted < predictor.MIN_EACH or rejected < predictor.MIN_EACH or accepted + rejected < predictor.MIN_DECISIONS:
        return False
    name = store.prediction_model()
    return name is None or abs(min(accepted + rejected, predictor.TRAIN_CAP) - trained_on(name)) >= RETRAIN_EVERY


def current(store: Store) -> Refresh:
    """The estimates as they stand (no training)."""
    name = store.prediction_model()
    return Refresh(name, trained_on(name) if name else 0, 0, store.count_predictions() if name else 0,
                   why_not=None if name else "no estimates yet")


def decisions_mark(store: Store) -> int:
    """How many decided candidates there are (the app retrains every `RETRAIN_EVERY` more)."""
    return sum(store.decision_mark())


def estimates(store: Store, example_ids: list[int]) -> dict[int, float]:
    """example id -> the latest P(reject), for those that have one."""
    return store.predictions(example_ids)


def label(p_reject: float) -> str:
    """`predicted: reject 0.91` / `predicted: accept 0.84` (the likelier decision and its probability)."""
    return f"predicted: reject {p_reject:.2f}" if p_reject >= 0.5 else f"predicted: accept {1 - p_reject:.2f}"
