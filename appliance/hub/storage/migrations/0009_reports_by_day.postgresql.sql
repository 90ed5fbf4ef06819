-- Issue 20, item 6: on PostgreSQL `reports` is partitioned by day (PARTITION BY RANGE), so `tpkit hub prune` drops a
-- whole old day instead of deleting its rows one by one (docs/hub.md, "Retention"). The partition key is made_unix,
-- the kit's made_at in Unix seconds: it comes from the report itself, so a report resent days later has the same key,
-- and the primary key (kit_id, report_id, made_unix) still stores a report id once per kit. The receive time or
-- observed_at (the receive time when the kit's clock is not synchronised) would not. The days themselves
-- (reports_pYYYYMMDD) are created by the hub (storage/retention.py: at every migrate and prune, today and the days
-- ahead), a report made on a day without one (an absurd kit clock, or a day already pruned) lands in
-- reports_default. Existing rows are copied into reports_default here, and today's are moved into their day when it
-- is created, so an old hub's reports keep being pruned by the batched delete until none are left.
-- The same columns as before (LIKE copies them with NOT NULL), and the key.
CREATE TABLE reports_by_day (
    LIKE reports,
    made_unix DOUBLE PRECISION NOT NULL
) PARTITION BY RANGE (made_unix);

CREATE TABLE reports_default PARTITION OF reports_by_day DEFAULT;

INSERT INTO reports_by_day (kit_id, report_id, sequence, kind, made_at, clock_synchronised, received_at, observed_at,
    cpu_temp_c, disk_percent, wifi_clients, sync_bytes, body, made_unix)
SELECT kit_id, report_id, sequence, kind, made_at, clock_synchronised, received_at, observed_at, cpu_temp_c,
    disk_percent, wifi_clients, sync_bytes, body, extract(epoch FROM made_at::timestamptz)::double precision
FROM reports;

DROP TABLE reports;

ALTER TABLE reports_by_day RENAME TO reports;

-- The key, the reference to kits and the indexes of 0001, 0004 and 0006, made once the rows are in (faster than
-- row by row), on every partition.
ALTER TABLE reports ADD PRIMARY KEY (kit_id, report_id, made_unix);

ALTER TABLE reports ADD FOREIGN KEY (kit_id) REFERENCES kits (kit_id);

CREATE INDEX reports_kit_time ON reports (kit_id, observed_at);

CREATE INDEX reports_received ON reports (received_at);

CREATE INDEX reports_alert_time ON reports (received_at) WHERE kind = 'alert'
