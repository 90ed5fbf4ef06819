-- Issue 20, item 6: PostgreSQL partitions `reports` by made_unix (the kit's made_at in Unix seconds, see the
-- .postgresql.sql twin). SQLite keeps one table and the batched delete: it only gets the column, so both backends
-- store a report with the same INSERT (storage/reports.py).
ALTER TABLE reports ADD COLUMN made_unix DOUBLE PRECISION NOT NULL DEFAULT 0;

UPDATE reports SET made_unix = CAST(strftime('%s', made_at) AS REAL)
