-- Signed reports waiting for the county hub (issue 5, docs/reporting.md): the exact bytes that were
-- signed, so a resend is byte-identical and the hub's report_id idempotence makes it safe.
CREATE TABLE outbox (
    sequence INTEGER PRIMARY KEY CHECK (sequence >= 1),
    kit_id TEXT NOT NULL,
    report_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('heartbeat', 'daily_summary', 'alert', 'records')),
    made_at TEXT NOT NULL,              -- YYYY-MM-DDTHH:MM:SSZ, as signed (the kit's clock)
    day TEXT NOT NULL,                  -- YYYY-MM-DD the report is about: made_at's, or the day a summary folds
    payload BLOB NOT NULL,              -- gzip JSON, as signed
    signature TEXT NOT NULL,            -- the .minisig text
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    parked_reason TEXT,                 -- NULL: deliverable; else why the hub refused it (never retried by itself)
    exported_at TEXT                    -- last time `tpkit report --to` wrote it to a stick; kept until the hub acknowledges
);
CREATE INDEX outbox_kind_day ON outbox(kind, day);

-- The last sequence given to a report per kit id: allocated in the transaction that stores the report,
-- so a crash can neither reuse a sequence nor leave a gap that looks like a lost report.
CREATE TABLE report_sequences (
    kit_id TEXT PRIMARY KEY,
    last_sequence INTEGER NOT NULL CHECK (last_sequence >= 0)
);

-- The kit's side of its hub: enrolment, back-off and the desired configuration, one row.
CREATE TABLE uplink (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    enrolled_hub_url TEXT,              -- the hub_url this kit enrolled with (NULL: not enrolled)
    enrolled_key_id TEXT,               -- and with which key (a new key needs a new enrolment)
    enrolled_at TEXT,
    refused_token_sha256 TEXT,          -- a token the hub refused (403): not presented again
    failures INTEGER NOT NULL DEFAULT 0,          -- consecutive failed attempts (back-off doubles per failure)
    next_attempt_at REAL NOT NULL DEFAULT 0,      -- seconds since the epoch; nothing is sent before it
    last_error TEXT NOT NULL DEFAULT '',
    last_attempt_at TEXT,
    last_delivered_at TEXT,
    desired_config TEXT,                -- JSON object from the hub's last reply, or NULL
    desired_config_received_at TEXT,
    last_problems TEXT NOT NULL DEFAULT '{}'      -- {code: severity} of the last heartbeat, for alerts
);
INSERT INTO uplink (id) VALUES (1);
