-- Issue 20: what the status of every kit is judged from (storage/kits.py STATUS_RANK), with the columns the fleet
-- table searches and sorts by and the reports counter, in one index. Counting kits per status and district, the
-- sum of reports_total, a search, and choosing which 100 kits fill a page or which kits are not ok (for /metrics)
-- then read this index instead of every kit's whole row (a row holds the kit's newest heartbeat, ~1.5 KB).
-- It replaces kits_school (district, school), of which it is an extension.
DROP INDEX kits_school;
CREATE INDEX kits_status ON kits (
    district, school, last_seen_at, snapshot_rank, clock_flag, last_sync_ok_at, kit_id, reports_total
)
