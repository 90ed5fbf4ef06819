"""Storage on the county hub: database bytes per kit per day for raw reports and for `kit_days`, and how long
`tpkit hub prune` takes to fold the same days away (issue 20, item 6).

    .venv/bin/python bench/hub_storage.py --backend sqlite --kits 100 --days 3
    .venv/bin/python bench/hub_storage.py --backend postgresql --kits 100 --days 3 \
        --database-url postgresql://postgres@/postgres?host=/tmp/pg

Setup: `--kits` enrolled kits, each with `--days` days of reports ending yesterday (UTC): 96 heartbeats a day (every
15 minutes, the body tests/hub/conftest.health_body makes, readings varying) and one daily summary (the kit's own
daily_summary.merge of that day's heartbeats), written straight into the database with the hub's own INSERT,
one transaction per kit and day. Measured: bytes of `reports` (table + indexes + TOAST: PostgreSQL's
pg_total_relation_size summed over every partition, SQLite's dbstat pages); then `retention.prune` as if 30 days
later with 30 days kept, so it folds every filled report into `kit_days`, timed; then the bytes of `kit_days`. `--batched` makes PostgreSQL prune row by row in batches (the SQLite way and
main's) instead of dropping partitions, for the side-by-side figure. `--upgrade` times hub migration 0009 instead:
the database is migrated up to 0008 only and filled as an older hub's, then `migrate` converts it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from appliance.hub import retention  # noqa: E402
from appliance.hub.storage import reports as stored_reports, retention as stored_retention  # noqa: E402
from appliance.hub.storage.database import migrate  # noqa: E402
from appliance.services.reporting import daily_summary  # noqa: E402
from bench.hub_prune import open_bench_database  # noqa: E402
from tests.hub.conftest import enrol_kit, health_body  # noqa: E402

DAY = 86400
COLUMNS = stored_reports.COLUMNS.split(", ")  # whatever columns this checkout's table has (main's: no made_unix)
INSERT = stored_reports.INSERT_REPORT
BEATS = 96  # a heartbeat every 15 minutes


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _row(kit_id: str, sequence: int, kind: str, when: float, numbers: tuple, body: dict) -> tuple:
    """A report row in COLUMNS' order."""
    values = {
        "kit_id": kit_id,
        "report_id": str(uuid.uuid4()),
        "sequence": sequence,
        "kind": kind,
        "made_at": _iso(when),
        "clock_synchronised": 1,
        "received_at": when + 2,
        "observed_at": when,
        "made_unix": when,
        "cpu_temp_c": numbers[0],
        "disk_percent": numbers[1],
        "wifi_clients": numbers[2],
        "sync_bytes": numbers[3],
        "body": json.dumps(body, separators=(",", ":")),
    }
    return tuple(values[name] for name in COLUMNS)


def _fill(db, kits: int, days: int, first_day: float) -> int:
    stored = 0
    for k in range(kits):
        kit_id = f"bench-{k:06d}"
        enrol_kit(db, kit_id, first_day - DAY)
        sequence = 0
        for d in range(days):
            day = first_day + d * DAY
            day_name = retention.day_of(day)
            parts = []
            with db.transaction() as tx:
                for b in range(BEATS):
                    when = day + b * 900 + k % 600
                    temp, clients = 45.0 + (b % 20) / 2, b % 9
                    body = health_body(kit_id, temp_c=temp, disk_percent=40.0 + d / 10, clients=clients)
                    body["time"], body["uptime_s"] = _iso(when), 3600 + b * 900
                    parts.append(daily_summary.of_heartbeat(day_name, _iso(when), body))
                    sequence += 1
                    tx.execute(
                        INSERT, _row(kit_id, sequence, "heartbeat", when, (temp, 40.0 + d / 10, clients, None), body)
                    )
                summary = daily_summary.merge(day_name, parts)
                sequence += 1
                summary_row = _row(
                    kit_id, sequence, "daily_summary", day + DAY - 60, (54.5, 40.0 + d / 10, 8, None), summary
                )
                tx.execute(INSERT, summary_row)
                stored += BEATS + 1
    return stored


def _relation_bytes(db, table: str) -> int:
    """Bytes of `table` with its indexes (and TOAST): every partition's on PostgreSQL."""
    if db.backend == "postgresql":
        leaves = f"SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('{table}') WHERE isleaf"
        rows = db.query(f"SELECT coalesce(({leaves}), pg_total_relation_size('{table}'))::bigint AS n")
        return int(rows[0]["n"])
    names = [r["name"] for r in db.query("SELECT name FROM sqlite_master WHERE tbl_name = ?", (table,))]
    marks = ", ".join("?" for _ in names)
    return int(db.query(f"SELECT coalesce(sum(pgsize), 0) AS n FROM dbstat WHERE name IN ({marks})", names)[0]["n"])


def _upgrade(db, kits: int, days: int) -> int:
    """Migration 0009 timed on `kits` kits' `days` days of reports stored by an older hub (up to 0008)."""
    global COLUMNS, INSERT
    migrate(db, upto=8)
    COLUMNS = [c for c in COLUMNS if c != "made_unix"]
    INSERT = f"INSERT INTO reports ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
    stored = _fill(db, kits, days, time.time() // DAY * DAY - days * DAY)
    t0 = time.perf_counter()
    migrate(db)
    took = time.perf_counter() - t0
    print(f"[✓] {db.backend}: migration 0009 converted {stored} reports in {took:.1f} s ({stored / took:,.0f} rows/s)")
    db.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (a database the bench may fill)")
    parser.add_argument("--kits", type=int, default=100, help="enrolled kits (default 100)")
    parser.add_argument("--days", type=int, default=3, help="days of reports per kit, ending yesterday (default 3)")
    parser.add_argument(
        "--batched", action="store_true", help="PostgreSQL: prune in batched deletes, not by dropping partitions"
    )
    parser.add_argument("--upgrade", action="store_true", help="time migration 0009 on an older hub's reports instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        db = open_bench_database(Path(work), args.backend, args.database_url)
        if args.upgrade:
            return _upgrade(db, args.kits, args.days)
        migrate(db)
        today = time.time() // DAY * DAY
        first_day = today - args.days * DAY
        ensure_days = getattr(stored_retention, "ensure_days", None)  # main has no partitions
        if ensure_days:  # the partitions the hub made on those days (ahead of them, at its nightly prune)
            ensure_days(db, first_day, args.days)
        t0 = time.perf_counter()
        stored = _fill(db, args.kits, args.days, first_day)
        fill_s = time.perf_counter() - t0
        kit_days = args.kits * args.days
        raw = _relation_bytes(db, "reports")
        body = db.query("SELECT avg(length(body)) AS n FROM reports WHERE kind = 'heartbeat'")[0]["n"]
        print(
            f"[i] {args.backend}: {stored} reports of {args.kits} kits over {args.days} days, filled in {fill_s:.0f} s"
        )
        # everything filled is older than `keep` days at `now`: the prune folds all of it
        now, keep = today + 30 * DAY, 30
        options = {"partitions": False} if args.batched else {}
        t0 = time.perf_counter()
        done = retention.prune(db, now, keep, 0, **options)
        prune_s = time.perf_counter() - t0
        folded = _relation_bytes(db, "kit_days")
        left = db.query("SELECT count(*) AS n FROM reports")[0]["n"]
        print("| rows | rows per kit per day | bytes | bytes per kit per day |")
        print("|---|---:|---:|---:|")
        print(
            f"| raw reports (heartbeat body {float(body):.0f} B of JSON) | {stored / kit_days:.0f} | {raw:,} | {raw / kit_days:,.0f} |"
        )
        print(f"| kit_days | {done.days_folded / kit_days:.0f} | {folded:,} | {folded / kit_days:,.0f} |")
        how = "dropping partitions" if getattr(done, "partitions", 0) else f"{done.batches} batches"
        print(
            f"[✓] prune folded {done.reports} reports into {done.days_folded} kit-day rows in {prune_s:.2f} s "
            f"({how}); {left} reports left"
        )
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
