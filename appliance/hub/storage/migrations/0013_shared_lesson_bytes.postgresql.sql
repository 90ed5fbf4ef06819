-- The bytes of shared lessons' parts and files (0012), as BYTEA here and BLOB in the .sqlite.sql twin. The
-- tables are empty when this runs: the default is never used.
ALTER TABLE share_parts ADD COLUMN data BYTEA NOT NULL DEFAULT '\x';

ALTER TABLE share_files ADD COLUMN data BYTEA NOT NULL DEFAULT '\x'
