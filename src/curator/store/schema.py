"""The schema as a list of forward migrations. `PRAGMA user_version` is the schema version.

Never edit a migration that has shipped: append a new one.
"""

MIGRATIONS: list[str] = [
    # 1: the first schema.
    """
    CREATE TABLE passages (
        id INTEGER PRIMARY KEY,
        source_path TEXT NOT NULL,
        source_line INTEGER,
        start INTEGER NOT NULL,
        "end" INTEGER NOT NULL,
        text TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE,
        tags TEXT NOT NULL DEFAULT '[]',
        quality TEXT NOT NULL DEFAULT 'medium' CHECK (quality IN ('high', 'medium', 'reject')),
        rules TEXT NOT NULL DEFAULT '[]',
        families TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL
    );
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        idem_key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        family TEXT,
        passage_id INTEGER REFERENCES passages(id),
        topic TEXT,
        template_hash TEXT,
        params TEXT NOT NULL DEFAULT '{}',
        state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'paused')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        raw_response TEXT,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cache_read_tokens INTEGER NOT NULL DEFAULT 0,
        cache_write_tokens INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL DEFAULT 0,
        batch_id TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE examples (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('candidate', 'seed', 'revision', 'eval_item')),
        role TEXT CHECK (role IN ('fewshot', 'eval', 'polish')),
        family TEXT NOT NULL,
        task_type TEXT,
        difficulty TEXT,
        topic TEXT,
        source_type TEXT NOT NULL,
        passage_id INTEGER REFERENCES passages(id),
        passage_start INTEGER,
        passage_end INTEGER,
        messages TEXT NOT NULL,
        tools TEXT,
        answer TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        parent_id INTEGER REFERENCES examples(id),
        job_id INTEGER REFERENCES jobs(id),
        job_item INTEGER,
        template_hash TEXT,
        model TEXT,
        state TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'gated', 'accepted', 'rejected')),
        gate_status TEXT CHECK (gate_status IN ('pass', 'flag', 'fail')),
        key_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (job_id, job_item)
    );
    CREATE UNIQUE INDEX examples_seed_key ON examples(key_hash) WHERE kind = 'seed';
    CREATE INDEX examples_key ON examples(key_hash);
    CREATE TABLE gate_verdicts (
        id INTEGER PRIMARY KEY,
        example_id INTEGER NOT NULL REFERENCES examples(id),
        gate TEXT NOT NULL,
        gate_version TEXT NOT NULL,
        verdict TEXT NOT NULL CHECK (verdict IN ('pass', 'flag', 'fail')),
        score REAL,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL
    );
    CREATE INDEX gate_verdicts_example ON gate_verdicts(example_id);
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        example_id INTEGER NOT NULL REFERENCES examples(id),
        action TEXT NOT NULL,
        note TEXT,
        seconds REAL,
        undoes INTEGER REFERENCES decisions(id),
        created_at TEXT NOT NULL
    );
    CREATE TABLE exports (
        id INTEGER PRIMARY KEY,
        version TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        counts TEXT NOT NULL DEFAULT '{}',
        manifest_sha256 TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    """,
    # 2: imported files become rows of their own, so passages keep a link to their source file.
    """
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        passages_added INTEGER NOT NULL DEFAULT 0,
        imported_at TEXT NOT NULL,
        UNIQUE (path, sha256)
    );
    ALTER TABLE passages ADD COLUMN source_id INTEGER REFERENCES sources(id);
    INSERT INTO sources (path, sha256, size, passages_added, imported_at)
        SELECT source_path, '', 0, count(*), min(created_at) FROM passages GROUP BY source_path;
    UPDATE passages SET source_id = (SELECT id FROM sources WHERE sources.path = passages.source_path);
    CREATE INDEX examples_state ON examples(state, family);
    CREATE INDEX decisions_example ON decisions(example_id);
    """,
    # 3: the curator's audit of gate verdicts (agreement, false-reject and false-accept estimates).
    """
    CREATE TABLE gate_audits (
        id INTEGER PRIMARY KEY,
        example_id INTEGER NOT NULL REFERENCES examples(id),
        gate TEXT NOT NULL,
        gate_verdict TEXT NOT NULL CHECK (gate_verdict IN ('pass', 'flag', 'fail')),
        curator_verdict TEXT NOT NULL CHECK (curator_verdict IN ('pass', 'fail')),
        note TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX gate_audits_example ON gate_audits(example_id, gate);
    CREATE INDEX gate_verdicts_gate ON gate_verdicts(gate, verdict);
    """,
    # 4: one owner for the data. Stable uids and lineage; revisions and seed versions supersede what
    # they replace; current verdicts kept by trigger in the verdict's own transaction; job leases and
    # an attempts table; sources marked complete only at their end; indexes for the decision log.
    """
    ALTER TABLE examples ADD COLUMN uid TEXT;
    UPDATE examples SET uid = lower(hex(randomblob(16)));
    CREATE UNIQUE INDEX examples_uid ON examples(uid);
    ALTER TABLE examples ADD COLUMN lineage TEXT;
    ALTER TABLE examples ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE examples ADD COLUMN superseded_by INTEGER REFERENCES examples(id);
    WITH RECURSIVE chain(id, root) AS (
        SELECT id, id FROM examples WHERE parent_id IS NULL
        UNION ALL SELECT e.id, chain.root FROM examples e JOIN chain ON e.parent_id = chain.id)
    UPDATE examples SET lineage = (SELECT r.uid FROM examples r WHERE r.id =
        (SELECT root FROM chain WHERE chain.id = examples.id));
    UPDATE examples SET lineage = uid WHERE lineage IS NULL;
    UPDATE examples SET superseded_by = (SELECT max(r.id) FROM examples r WHERE r.parent_id = examples.id
        AND r.kind = 'revision' AND json_extract(r.metadata, '$.revised_by') = 'curator')
        WHERE kind IN ('candidate', 'revision');
    CREATE INDEX examples_lineage ON examples(lineage);
    DROP INDEX examples_seed_key;
    CREATE UNIQUE INDEX examples_seed_key ON examples(key_hash) WHERE kind = 'seed' AND superseded_by IS NULL;
    CREATE INDEX examples_parent ON examples(parent_id) WHERE parent_id IS NOT NULL;
    CREATE TABLE current_verdicts (
        example_id INTEGER NOT NULL REFERENCES examples(id),
        gate TEXT NOT NULL,
        verdict_id INTEGER NOT NULL REFERENCES gate_verdicts(id),
        verdict TEXT NOT NULL,
        audit TEXT CHECK (audit IN ('pass', 'fail')),
        PRIMARY KEY (example_id, gate)
    ) WITHOUT ROWID;
    INSERT INTO current_verdicts (example_id, gate, verdict_id, verdict)
        SELECT v.example_id, v.gate, v.id, v.verdict FROM gate_verdicts v
        JOIN (SELECT max(id) AS id FROM gate_verdicts GROUP BY example_id, gate) m ON v.id = m.id;
    UPDATE current_verdicts SET audit = (SELECT a.curator_verdict FROM gate_audits a
        WHERE a.example_id = current_verdicts.example_id AND a.gate = current_verdicts.gate ORDER BY a.id DESC LIMIT 1);
    CREATE TRIGGER gate_verdicts_current AFTER INSERT ON gate_verdicts BEGIN
        INSERT INTO current_verdicts (example_id, gate, verdict_id, verdict)
        VALUES (NEW.example_id, NEW.gate, NEW.id, NEW.verdict)
        ON CONFLICT (example_id, gate) DO UPDATE SET verdict_id = excluded.verdict_id, verdict = excluded.verdict;
    END;
    CREATE TRIGGER gate_audits_current AFTER INSERT ON gate_audits BEGIN
        UPDATE current_verdicts SET audit = NEW.curator_verdict WHERE example_id = NEW.example_id AND gate = NEW.gate;
    END;
    CREATE INDEX current_verdicts_gate ON current_verdicts(gate, verdict);
    ALTER TABLE decisions ADD COLUMN reason TEXT;
    CREATE INDEX decisions_undoes ON decisions(undoes) WHERE undoes IS NOT NULL;
    CREATE INDEX decisions_recent ON decisions(action, id);
    ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
    ALTER TABLE jobs ADD COLUMN lease_expires TEXT;
    CREATE INDEX jobs_state ON jobs(state, kind, family);
    CREATE TABLE job_attempts (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs(id),
        attempt INTEGER NOT NULL,
        owner TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        outcome TEXT,
        error TEXT,
        raw_response TEXT,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL DEFAULT 0,
        detail TEXT NOT NULL DEFAULT '{}',
        UNIQUE (job_id, attempt)
    );
    INSERT INTO job_attempts (job_id, attempt, started_at, finished_at, outcome, error, raw_response,
                              input_tokens, output_tokens, cost_usd)
        SELECT id, attempts, updated_at, updated_at, state, last_error, raw_response, input_tokens, output_tokens,
               cost_usd FROM jobs WHERE attempts > 0;
    ALTER TABLE sources ADD COLUMN complete INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE sources ADD COLUMN lease_owner TEXT;
    ALTER TABLE sources ADD COLUMN lease_expires TEXT;
    """,
    # 5: cleaning up an interrupted import deletes its passages a batch at a time: find them by index.
    """
    CREATE INDEX passages_source ON passages(source_id);
    """,
    # 6: sentence embeddings, once per example (examples never change: a revision is a new row);
    # the ask alone is embedded for private eval items only.
    """
    CREATE TABLE embeddings (
        example_id INTEGER PRIMARY KEY REFERENCES examples(id),
        model TEXT NOT NULL,
        ask BLOB,
        whole BLOB NOT NULL,
        numbers TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    """,
    # 7: the lexical set-level gates do only new work: each example's match keys and LSH band keys are
    # stored once (examples never change), with the duplicate cluster it belongs to (its keeper) and
    # the eval set its decontamination verdict was checked against; marks say what a run has seen.
    """
    CREATE TABLE sketches (
        example_id INTEGER PRIMARY KEY REFERENCES examples(id),
        version TEXT NOT NULL,
        key TEXT NOT NULL,
        question TEXT NOT NULL,
        key_hash INTEGER NOT NULL,
        bands BLOB NOT NULL,
        cluster INTEGER,
        eval_set TEXT
    );
    CREATE INDEX sketches_key_hash ON sketches(key_hash);
    CREATE INDEX examples_eval ON examples(id) WHERE ((kind = 'seed' AND role = 'eval') OR kind = 'eval_item');
    CREATE INDEX sketches_cluster ON sketches(cluster) WHERE cluster IS NOT NULL;
    CREATE TABLE gate_marks (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
    # 8: content, not template. Each example's content units (gates.content, JSON; eval items are
    # sketched too) are kept in their own table (the sketches stay small to scan), and each sketch the
    # hashes of its content keys under its family's scaffold
    # (with the scaffold's fingerprint); a family's scaffold (its units' document frequencies) and its
    # meaning threshold are kept until the family has grown or shrunk enough to learn them again.
    """
    CREATE TABLE contents (
        example_id INTEGER PRIMARY KEY REFERENCES examples(id),
        content TEXT NOT NULL
    );
    ALTER TABLE sketches ADD COLUMN content_keys BLOB;
    ALTER TABLE sketches ADD COLUMN keys_epoch TEXT;
    CREATE TABLE scaffolds (
        family TEXT PRIMARY KEY,
        items INTEGER NOT NULL,
        df TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        meaning_items INTEGER,
        meaning_threshold REAL,
        learned_at TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
    # 9: the set-level pool's ids read from an index of their own, not a scan of every example's row
    # (the expression is `predicates.SET_POOL`, as a query must spell it for SQLite to use the index);
    # the candidates still to check against the eval set found through an index of what each was checked against.
    """
    CREATE INDEX sketches_eval_set ON sketches(eval_set);
    CREATE INDEX examples_pool ON examples(id) WHERE (((kind IN ('candidate', 'revision') AND superseded_by IS NULL)
        AND state != 'rejected') OR (kind = 'seed' AND superseded_by IS NULL AND role != 'eval'));
    """,
    # 10: eval runs: the student's answers to the private eval set (one `eval_answer` job an item) and
    # their scores, kept apart from the examples (never trained on, never exported for training).
    """
    CREATE TABLE eval_runs (
        id INTEGER PRIMARY KEY,
        created_at TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        model TEXT NOT NULL,
        api TEXT NOT NULL,
        export_version TEXT,
        params TEXT NOT NULL DEFAULT '{}',
        finished_at TEXT
    );
    CREATE TABLE eval_answers (
        run_id INTEGER NOT NULL REFERENCES eval_runs(id),
        item_id INTEGER NOT NULL REFERENCES examples(id),
        job_id INTEGER REFERENCES jobs(id),
        answer TEXT NOT NULL,
        raw TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (run_id, item_id)
    ) WITHOUT ROWID;
    CREATE TABLE eval_scores (
        run_id INTEGER NOT NULL REFERENCES eval_runs(id),
        item_id INTEGER NOT NULL REFERENCES examples(id),
        scorer TEXT NOT NULL,
        passed INTEGER,
        reason TEXT NOT NULL,
        evidence TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        PRIMARY KEY (run_id, item_id, scorer)
    ) WITHOUT ROWID;
    """,
    # 11: triage at scale. A bulk decision over a filter is planned whole (its ids, what it skips) and
    # committed in short transactions, each decision naming its bulk: a bulk cut short is resumable (the
    # planned ids without a decision of it) and one undo takes a bulk back. The predictor's latest
    # estimate of each pending candidate's decision (P(reject)) is kept for ordering and filtering.
    """
    CREATE TABLE bulks (
        id INTEGER PRIMARY KEY,
        action TEXT NOT NULL,
        reason TEXT,
        filter TEXT NOT NULL,
        ids TEXT NOT NULL,
        skipped TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        finished_at TEXT,
        undone_at TEXT
    );
    ALTER TABLE decisions ADD COLUMN bulk INTEGER REFERENCES bulks(id);
    CREATE INDEX decisions_bulk ON decisions(bulk, example_id) WHERE bulk IS NOT NULL;
    CREATE TABLE predictions (
        example_id INTEGER PRIMARY KEY REFERENCES examples(id),
        p_reject REAL NOT NULL,
        model TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX predictions_p ON predictions(p_reject);
    """,
    # 12: attempts that mean something, and batches within the API's limits. An attempt row is a claim;
    # it counts as one of the job's attempts (jobs.attempts) only once its request was sent (sent_at). A
    # lease lost before sending gives the job back without using an attempt, counted in lost_leases (a
    # cap of its own). A batch run is sent in chunks (each within the request and byte limits): a chunk
    # is a row with its state (forming, sending, submitted, collected, refused, abandoned), its lease
    # and, once created, its batch id; its jobs carry its id. A chunk whose submitter stopped while
    # sending is matched with the batch the API shows, never sent twice.
    """
    CREATE TABLE batch_chunks (
        id INTEGER PRIMARY KEY,
        token TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        family TEXT,
        state TEXT NOT NULL CHECK (state IN ('forming', 'sending', 'submitted', 'collected', 'refused',
                                              'abandoned')),
        requests INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL DEFAULT 0,
        batch_id TEXT UNIQUE,
        lease_owner TEXT,
        lease_expires TEXT,
        error TEXT,
        created_at TEXT NOT NULL,
        sending_at TEXT,
        submitted_at TEXT,
        finished_at TEXT
    );
    CREATE INDEX batch_chunks_state ON batch_chunks(state);
    ALTER TABLE jobs ADD COLUMN chunk_id INTEGER REFERENCES batch_chunks(id);
    ALTER TABLE jobs ADD COLUMN lost_leases INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX jobs_chunk ON jobs(chunk_id) WHERE chunk_id IS NOT NULL;
    ALTER TABLE job_attempts ADD COLUMN sent_at TEXT;
    UPDATE job_attempts SET sent_at = started_at;
    """,
    # 13: what a row's conversation says of its training (`trainable.facts`: why it cannot train,
    # its prompt and response characters, its turns), kept when the row is written (a conversation never
    # changes) and stamped with the rules that made them (`trainable.RULES`): an export reads them instead
    # of parsing 100k conversations. Rows written before (NULL) or under other rules are worked out again
    # by `Store.refresh_facts` (`curator gate`), and by the export until then.
    """
    ALTER TABLE examples ADD COLUMN untrainable TEXT;
    ALTER TABLE examples ADD COLUMN prompt_chars INTEGER;
    ALTER TABLE examples ADD COLUMN response_chars INTEGER;
    ALTER TABLE examples ADD COLUMN turns INTEGER;
    ALTER TABLE examples ADD COLUMN facts_rules TEXT;
    CREATE INDEX examples_no_facts ON examples(id) WHERE facts_rules IS NULL;
    """,
]

LATEST_VERSION = len(MIGRATIONS)
