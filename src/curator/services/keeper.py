"""Making a duplicate the keeper: the curator says which example of a duplicate cluster is kept.

The dedup gates (`dedup` by words, `dedup_meaning` by meaning) keep one example of each cluster by a rule
(hand-written first, then accepted, ..., then the older: `gates.dedup`) and fail the others naming it.
`make_keeper` records the curator's choice as a decision (`keeper`, in the append-only decision log) and,
in the same transaction, appends the verdicts the gates would now give: this candidate passes as its
cluster's keeper, the former keeper and the others of the cluster fail naming it; their statuses follow.

The gates read the choice (`store.keeper_choices`): a keeper the curator chose ranks after a hand-written
seed and before everything else, a later choice before an earlier one, so a later `curator gate`
(incremental or whole) keeps it. A seed keeps its cluster whatever is chosen (a generated copy never
replaces a hand-written example), so that is refused. A former keeper already accepted keeps its state
(export now drops it as a duplicate): the result warns. A match of the private eval set has no keeper:
an eval item is never trained on, so there is nothing this candidate could be kept instead of.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from curator.errors import CuratorError
from curator.gates import dedup as dedup_gate
from curator.gates import meaning as meaning_gate
from curator.models import Decision
from curator.services.gating.runner import update_status
from curator.store import Store

DEDUP_GATES = {dedup_gate.NAME: dedup_gate.VERSION, meaning_gate.DEDUP: meaning_gate.VERSION}
DECONTAM_GATES = ("decontam", meaning_gate.DECONTAM)
NO_KEEPER = ("it matches a private eval item ({gates}): an eval item is never trained on, so there is no "
             "keeper to swap; reject or rewrite this candidate")


class KeeperError(CuratorError, ValueError):
    """This candidate cannot be made a keeper: unknown, not in the pool, not a duplicate, a leak of the
    eval set, or a duplicate of a hand-written seed."""


@dataclass
class KeeperSwap:
    """What `make_keeper` did: per dedup gate, the former keeper and the examples that now fail naming
    this one (the former keeper first); warnings the curator should see."""

    example_id: int
    decision_id: int
    former: dict[str, int] = field(default_factory=dict)
    failed: dict[str, list[int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = []
        for gate, keeper in self.former.items():
            others = len(self.failed[gate]) - 1
            parts.append(f"{gate}: #{keeper} {f'and {others} more now fail' if others else 'now fails'} naming it")
        return f"#{self.example_id} is now the keeper; " + "; ".join(parts)

    def lines(self) -> list[str]:
        return [self.summary(), *(f"warning: {w}" for w in self.warnings)]


@dataclass
class _Cluster:
    gate: str
    keeper: int
    own: dict  # this candidate's current verdict of the gate
    members: dict[int, dict]  # the others failed naming the keeper, this candidate included


def _plan(store: Store, example_id: int) -> list[_Cluster]:
    """The clusters whose keeper this candidate becomes, one per dedup gate that fails it; raises
    `KeeperError` saying why it cannot."""
    if not store.existing_ids([example_id]):
        raise KeeperError(f"no candidate #{example_id}")
    rows = store.status_rows([example_id])
    if not store.is_decidable(example_id) or (rows and rows[0][2] == "rejected"):
        raise KeeperError(f"#{example_id} is not in the pool the dedup gates compare: it is not a candidate, a "
                          "revision replaced it, or it was rejected")
    current = store.current_verdicts([example_id]).get(example_id, {})
    failing = {g: v for g, v in current.items() if g in DEDUP_GATES and v["verdict"] == "fail"
               and (v.get("detail") or {}).get("keeper") is not None}
    if not failing:
        leaks = [g for g in DECONTAM_GATES if (current.get(g) or {}).get("verdict") == "fail"]
        if leaks:
            raise KeeperError(f"#{example_id}: " + NO_KEEPER.format(gates=", ".join(leaks)))
        if any((v.get("detail") or {}).get("keeper") == example_id for g, v in current.items() if g in DEDUP_GATES):
            raise KeeperError(f"#{example_id} is already the keeper of its duplicates")
        raise KeeperError(f"#{example_id} is not a duplicate: no dedup gate fails it")
    clusters = []
    for gate, v in sorted(failing.items()):
        keeper = int(v["detail"]["keeper"])
        kinds = {r[0]: r[1] for r in store.status_rows([keeper])}
        if kinds.get(keeper) == "seed":
            raise KeeperError(f"#{example_id} is a copy of the hand-written seed #{keeper} ({gate}): a seed is "
                              "always kept, never replaced by a generated copy")
        clusters.append(_Cluster(gate, keeper, v, store.cluster_members(gate, keeper)))
    return clusters


def refusal(store: Store, example_id: int) -> str | None:
    """Why this candidate cannot be made the keeper of its duplicates (None: it can), without writing."""
    try:
        _plan(store, example_id)
    except KeeperError as exc:
        return str(exc)
    return None


def _former_keeper_verdict(cluster: _Cluster, chosen: int) -> tuple[str, float | None, dict]:
    """(reason, score, detail) for the former keeper: matched with the candidate it was found paired with
    (this one if it was, else another member that names it as its match, else this one with the
    evidence of this one's own link)."""
    own = cluster.own
    partner = chosen if own["detail"].get("matched") == cluster.keeper else next(
        (i for i, v in sorted(cluster.members.items()) if v["detail"].get("matched") == cluster.keeper), chosen)
    source = cluster.members.get(partner, own)
    detail = {k: source["detail"][k] for k in ("how", "shared", "settings") if k in source["detail"]}
    return source["reason"], source["score"], {**detail, "matched": partner}


def make_keeper(store: Store, example_id: int, note: str | None = None) -> KeeperSwap:
    """Make this duplicate the keeper of its cluster in every dedup gate that fails it, in one
    transaction: the curator's choice as a `keeper` decision (what the gates read from now on), this
    candidate's verdict pass, the former keeper and the cluster's other members failing naming it, the
    lexical cluster rows, and every status. Raises `KeeperError` (nothing written) when it cannot."""
    with store.transaction():
        clusters = _plan(store, example_id)
        former = ", ".join(f"#{c.keeper} ({c.gate})" for c in clusters)
        decision_id = store.add_decision(Decision(example_id=example_id, action="keeper",
                                                  note=note or f"kept instead of {former}"))
        swap = KeeperSwap(example_id, decision_id)
        rows, touched = [], {example_id}
        for c in clusters:
            version, members = DEDUP_GATES[c.gate], {**c.members}
            members.pop(example_id, None)
            size = len(members) + 2  # the others, the former keeper and this one
            settings = {"settings": c.own["detail"]["settings"]} if "settings" in c.own["detail"] else {}
            rows.append((example_id, c.gate, version, "pass", "ok", None,
                         {"cluster_size": size, "keeper": example_id, "chosen": True, **settings}))
            reason, score, detail = _former_keeper_verdict(c, example_id)
            rows.append((c.keeper, c.gate, version, "fail", reason, score,
                         {**detail, "keeper": example_id, "cluster_size": size}))
            for member, v in sorted(members.items()):
                rows.append((member, c.gate, version, "fail", v["reason"], v["score"],
                              {**v["detail"], "keeper": example_id, "cluster_size": size}))
            if c.gate == dedup_gate.NAME:  # the lexical gate's cluster rows: its keeper's id
                store.set_clusters([(example_id, i) for i in (example_id, c.keeper, *members)])
            swap.former[c.gate] = c.keeper
            swap.failed[c.gate] = [c.keeper, *sorted(members)]
            touched.update(swap.failed[c.gate])
        store.insert_verdicts(rows)
        update_status(store, sorted(touched))
        swap.warnings = _warnings(store, swap)
    return swap


def _warnings(store: Store, swap: KeeperSwap) -> list[str]:
    """The former keepers already accepted (their state is theirs to change), and what still fails
    this candidate."""
    warnings = []
    formers = sorted(set(swap.former.values()))
    states = {r[0]: r[2] for r in store.status_rows(formers)}
    for keeper in formers:
        if states.get(keeper) == "accepted":
            gates = ", ".join(g for g, k in swap.former.items() if k == keeper)
            warnings.append(f"#{keeper} is accepted and now a duplicate of #{swap.example_id} ({gates}): export "
                            f"drops it; reject it, or make it the keeper again (`curator candidates keeper {keeper}`)")
    current = store.current_verdicts([swap.example_id]).get(swap.example_id, {})
    leaks = [g for g in DECONTAM_GATES if (current.get(g) or {}).get("verdict") == "fail"]
    if leaks:
        warnings.append(f"#{swap.example_id} still fails {', '.join(leaks)}: it matches a private eval item, "
                        "which no keeper choice changes")
    return warnings
