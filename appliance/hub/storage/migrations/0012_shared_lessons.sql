-- Issue 17 §4: teachers' lessons shared with the county (docs/shared-lessons.md), and the reviewer role.
-- A share belongs to the kit that first named it. Each version a kit sends is a row of share_versions, its
-- files' parts wait in share_parts until every part of every file arrived, then each file is checked and kept
-- whole in share_files. Files live in the database (not under hub_data_dir): a county hub on PostgreSQL may
-- run on several machines, and a share's state and its files then change in one transaction on every backend.
-- The bytes of parts and files are columns of their own, added by 0013 in each backend's type (BLOB, BYTEA).
ALTER TABLE technicians ADD COLUMN role TEXT NOT NULL DEFAULT 'technician';

CREATE TABLE shares (
    share_id TEXT PRIMARY KEY,
    kit_id TEXT NOT NULL REFERENCES kits (kit_id),
    first_at DOUBLE PRECISION NOT NULL
);

-- state: receiving (parts missing: never told to the kit), submitted, accepted, returned, published, broken.
CREATE TABLE share_versions (
    share_id TEXT NOT NULL REFERENCES shares (share_id),
    version INTEGER NOT NULL,
    kit_id TEXT NOT NULL,
    school TEXT NOT NULL,
    district TEXT NOT NULL,
    author TEXT NOT NULL,
    title TEXT NOT NULL,
    licence TEXT NOT NULL,
    edition TEXT,
    grade INTEGER,
    volume INTEGER,
    subject TEXT,
    unit INTEGER,
    lesson INTEGER,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    reviewer TEXT NOT NULL DEFAULT '',
    received_at DOUBLE PRECISION NOT NULL,
    changed_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (share_id, version)
);

CREATE INDEX share_versions_kit_changed ON share_versions (kit_id, changed_at);

CREATE INDEX share_versions_state ON share_versions (state);

CREATE TABLE share_parts (
    share_id TEXT NOT NULL REFERENCES shares (share_id),
    version INTEGER NOT NULL,
    file INTEGER NOT NULL,
    part INTEGER NOT NULL,
    parts INTEGER NOT NULL,
    PRIMARY KEY (share_id, version, file, part)
);

CREATE TABLE share_files (
    share_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    file INTEGER NOT NULL,
    name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (share_id, version, file),
    FOREIGN KEY (share_id, version) REFERENCES share_versions (share_id, version) ON DELETE CASCADE
)
