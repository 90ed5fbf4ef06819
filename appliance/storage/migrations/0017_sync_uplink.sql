-- The uplink's speed as a run measured it (bytes received per second on the uplink interface during an uncapped
-- probe), for a rate cap given as a share of it (sync_rate_cap_percent, docs/uplink.md). NULL: not measured.
ALTER TABLE sync_runs ADD COLUMN uplink_bytes_per_s REAL;
