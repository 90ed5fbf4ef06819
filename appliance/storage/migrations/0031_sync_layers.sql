-- Updates by layer (issue 21, "apply ∝ edit", docs/sync.md "Layers"): a large book is served as its base file plus
-- one indexed layer per patch (content/<id>.layers/). `layers` counts them: when above 0, sha256 and size_bytes are
-- the base file's own (what recovery hashes) and digest is the book's, the layers' result. A switch of the layer
-- stack is pending as 'layer' (settled by reading the stack, never by hashing the base). SQLite cannot change a
-- CHECK in place: the table is rebuilt with every row kept.
CREATE TABLE installed_packages_new (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    file TEXT NOT NULL,
    installed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    run_id INTEGER,
    previous_file TEXT,
    previous_version TEXT,
    previous_sha256 TEXT,
    previous_size_bytes INTEGER,
    held_sha256 TEXT,
    pending_action TEXT CHECK (pending_action IN ('activate', 'remove', 'layer')),
    pending_version TEXT,
    pending_sha256 TEXT,
    pending_size_bytes INTEGER,
    digest TEXT,
    pending_digest TEXT,
    previous_digest TEXT,
    held_digest TEXT,
    patch_failed_digest TEXT,
    layers INTEGER NOT NULL DEFAULT 0
);
INSERT INTO installed_packages_new (
    id, channel, version, sha256, size_bytes, file, installed_at, run_id, previous_file, previous_version,
    previous_sha256, previous_size_bytes, held_sha256, pending_action, pending_version, pending_sha256,
    pending_size_bytes, digest, pending_digest, previous_digest, held_digest, patch_failed_digest
)
SELECT
    id, channel, version, sha256, size_bytes, file, installed_at, run_id, previous_file, previous_version,
    previous_sha256, previous_size_bytes, held_sha256, pending_action, pending_version, pending_sha256,
    pending_size_bytes, digest, pending_digest, previous_digest, held_digest, patch_failed_digest
FROM installed_packages;
DROP TABLE installed_packages;
ALTER TABLE installed_packages_new RENAME TO installed_packages;
