-- What `tpkit sync` installed, and each sync run (issue 3). docs/sync.md.
-- pending_* is written before a file is switched in the content folder and cleared after, so a run cut by a
-- power cut can tell which version the content folder really holds (the next run hashes that one file).
CREATE TABLE installed_packages (
    id TEXT PRIMARY KEY,                 -- the package id; the book is <content_dir>/<id>.zim
    channel TEXT NOT NULL,
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    file TEXT NOT NULL,                  -- the file name in the content folder
    installed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    run_id INTEGER,                      -- the run that activated this version
    previous_file TEXT,                  -- in <data_dir>/sync/previous, kept for `tpkit content rollback`
    previous_version TEXT,
    previous_sha256 TEXT,
    previous_size_bytes INTEGER,
    held_sha256 TEXT,                    -- rolled back from this version: do not install it again
    pending_action TEXT CHECK (pending_action IN ('activate', 'remove')),
    pending_version TEXT,
    pending_sha256 TEXT,
    pending_size_bytes INTEGER
);

CREATE TABLE sync_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    outcome TEXT NOT NULL CHECK (outcome IN ('running', 'ok', 'failed', 'interrupted')),
    reason TEXT NOT NULL DEFAULT '',     -- why it stopped: an error code, or what was done
    detail TEXT NOT NULL DEFAULT '',
    bytes_received INTEGER NOT NULL DEFAULT 0,
    duration_s REAL NOT NULL DEFAULT 0,
    throughput_bps REAL NOT NULL DEFAULT 0,
    added INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    removed INTEGER NOT NULL DEFAULT 0
);
