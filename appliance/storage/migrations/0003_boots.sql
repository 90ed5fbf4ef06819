-- Boots the kit has seen, by /proc/sys/kernel/random/boot_id: a count that rises between two
-- health reports means power cuts or crashes (issue 5). One row per boot, never updated.
CREATE TABLE boots (
    boot_id TEXT PRIMARY KEY,
    first_seen_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
