"""The queue that learns: the predictor waits for enough decisions of both kinds, learns a curator's rule
from the gates' verdicts, the judge's score and the length, and writes an estimate for every pending
candidate that the queues can be ordered and filtered by. No figure here is a model's exact float."""

from __future__ import annotations

import random

import pytest

from curator import predictor
from curator.models import Example, Message
from curator.services import predict, triage
from curator.services.gating.runner import update_status
from curator.services.triage import Filters
from curator.store import Store


def fill(store: Store, n: int, seed: int = 1) -> dict[int, int]:
    """n candidates; the curator's rule: reject when the judge scores under 0.5 or the dedup gate fails."""
    rng = random.Random(seed)
    truth = {}
    for _ in range(n):
        judge, dup = round(rng.random(), 3), rng.random() < 0.2
        example_id = store.add_example(Example(kind="candidate", family="grammar_tutor", messages=[
            Message(role="user", content="پرسش"), Message(role="assistant", content="پاسخ " * rng.randint(3, 40))]))
        store.insert_verdicts([(example_id, "format", "1", "pass", "ok", None, {}),
                               (example_id, "judge", "1", "pass" if judge >= 0.5 else "flag", "j", judge, {}),
                               (example_id, "dedup", "1", "fail" if dup else "pass", "d", None, {})])
        truth[example_id] = int(judge < 0.5 or dup)
    update_status(store, list(truth))
    return truth


def test_it_waits_for_enough_decisions_of_both_kinds(store: Store) -> None:
    truth = fill(store, 80)
    for example_id in list(truth)[:60]:
        triage.decide(store, example_id, "accept")
    refresh = predict.refresh(store)
    assert refresh.name is None and "0 rejects" in refresh.why_not
    assert store.predictions() == {}
    assert not predictor.enough([0] * 60) and not predictor.enough([0, 1] * 10) and predictor.enough([0, 1] * 25)


def test_it_learns_the_curators_rule_and_estimates_every_pending_candidate(store: Store) -> None:
    truth = fill(store, 400)
    ids = list(truth)
    for example_id in ids[:200]:
        triage.decide(store, example_id, "reject" if truth[example_id] else "accept")
    refresh = predict.refresh(store)
    assert refresh.name and refresh.trained_on == 200 and refresh.predicted == 200
    estimates = store.predictions()
    assert set(estimates) == set(ids[200:]), "an estimate for each pending candidate, none for the decided"
    held = ids[200:]
    assert predictor.auc([truth[i] for i in held], [estimates[i] for i in held]) > 0.9
    likeliest = triage.queue_ids(store, order="reject")[:20]
    assert sum(truth[i] for i in likeliest) >= 18, "ordered by predicted reject, rejects come first"
    rejects = set(triage.queue_ids(store, filters=Filters.parse(["predicted=reject"])))
    assert rejects == {i for i in held if estimates[i] >= 0.5}
    assert predict.label(0.91) == "predicted: reject 0.91" and predict.label(0.16) == "predicted: accept 0.84"


def test_a_new_model_replaces_every_estimate_of_the_old(store: Store) -> None:
    truth = fill(store, 200)
    ids = list(truth)
    for example_id in ids[:100]:
        triage.decide(store, example_id, "reject" if truth[example_id] else "accept")
    first = predict.refresh(store)
    for example_id in ids[100:120]:
        triage.decide(store, example_id, "reject" if truth[example_id] else "accept")
    second = predict.refresh(store)
    assert first.name != second.name
    assert store.prediction_model() == second.name and set(store.predictions()) == set(ids[120:])


@pytest.mark.parametrize(("labels", "scores", "saved"), [
    ([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1], 0.5),  # the rejects first: half need no look
    ([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5], 0.0),  # all tied: 2 rejects among 4 take 2*5/3 looks on average
])
def test_work_saved_at_95_percent_recall(labels, scores, saved) -> None:
    assert predictor.work_saved(labels, scores) == pytest.approx(saved, abs=0.17)
