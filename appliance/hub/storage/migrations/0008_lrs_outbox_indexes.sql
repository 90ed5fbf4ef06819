-- Issue 20: forwarding slowed as the outbox grew (308 statements/s with 500,000 waiting): every batch read all
-- waiting rows through (forwarded_at, next_attempt_at) and sorted them by queue time. Waiting rows now have an
-- index in the order `tpkit hub forward` takes them (due first, then queued first), so a batch reads its 100 rows
-- and stops, and parked rows (due in ten years) sit at its end. Forwarded rows have their own index by forwarding
-- time, which `tpkit hub prune` deletes them by (hub_keep_forwarded_days).
DROP INDEX lrs_outbox_due;

CREATE INDEX lrs_outbox_waiting ON lrs_outbox (next_attempt_at, queued_at, statement_id) WHERE forwarded_at IS NULL;

CREATE INDEX lrs_outbox_forwarded ON lrs_outbox (forwarded_at) WHERE forwarded_at IS NOT NULL;
