-- The hub's desired configuration as the kit applied it (docs/sync.md, "The county's configuration"):
-- the last configuration that passed the kit's checks is in force for the next sync, and its version is what
-- reports acknowledge. A refused one is named with its reason, and the last good one stays in force.
ALTER TABLE uplink ADD COLUMN applied_config TEXT;                   -- JSON object in force, or NULL (kit.toml only)
ALTER TABLE uplink ADD COLUMN applied_config_at TEXT;
ALTER TABLE uplink ADD COLUMN config_refused_version INTEGER;       -- the version refused last (NULL: none)
ALTER TABLE uplink ADD COLUMN config_refused TEXT NOT NULL DEFAULT '';  -- why, as the journal and status page say
