-- Lessons shared with the county (issue 17 §4, docs/shared-lessons.md): one row per version a teacher shared. The
-- version's reports are outbox sequences first_sequence..last_sequence (stored in one transaction, so contiguous):
-- the lesson page counts those still waiting. `state` is 'queued' until the hub's reply says otherwise; the hub's
-- newest state (by its `at`, kept in state_at) wins.
CREATE TABLE lesson_shares (
    share_id TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1),
    lesson_id INTEGER NOT NULL REFERENCES lessons(id) ON DELETE CASCADE,
    licence TEXT NOT NULL,
    shared_at TEXT NOT NULL,
    shared_by INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    state TEXT NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'submitted', 'accepted', 'returned', 'published', 'broken')),
    comment TEXT NOT NULL DEFAULT '',
    reviewer TEXT NOT NULL DEFAULT '',
    state_at TEXT,
    first_sequence INTEGER NOT NULL,
    last_sequence INTEGER NOT NULL,
    PRIMARY KEY (share_id, version)
);
CREATE INDEX lesson_shares_lesson ON lesson_shares(lesson_id, version);

-- The outbox carries the two new report kinds (protocol/report_file.KINDS). SQLite cannot change a CHECK, so the
-- table is rebuilt with its rows (the signed bytes as they are) and sequences kept.
CREATE TABLE outbox_0033 (
    sequence INTEGER PRIMARY KEY CHECK (sequence >= 1),
    kit_id TEXT NOT NULL,
    report_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('heartbeat', 'daily_summary', 'alert', 'records', 'lesson', 'lesson_file')),
    made_at TEXT NOT NULL,
    day TEXT NOT NULL,
    payload BLOB NOT NULL,
    signature TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    parked_reason TEXT,
    exported_at TEXT
);
INSERT INTO outbox_0033 SELECT sequence, kit_id, report_id, kind, made_at, day, payload, signature, attempts,
    last_error, parked_reason, exported_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_0033 RENAME TO outbox;
CREATE INDEX outbox_kind_day ON outbox(kind, day);
