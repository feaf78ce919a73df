"""The triage predictor: P(reject) of a pending candidate, learnt from the curator's own decisions.

It reads only what curator already stores: each gate's verdict and score (the judge's among them), the
family, the length and the sentence vector (reduced to a few principal components). The model is
scikit-learn's `HistGradientBoostingClassifier`: missing values (a gate that did not run, no vector)
are native to it, thresholds such as "judge below 0.6" or "longer than 1,500 characters" are what
trees learn, and it fits 10,000 rows in under half a second on one thread (one: OpenMP's spin-waiting makes
two threads erratic when the other core is busy, as it is beside the app).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from curator.store.predictions import FeatureRow

MIN_DECISIONS = 50  # decided candidates before the first model (both outcomes among them)
MIN_EACH = 5  # of each outcome
TRAIN_CAP = 10_000  # the latest decisions a model learns from
COMPONENTS = 8  # principal components of the sentence vectors
_VERDICT = {"pass": 0.0, "flag": 1.0, "fail": 2.0}


def parse_gates(text: str | None) -> dict[str, tuple[float, float]]:
    """`gate=verdict=score;...` (the store's `FeatureRow.gates`) as gate -> (verdict code, score or nan)."""
    out: dict[str, tuple[float, float]] = {}
    for part in (text or "").split(";"):
        if not part:
            continue
        gate, verdict, score = part.split("=", 2)
        out[gate] = (_VERDICT.get(verdict, np.nan), float(score) if score else np.nan)
    return out


@dataclass
class Features:
    """The columns learnt from the training rows (gates, families) and the vectors' principal axes."""

    gates: list[str] = field(default_factory=list)
    families: list[str] = field(default_factory=list)
    mean: np.ndarray | None = None
    axes: np.ndarray | None = None  # COMPONENTS x dim
    keep: np.ndarray | None = None  # the columns the model reads (those known in some training row)

    @classmethod
    def learn(cls, rows: Sequence[FeatureRow], vectors: dict[int, bytes]) -> "Features":
        gates = sorted({g for r in rows for g in parse_gates(r.gates)})
        families = sorted({r.family for r in rows})
        features = cls(gates, families)
        matrix = _vectors(rows, vectors)
        known = matrix[~np.isnan(matrix[:, 0])] if matrix.shape[1] else matrix[:0]
        if len(known) >= 2 * COMPONENTS and matrix.shape[1] > COMPONENTS:
            from sklearn.decomposition import PCA

            pca = PCA(n_components=COMPONENTS, random_state=0).fit(known)
            features.mean, features.axes = pca.mean_.astype(np.float32), pca.components_.astype(np.float32)
        return features

    @property
    def names(self) -> list[str]:
        return (["family", "length"] + [f"{g}:verdict" for g in self.gates] + [f"{g}:score" for g in self.gates]
                + [f"pc{i}" for i in range(0 if self.axes is None else len(self.axes))])

    def matrix(self, rows: Sequence[FeatureRow], vectors: dict[int, bytes]) -> np.ndarray:
        """One row of floats per example (nan where unknown); the family as its index (categorical)."""
        width = 2 + 2 * len(self.gates) + (0 if self.axes is None else len(self.axes))
        out = np.full((len(rows), width), np.nan, dtype=np.float32)
        family_index = {f: i for i, f in enumerate(self.families)}
        gate_index = {g: i for i, g in enumerate(self.gates)}
        n_gates = len(self.gates)
        for r, row in enumerate(rows):
            out[r, 0] = family_index.get(row.family, np.nan)
            out[r, 1] = row.length
            for gate, (verdict, score) in parse_gates(row.gates).items():
                if (g := gate_index.get(gate)) is not None:
                    out[r, 2 + g] = verdict
                    out[r, 2 + n_gates + g] = score
        if self.axes is not None:
            matrix = _vectors(rows, vectors)
            out[:, 2 + 2 * n_gates:] = (matrix - self.mean) @ self.axes.T  # nan rows stay nan
        return out


def _vectors(rows: Sequence[FeatureRow], vectors: dict[int, bytes]) -> np.ndarray:
    dim = next((len(v) // 2 for v in vectors.values()), 0)
    matrix = np.full((len(rows), dim), np.nan, dtype=np.float32)
    for r, row in enumerate(rows):
        if (blob := vectors.get(row.id)) is not None and len(blob) == 2 * dim:
            matrix[r] = np.frombuffer(blob, dtype=np.float16)
    return matrix


@dataclass
class Predictor:
    """A fitted model and the features it reads."""

    features: Features
    model: object
    trained_on: int
    rejects: int
    name: str

    def p_reject(self, rows: Sequence[FeatureRow], vectors: dict[int, bytes]) -> np.ndarray:
        if not rows:
            return np.zeros(0)
        with threadpool_limits(1):
            return self.model.predict_proba(self.features.matrix(rows, vectors)[:, self.features.keep])[:, 1]


def enough(labels: Sequence[int]) -> bool:
    """Whether the decisions are enough to learn from: `MIN_DECISIONS`, with `MIN_EACH` of each outcome."""
    rejects = sum(labels)
    return len(labels) >= MIN_DECISIONS and rejects >= MIN_EACH and len(labels) - rejects >= MIN_EACH


def train(rows: Sequence[FeatureRow], labels: Sequence[int], vectors: dict[int, bytes], *,
          seed: int = 0) -> Predictor:
    """Fit a predictor on decided rows (label 1: rejected); ValueError when they are not `enough`."""
    if not enough(labels):
        raise ValueError(f"the predictor needs {MIN_DECISIONS} decisions with {MIN_EACH} accepts and {MIN_EACH} "
                         f"rejects (there are {len(labels)}, {sum(labels)} rejects)")
    from sklearn.ensemble import HistGradientBoostingClassifier

    features = Features.learn(rows, vectors)
    x = features.matrix(rows, vectors)
    features.keep = ~np.all(np.isnan(x), axis=0)  # a column never known (a score a gate never gives) is dropped
    x = x[:, features.keep]
    y = np.asarray(labels, dtype=np.int8)
    categorical = np.zeros(x.shape[1], dtype=bool)
    categorical[0] = bool(features.keep[0])
    model = HistGradientBoostingClassifier(
        max_iter=150, learning_rate=0.08, max_leaf_nodes=15, min_samples_leaf=max(5, len(y) // 100),
        l2_regularization=1.0, categorical_features=categorical, early_stopping=False, random_state=seed)
    with threadpool_limits(1):  # OpenMP's spin-waits make two threads erratic beside other work (0.1 s → 30 s+)
        model.fit(x, y)
    digest = hashlib.blake2b(np.asarray([r.id for r in rows], dtype=np.int64).tobytes() + y.tobytes(),
                             digest_size=6).hexdigest()
    return Predictor(features, model, len(y), int(y.sum()), f"hgb-{len(y)}-{digest}")


def auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """The area under the ROC curve (ties counted half)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def kappa(labels: Sequence[int], decisions: Sequence[int]) -> float:
    """Cohen's κ between the curator's decisions and another's."""
    from sklearn.metrics import cohen_kappa_score

    return float(cohen_kappa_score(labels, decisions))


def work_saved(labels: Sequence[int], scores: Sequence[float], recall: float = 0.95) -> float:
    """WSS@recall: the share of candidates a curator need not look at, reviewing likeliest rejects first,
    while `recall` of the rejects is still seen. Candidates of equal score are seen in random order: the
    expected count (k of r rejects among g tied candidates take k(g+1)/(r+1) looks on average)."""
    y = np.asarray(labels)
    s = np.asarray(scores, dtype=float)
    needed = int(np.ceil(recall * y.sum()))
    if needed == 0:
        return 1.0
    seen = 0.0
    for score in np.unique(s)[::-1]:
        group = y[s == score]
        rejects = int(group.sum())
        if rejects >= needed:
            seen += needed * (len(group) + 1) / (rejects + 1)
            break
        seen += len(group)
        needed -= rejects
    return (len(y) - seen) / len(y)
