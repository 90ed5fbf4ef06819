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
