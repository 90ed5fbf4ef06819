-- The bytes of shared lessons' parts and files (0012), as BLOB here and BYTEA in the .postgresql.sql twin. The
-- tables are empty when this runs: the default is never used.
ALTER TABLE share_parts ADD COLUMN data BLOB NOT NULL DEFAULT x'';

ALTER TABLE share_files ADD COLUMN data BLOB NOT NULL DEFAULT x''
