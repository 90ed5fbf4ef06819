-- When each student's "opened" learning record of each activity was last made (issue 4): repeated opens of the
-- same article, book or lesson within the de-duplication window (services/records.py, OPEN_WINDOW_S) make no
-- new statement. One row per student and activity; `recorded_at` is Unix time (seconds).
CREATE TABLE record_opens (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    activity TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (account_id, activity)
);
