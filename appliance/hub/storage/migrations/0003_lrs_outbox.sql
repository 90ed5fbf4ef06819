-- Learning records waiting for (or already given to) the county's xAPI Learning Record Store, filled at
-- ingest from records reports. Forwarded rows keep forwarded_at, so a statement id is sent once however
-- often its report arrives. Times are Unix seconds.
CREATE TABLE lrs_outbox (
    statement_id TEXT PRIMARY KEY,
    kit_id TEXT NOT NULL,
    statement TEXT NOT NULL,
    queued_at DOUBLE PRECISION NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at DOUBLE PRECISION NOT NULL,
    forwarded_at DOUBLE PRECISION,
    last_error TEXT
);

CREATE INDEX lrs_outbox_due ON lrs_outbox (forwarded_at, next_attempt_at);
