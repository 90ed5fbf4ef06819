-- The highest index sequence accepted per channel: a kit refuses an index whose sequence is not
-- greater, so a hostile or stale mirror cannot roll a channel back (issue 3, docs/channels.md).
CREATE TABLE channel_sequences (
    channel TEXT PRIMARY KEY,
    sequence INTEGER NOT NULL CHECK (sequence >= 1),
    accepted_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
