-- The fleet: kits and their enrolment, every report received, desired configurations, technicians.
-- Written in SQL that both SQLite and PostgreSQL accept: times are Unix seconds (DOUBLE PRECISION),
-- booleans are INTEGER 0/1, JSON is TEXT. No semicolons inside comments (statements are split on them).

CREATE TABLE kits (
    kit_id TEXT PRIMARY KEY,
    school TEXT NOT NULL,
    district TEXT NOT NULL,
    location TEXT NOT NULL DEFAULT '',
    registered_at DOUBLE PRECISION NOT NULL,
    token_sha256 TEXT,
    token_expires_at DOUBLE PRECISION,
    public_key TEXT,
    enrolled_at DOUBLE PRECISION,
    last_seen_at DOUBLE PRECISION,
    last_sequence BIGINT NOT NULL DEFAULT 0,
    applied_config_version BIGINT,
    clock_flag INTEGER NOT NULL DEFAULT 0,
    snapshot_sequence BIGINT NOT NULL DEFAULT 0,
    snapshot TEXT,
    snapshot_made_at TEXT,
    reports_total BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX kits_school ON kits (district, school);

-- One row per report a kit made (a report id is stored once). The numbers charts need are copied out
-- of heartbeats at ingest, so a chart reads columns instead of parsing JSON.
CREATE TABLE reports (
    kit_id TEXT NOT NULL REFERENCES kits (kit_id),
    report_id TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    kind TEXT NOT NULL,
    made_at TEXT NOT NULL,
    clock_synchronised INTEGER NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,
    observed_at DOUBLE PRECISION NOT NULL,
    cpu_temp_c DOUBLE PRECISION,
    disk_percent DOUBLE PRECISION,
    wifi_clients BIGINT,
    sync_bytes BIGINT,
    body TEXT NOT NULL,
    PRIMARY KEY (kit_id, report_id)
);

CREATE INDEX reports_kit_time ON reports (kit_id, observed_at);

CREATE TABLE desired_configs (
    kit_id TEXT NOT NULL REFERENCES kits (kit_id),
    version BIGINT NOT NULL,
    config TEXT NOT NULL,
    set_at DOUBLE PRECISION NOT NULL,
    set_by TEXT NOT NULL,
    PRIMARY KEY (kit_id, version)
);

CREATE TABLE kit_books (
    kit_id TEXT NOT NULL REFERENCES kits (kit_id),
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    PRIMARY KEY (kit_id, name)
);

CREATE TABLE technicians (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    must_change_password INTEGER NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE technician_sessions (
    token_sha256 TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES technicians (username),
    expires_at DOUBLE PRECISION NOT NULL
);
