-- Learning records: xAPI 1.0.3 statements made on the kit (issue 4). The statement id (a UUID) is the
-- key, so handing a statement to the outbox twice is harmless upstream. `queued` = handed to the outbox.
CREATE TABLE learning_records (
    id TEXT PRIMARY KEY,
    account_id INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
    statement TEXT NOT NULL,
    created_at TEXT NOT NULL,
    queued INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX learning_records_pending ON learning_records(queued, created_at);
CREATE INDEX learning_records_created ON learning_records(created_at);
