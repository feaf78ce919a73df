"""The predicates that say which rows are what, defined once (SQL fragments over `examples`).

These guard the private eval set: `EVAL` is every row that is or ever was a private eval item
(a superseded version of an eval seed stays guarded); `TRAINABLE_SEED` never matches one.
"""

# Candidates and revisions a curator may decide on: an edited original leaves the queues.
DECIDABLE = "kind IN ('candidate', 'revision') AND superseded_by IS NULL"
# What the gates look at: decidable rows not rejected.
ACTIVE = f"({DECIDABLE}) AND state != 'rejected'"
# Private eval items: imported eval items and eval seeds, every version.
EVAL = "((kind = 'seed' AND role = 'eval') OR kind = 'eval_item')"
# The current version of each seed.
CURRENT_SEED = "kind = 'seed' AND superseded_by IS NULL"
# Seeds that may be shown to the teacher (never eval).
FEWSHOT = f"{CURRENT_SEED} AND role = 'fewshot'"
# Hand-written rows that go to training: few-shot and polish seeds (never eval).
TRAINABLE_SEED = f"{CURRENT_SEED} AND role IN ('fewshot', 'polish')"
# What coverage counts and export considers from triage.
ACCEPTED = f"{DECIDABLE} AND state = 'accepted'"
# Passages of a finished import (an import in progress or interrupted is not visible).
VISIBLE_PASSAGE = "(source_id IS NULL OR source_id IN (SELECT id FROM sources WHERE complete = 1))"
# What the set-level gates compare: active candidates and current seeds that are not private eval items.
SET_POOL = f"({ACTIVE}) OR ({CURRENT_SEED} AND role != 'eval')"
