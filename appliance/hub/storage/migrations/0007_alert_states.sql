-- Issue 20: alerts as state with a lifecycle (hub/notify.py). One row per episode of one alert code on one kit:
-- opened by the first `tpkit hub notify` sweep that finds the alert, its severity the worst seen while open, closed
-- by the first sweep that no longer finds it. A technician may acknowledge an open episode (its opening is then not
-- sent). Each channel marks what it sent (webhook_*, mail_*: the opening, and "resolved" once closed), so a
-- channel that failed sends it at the next sweep and one that succeeded never twice, notified_at and
-- closed_notified_at: when a channel first sent the opening, the resolution. Times are Unix seconds.
CREATE TABLE alert_states (
    kit_id TEXT NOT NULL,
    code TEXT NOT NULL,
    opened_at DOUBLE PRECISION NOT NULL,
    severity TEXT NOT NULL,
    closed_at DOUBLE PRECISION,
    acknowledged_at DOUBLE PRECISION,
    acknowledged_by TEXT,
    notified_at DOUBLE PRECISION,
    closed_notified_at DOUBLE PRECISION,
    webhook_opened_at DOUBLE PRECISION,
    webhook_closed_at DOUBLE PRECISION,
    mail_opened_at DOUBLE PRECISION,
    mail_closed_at DOUBLE PRECISION,
    PRIMARY KEY (kit_id, code, opened_at)
);
-- At most one open episode per kit and code: two sweeps at once cannot open it twice (the second insert does nothing).
CREATE UNIQUE INDEX alert_states_open ON alert_states (kit_id, code) WHERE closed_at IS NULL;
-- Per channel, the episodes whose opening was sent and whose resolution was not (yet): the few a sweep may resolve.
CREATE INDEX alert_states_webhook_sent ON alert_states (kit_id) WHERE webhook_opened_at IS NOT NULL AND webhook_closed_at IS NULL;
CREATE INDEX alert_states_mail_sent ON alert_states (kit_id) WHERE mail_opened_at IS NOT NULL AND mail_closed_at IS NULL
