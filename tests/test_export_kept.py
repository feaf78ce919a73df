"""What a large export keeps for the next one, beside the versions:

- the curation log's entries (`exports/.curation_log.cache`): the process that makes a large log keeps
  each entry with its row's stamp, and the next export copies the entry of every row whose stamp is
  unchanged;
- what the export derives from an accepted row's conversation (`exports/.rows.cache`: its TRL line but
  for `verified`, why it cannot train, its lengths), by id and uid, so a large export reads its rows
  without their messages.

Whatever changed since (decisions, an undo, verdicts, a revision, a new row) is made anew, so every file
is byte for byte the one made without them; a cache made by other code, or damaged, is not used."""

from __future__ import annotations

import json
import struct
from datetime import date
from pathlib import Path

import pytest

from curator.config import MeaningSettings
from curator.export import curation_log, row_facts
from curator.export.mix import stream_rows
from curator.families import load_families
from curator.models import Message
from curator.services.export import export_dataset
from curator.services.gating.runner import GateReport, run_set_level, update_changed_status
from curator.services.triage import decide, save_revision, undo
from curator.store import Store
from curator.target_mix import CoverageMap
from test_export_bytes import build as build_pinned

ROOT = Path(__file__).resolve().parents[1]
MARK = b'{"from the cache":true}'


def build(path: Path) -> None:
    """The pinned store, every row with a uid (as the store gives each row it inserts)."""
    build_pinned(path)
    with Store(path) as store, store.transaction():
        store.conn.execute("UPDATE examples SET uid = 'r' || id WHERE uid IS NULL")


def _export(store: Store, out_dir: Path, *, in_child: bool) -> dict[str, bytes]:
    """Every file of a new export: made as a large one is (the log by a second process, the rows read
    without their messages) or as a small one is."""
    cmap = CoverageMap.load(ROOT / "prompts" / "coverage.toml", load_families(ROOT / "prompts").families)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(curation_log, "IN_CHILD_FROM", 0 if in_child else 10**9)
        patch.setattr(curation_log, "SAY_EVERY", 1)  # (a word a record: the log is joined as it is spooled)
        result = export_dataset(store, cmap, out_dir=out_dir, seed=3, today=date(2025, 1, 2),
                                meaning_settings=MeaningSettings(enabled=False))
    assert not result.reused
    return {f.name: f.read_bytes() for f in sorted(result.path.iterdir())}


def _log(store: Store, out_dir: Path, *, in_child: bool) -> list[bytes]:
    return _export(store, out_dir, in_child=in_child)[curation_log.NAME].splitlines()


def _rewrite(cache: Path, record: struct.Struct, lengths: tuple[int, ...], mark) -> int:
    """Rewrite a cache (each record a header, whose fields at `lengths` are the lengths of the byte strings
    that follow it), each record but the first through `mark(id, parts) -> parts` (None: as it is);
    how many changed."""
    data, out, at, changed = cache.read_bytes(), [], 0, 0
    while at < len(data):
        fields = list(record.unpack_from(data, at))
        at += record.size
        parts = []
        for i in lengths:
            parts.append(data[at:at + fields[i]])
            at += fields[i]
        new = mark(fields[0], parts) if fields[0] != -1 else None
        if new is not None:
            parts, changed = new, changed + 1
            for i, part in zip(lengths, parts):
                fields[i] = len(part)
        out.append(record.pack(*fields) + b"".join(parts))
    cache.write_bytes(b"".join(out))
    return changed


def _mark_every_entry(cache: Path) -> int:
    """Rewrite the log's cache so that each kept entry says it came from the cache (its stamp unchanged)."""
    return _rewrite(cache, struct.Struct("<qIIII"), (1, 2, 3, 4),  # (stamp, head, tail, why; no stamp: not kept)
                    lambda _, parts: [parts[0], MARK, *parts[2:]] if parts[0] else None)


def _mark_every_line(cache: Path) -> int:
    """Rewrite the rows' cache so that each kept TRL line says it came from the cache."""
    return _rewrite(cache, struct.Struct("<qIIiiiI"), (1, 2, 6),  # (uid, why, line)
                    lambda example_id, parts: [*parts[:2], b'{"from the cache":%d,"verified":' % example_id])


def _change_things(store: Store) -> set[int]:
    """Decisions, an undo, a revision and a re-gated new row: the ids whose entries must change."""
    pending = [r[0] for r in store.conn.execute(
        "SELECT id FROM examples WHERE kind = 'candidate' AND state = 'gated' AND gate_status = 'pass' ORDER BY id")]
    accepted = [r[0] for r in store.conn.execute(
        "SELECT id FROM examples WHERE kind = 'candidate' AND state = 'accepted' AND superseded_by IS NULL "
        "ORDER BY id")]
    decide(store, pending[0], "accept", seconds=2.0)
    decide(store, accepted[0], "reject", reason="wrong", seconds=1.0)
    undo(store, example_id=accepted[1])
    revised = store.example(accepted[2])
    new_id = save_revision(store, accepted[2], [Message(role="user", content=revised.messages[0].content),
                                                Message(role="assistant", content="پاسخ تازه و درست.")])
    changed = {pending[0], accepted[0], accepted[1], accepted[2]}
    with store.transaction():
        store.conn.execute(
            "INSERT INTO examples (kind, family, task_type, difficulty, source_type, messages, model, key_hash, "
            "created_at) VALUES ('candidate', 'passage_qa', 'factual_question', 'elementary', 'generated', ?, 'm', "
            "'new', ?)",
            (json.dumps([{"role": "user", "content": "یک پرسش تازه؟"},
                         {"role": "assistant", "content": "یک پاسخ تازه."}], ensure_ascii=False),
             "2025-01-02T03:04:05+00:00"))
    run_set_level(store, GateReport())  # (new verdicts for the new rows)
    update_changed_status(store)
    fresh = {r[0] for r in store.conn.execute("SELECT id FROM examples WHERE id >= ?", (min(new_id, 10**9),))}
    return changed | fresh


def test_an_unchanged_row_is_copied_from_the_cache_and_a_changed_one_made_anew(tmp_path: Path) -> None:
    build(tmp_path / "fixed.db")
    exports = tmp_path / "exports"
    with Store(tmp_path / "fixed.db") as store:
        first = _log(store, exports, in_child=True)
        cache = exports / curation_log.CACHE
        assert _mark_every_entry(cache) > 0.8 * len(first)  # (all but the entries holding evidence)
        changed = _change_things(store)
        second = _log(store, exports, in_child=True)
        plain = _log(store, tmp_path / "plain", in_child=False)
    marked = {json.loads(line)["id"] for line in second if line.startswith(MARK[:-1])}
    made = {json.loads(line)["id"] for line in plain}
    assert marked and not marked & changed
    assert {json.loads(line)["id"] for line in second} == made
    # every entry not from the cache is byte for byte the one made without a cache
    assert [line for line in second if not line.startswith(MARK[:-1])] == \
        [line for line in plain if json.loads(line)["id"] not in marked]


def test_the_log_made_with_a_cache_is_the_log_made_without(tmp_path: Path) -> None:
    build(tmp_path / "fixed.db")
    with Store(tmp_path / "fixed.db") as store:
        _log(store, tmp_path / "exports", in_child=True)
        _change_things(store)
        warm = _log(store, tmp_path / "exports", in_child=True)
        cold = _log(store, tmp_path / "plain", in_child=False)
    assert warm == cold


def test_a_large_export_writes_the_files_a_small_one_does_first_and_after_changes(tmp_path: Path) -> None:
    build(tmp_path / "fixed.db")
    with Store(tmp_path / "fixed.db") as store:
        first = _export(store, tmp_path / "exports", in_child=True)
        assert first == _export(store, tmp_path / "plain-1", in_child=False)
        assert (tmp_path / "exports" / row_facts.NAME).is_file()
        _change_things(store)
        second = _export(store, tmp_path / "exports", in_child=True)
        assert second == _export(store, tmp_path / "plain-2", in_child=False)
    assert first["train.jsonl"] != second["train.jsonl"]


def test_an_accepted_row_seen_before_is_written_from_the_cache_and_a_new_one_from_its_messages(
        tmp_path: Path) -> None:
    build(tmp_path / "fixed.db")
    exports = tmp_path / "exports"
    with Store(tmp_path / "fixed.db") as store:
        first = _export(store, exports, in_child=True)
        assert _mark_every_line(exports / row_facts.NAME) > 50
        _change_things(store)
        second = _export(store, exports, in_child=True)["train.jsonl"].splitlines()
        plain = _export(store, tmp_path / "plain", in_child=False)["train.jsonl"].splitlines()
        seeds = {r[0] for r in store.conn.execute("SELECT id FROM examples WHERE kind = 'seed'")}  # (read whole)
    seen = {json.loads(line)["id"] for line in first["train.jsonl"].splitlines()} - seeds
    marked = [json.loads(line)["from the cache"] for line in second if line.startswith(b'{"from the cache"')]
    fresh = [line for line in second if not line.startswith(b'{"from the cache"')]
    assert marked and set(marked) <= seen
    assert fresh and all(json.loads(line)["id"] not in seen for line in fresh)
    assert any(json.loads(line)["id"] not in seeds for line in fresh)  # (a row new to the mix)
    assert fresh == [line for line in plain if json.loads(line)["id"] not in set(marked)]


@pytest.mark.parametrize("damage", ["truncated", "other code", "empty", "another store with the same ids"])
def test_a_damaged_or_foreign_cache_is_not_used(tmp_path: Path, damage: str) -> None:
    build(tmp_path / "fixed.db")
    exports = tmp_path / "exports"
    with Store(tmp_path / "fixed.db") as store:
        _export(store, exports, in_child=True)
        for cache, mark in ((exports / curation_log.CACHE, _mark_every_entry),
                            (exports / row_facts.NAME, _mark_every_line)):
            mark(cache)
            data = cache.read_bytes()
            if damage == "truncated":
                cache.write_bytes(data[:-5])
            elif damage == "other code":  # (the header's key: what made it)
                cache.write_bytes(data.replace(data[40:48], b"x" * 8, 1))
            elif damage == "empty":
                cache.write_bytes(b"")
        if damage == "another store with the same ids":
            with store.transaction():
                store.conn.execute("UPDATE examples SET uid = 'other ' || id")
        _change_things(store)
        large = _export(store, exports, in_child=True)
        small = _export(store, tmp_path / "plain", in_child=False)
    assert large == small
    assert b"from the cache" not in large["train.jsonl"] + large[curation_log.NAME]


def test_rows_with_the_same_verdict_share_one_dict_and_keep_their_own_verdict_ids(tmp_path: Path) -> None:
    """An export reads 100k+ rows, most with the same few verdicts: each is read once, and each row keeps
    the ids of its own verdicts, which make its log stamp (the store's, the same text)."""
    build(tmp_path / "store.db")
    with Store(tmp_path / "store.db") as store:
        rows = list(stream_rows(store, "considered"))
        alike: dict[str, list[dict]] = {}
        for r in rows:
            for gate, v in r.verdicts.items():
                alike.setdefault(gate + json.dumps(v, sort_keys=True), []).append(v)
        assert max(map(len, alike.values())) > 10
        assert all(v is same[0] for same in alike.values() for v in same), "one dict for one verdict"
        assert len({r.verdict_ids for r in rows}) == len(rows), "each row its own verdicts' ids"
        decisions = store.export_decisions([r.id for r in rows])
        stamps = dict(store.log_stamps("considered"))
        assert {r.id: curation_log.stamp(r.data, r.verdict_ids, decisions.get(r.id, ())).decode() for r in rows} \
            == stamps
        for r in rows:
            assert [v["verdict"] for v in r.verdicts.values()] == [
                store.conn.execute("SELECT verdict FROM gate_verdicts WHERE id = ?", (i,)).fetchone()[0]
                for i in r.verdict_ids], "the ids in gate order, as the verdicts"
