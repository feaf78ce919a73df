"""Schema 4 on a database written by the previous version: every row gets a stable uid, lineage and
supersession follow the revisions, current verdicts and attempts are filled from the logs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from curator.store import LATEST_VERSION, Store

MESSAGES = json.dumps([{"role": "user", "content": "پرسش"}, {"role": "assistant", "content": "پاسخ"}])


def v3_database(path: Path) -> None:
    with Store(path, migrate=False) as store:
        store.migrate(3)
    conn = sqlite3.connect(path, isolation_level=None)
    stamp = "2026-01-01T00:00:00.000000Z"
    example = ("INSERT INTO examples (id, kind, family, source_type, messages, state, key_hash, created_at, "
               "parent_id, metadata) VALUES (?,?,?,?,?,?,?,?,?,?)")
    conn.execute(example, (1, "candidate", "f", "generated", MESSAGES, "gated", "k1", stamp, None, "{}"))
    conn.execute(example, (2, "revision", "f", "revision", MESSAGES, "new", "k2", stamp, 1,
                           '{"revised_by": "curator"}'))
    conn.execute(example, (3, "revision", "f", "revision", MESSAGES, "new", "k3", stamp, 2,
                           '{"revised_by": "curator"}'))
    conn.execute(example, (4, "candidate", "f", "generated", MESSAGES, "gated", "k4", stamp, None, "{}"))
    verdict = ("INSERT INTO gate_verdicts (example_id, gate, gate_version, verdict, reason, detail, created_at) "
               "VALUES (?,?,?,?,?,?,?)")
    conn.execute(verdict, (1, "dedup", "1", "pass", "ok", "{}", stamp))
    conn.execute(verdict, (1, "dedup", "1", "fail", "duplicate_of", "{}", stamp))
    conn.execute(verdict, (4, "length", "1", "fail", "too_long", "{}", stamp))
    conn.execute("INSERT INTO gate_audits (example_id, gate, gate_verdict, curator_verdict, created_at) "
                 "VALUES (4, 'length', 'fail', 'pass', ?)", (stamp,))
    conn.execute("INSERT INTO jobs (idem_key, kind, state, attempts, last_error, raw_response, created_at, "
                 "updated_at) VALUES ('j', 'generate', 'failed', 3, 'boom', '{\"raw\": 1}', ?, ?)", (stamp, stamp))
    conn.close()


def test_a_schema_3_database_is_upgraded_with_lineage_and_current_verdicts(db_file: Path) -> None:
    v3_database(db_file)
    with Store(db_file) as store:
        assert store.version == LATEST_VERSION
        rows = {e.id: e for e in store.examples()}
        assert len({e.uid for e in rows.values()}) == 4 and all(e.uid for e in rows.values())
        assert rows[2].lineage == rows[3].lineage == rows[1].uid
        assert rows[4].lineage == rows[4].uid
        assert rows[1].superseded_by == 2 and rows[2].superseded_by == 3 and rows[3].superseded_by is None
        current = store.current_verdicts(with_audits=True)
        assert current[1]["dedup"]["verdict"] == "fail"
        assert current[4]["length"]["verdict"] == "pass" and current[4]["length"]["audited"]
        attempts = store.attempts_of(store.jobs()[0].id)
        assert [(a["attempt"], a["error"]) for a in attempts] == [(3, "boom")]


def test_current_verdicts_follow_every_new_verdict_and_audit(store: Store) -> None:
    from curator.models import Example, Message

    ex = store.add_example(Example(family="f", messages=[Message(role="user", content="پرسش")], key_hash="k"))
    store.insert_verdict(ex, "length", "1", "pass", "ok")
    store.insert_verdict(ex, "length", "1", "fail", "too_long")
    assert store.current_verdicts([ex])[ex]["length"]["verdict"] == "fail"
    store.add_audit(ex, "length", "fail", "pass")
    assert store.current_verdicts([ex], with_audits=True)[ex]["length"]["verdict"] == "pass"
    store.insert_verdict(ex, "length", "2", "fail", "too_long")
    current = store.current_verdicts([ex], with_audits=True)[ex]["length"]
    assert current["version"] == "2" and current["verdict"] == "pass"  # the curator's audit still stands
