-- Issue 20: what the fleet table, the alerts page and /metrics read, kept in the kit's row at ingest instead of
-- parsed out of every kit's snapshot on every request. Set from the newest heartbeat (with the snapshot):
-- its readings, under-voltage (0 none, 1 since the kit started, 2 now), damaged books, when its newest successful
-- sync ended, and the alerts the snapshot raises with their worst severity (snapshot_rank: 0 none, 1 warning,
-- 2 critical). NULL snapshot_rank with a snapshot: a row stored before this migration, filled in when the hub
-- starts (ingest.refresh_latest). Silence and old content depend on the time and are judged when read.
ALTER TABLE kits ADD COLUMN cpu_temp_c DOUBLE PRECISION;
ALTER TABLE kits ADD COLUMN disk_percent DOUBLE PRECISION;
ALTER TABLE kits ADD COLUMN wifi_clients DOUBLE PRECISION;
ALTER TABLE kits ADD COLUMN sync_bytes DOUBLE PRECISION;
ALTER TABLE kits ADD COLUMN outbox_depth DOUBLE PRECISION;
ALTER TABLE kits ADD COLUMN under_voltage INTEGER;
ALTER TABLE kits ADD COLUMN books_damaged DOUBLE PRECISION;
ALTER TABLE kits ADD COLUMN last_sync_ok_at DOUBLE PRECISION;
ALTER TABLE kits ADD COLUMN snapshot_rank INTEGER;
ALTER TABLE kits ADD COLUMN snapshot_alerts TEXT;
-- The alerts page lists the `alert` reports kits sent in the last week: an index on just those.
CREATE INDEX reports_alert_time ON reports (received_at) WHERE kind = 'alert'
