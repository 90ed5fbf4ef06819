-- Retention (docs/hub.md, "Retention"): raw reports are kept hub_keep_reports_days, then folded into one row
-- per kit and UTC day here (each number the day's highest), kept hub_keep_daily_days. Alerts and enrolment are
-- never pruned. The index lets `tpkit hub prune` find old reports by the hub's own receive time.
CREATE TABLE kit_days (
    kit_id TEXT NOT NULL REFERENCES kits (kit_id),
    day TEXT NOT NULL,
    reports BIGINT NOT NULL DEFAULT 0,
    cpu_temp_c DOUBLE PRECISION,
    disk_percent DOUBLE PRECISION,
    wifi_clients BIGINT,
    sync_bytes BIGINT,
    PRIMARY KEY (kit_id, day)
);

CREATE INDEX reports_received ON reports (received_at);
