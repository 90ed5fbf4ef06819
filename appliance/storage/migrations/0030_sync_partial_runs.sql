-- A run whose books did not all update ends 'partial' (issue 21): each book's failure is recorded in its detail and
-- the books after it are still reached. SQLite cannot change a CHECK in place: the table is rebuilt, ids and the
-- AUTOINCREMENT counter kept.
CREATE TABLE sync_runs_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    outcome TEXT NOT NULL CHECK (outcome IN ('running', 'ok', 'partial', 'failed', 'interrupted')),
    reason TEXT NOT NULL DEFAULT '',     -- why it stopped: an error code (a partial run: its first failed book's)
    detail TEXT NOT NULL DEFAULT '',
    bytes_received INTEGER NOT NULL DEFAULT 0,
    duration_s REAL NOT NULL DEFAULT 0,
    throughput_bps REAL NOT NULL DEFAULT 0,
    added INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    removed INTEGER NOT NULL DEFAULT 0,
    uplink_bytes_per_s REAL
);
INSERT INTO sync_runs_new (
    id, started_at, ended_at, outcome, reason, detail, bytes_received, duration_s, throughput_bps, added, updated,
    removed, uplink_bytes_per_s
)
SELECT
    id, started_at, ended_at, outcome, reason, detail, bytes_received, duration_s, throughput_bps, added, updated,
    removed, uplink_bytes_per_s
FROM sync_runs;
DELETE FROM sqlite_sequence WHERE name = 'sync_runs_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'sync_runs_new', seq FROM sqlite_sequence WHERE name = 'sync_runs';
DROP TABLE sync_runs;
ALTER TABLE sync_runs_new RENAME TO sync_runs;
