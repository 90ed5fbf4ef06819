"""Retention on the county hub: how fast `retention.prune` folds and deletes old reports, and how long a report
being ingested at the same time has to wait (the "prune does not block ingest" claim, measured).

    .venv/bin/python bench/hub_prune.py --backend sqlite --reports 100000
    .venv/bin/python bench/hub_prune.py --backend postgresql --database-url postgresql://postgres@/postgres?host=/tmp/pg

Setup (not timed): `--kits` enrolled kits and `--reports` heartbeats received 200 days ago, written straight into
the database in one transaction. Timed: `tpkit hub prune`'s function (keep 90 days) in one thread while another
stores signed heartbeats with `ingest.store` (one transaction each, as the HTTP route does) as fast as it can.
Prints rows/s pruned and the ingest latency percentiles during the prune, and without a prune for comparison.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from appliance.hub import ingest, retention  # noqa: E402
from appliance.hub.settings import load_hub_settings  # noqa: E402
from appliance.hub.storage.backend import open_database  # noqa: E402
from appliance.hub.storage.database import migrate  # noqa: E402
from tests.hub.conftest import enrol_kit, health_body, signed  # noqa: E402

DAY = 86400


def _fill(db, kits: int, reports: int, now: float) -> dict:
    secrets = {f"bench-{n}": enrol_kit(db, f"bench-{n}", now - 400 * DAY) for n in range(kits)}
    body = json.dumps(health_body("bench"), separators=(",", ":"))
    with db.transaction() as tx:
        for n in range(reports):
            when = now - 200 * DAY + n * 10
            tx.execute(
                "INSERT INTO reports (kit_id, report_id, sequence, kind, made_at, made_unix, clock_synchronised, "
                "received_at, observed_at, cpu_temp_c, disk_percent, wifi_clients, sync_bytes, body) "
                "VALUES (?, ?, ?, 'heartbeat', '2026-01-01T00:00:00Z', 1767225600, 1, ?, ?, 50.0, 40.0, 3, NULL, ?)",
                (f"bench-{n % kits}", str(uuid.uuid4()), 10_000_000 + n, when, when, body),
            )
    return secrets


def open_bench_database(work: Path, backend: str, database_url: str):
    """The hub's database for a bench: a SQLite file under `work`, or the PostgreSQL database at `database_url`."""
    overrides = {"hub_data_dir": str(work / "hub")}
    if backend == "postgresql":
        overrides["hub_database_url"] = database_url
    return open_database(load_hub_settings(environ={}, overrides=overrides))


def _ingest_while(db, secrets: dict, now: float, busy: threading.Event | None, seconds: float) -> list[float]:
    """Store signed heartbeats until `busy` clears (or for `seconds`); each store's latency in ms."""
    latencies, sequence, kit_ids = [], 20_000_000, list(secrets)
    started = time.monotonic()
    while busy.is_set() if busy else time.monotonic() - started < seconds:
        kit_id = kit_ids[sequence % len(kit_ids)]
        sequence += 1
        report, _, _ = signed(secrets[kit_id], kit_id, sequence, health_body(kit_id), made_at=now)
        t0 = time.perf_counter()
        ingest.store(db, report, now)
        latencies.append((time.perf_counter() - t0) * 1000)
    return latencies


def _summary(latencies: list[float]) -> str:
    if not latencies:
        return "no reports stored"
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{len(ordered)} stored, median {statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms, max {ordered[-1]:.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--kits", type=int, default=100)
    parser.add_argument("--reports", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        db = open_bench_database(Path(work), args.backend, args.database_url)
        migrate(db)
        now = time.time()
        secrets = _fill(db, args.kits, args.reports, now)
        print(f"[i] {args.backend}: {args.reports} heartbeats of {args.kits} kits received 200 days ago")
        quiet = _ingest_while(db, secrets, now, None, 5.0)
        print(f"[i] ingest alone (5 s): {_summary(quiet)}")
        busy, result = threading.Event(), {}
        busy.set()

        def prune() -> None:
            t0 = time.perf_counter()
            result["done"] = retention.prune(db, now, 90, 730)
            result["seconds"] = time.perf_counter() - t0
            busy.clear()

        worker = threading.Thread(target=prune)
        worker.start()
        during = _ingest_while(db, secrets, now, busy, 0)
        worker.join()
        done = result["done"]
        print(
            f"[✓] pruned {done.reports} reports into {done.days_folded} kit-day rows in {result['seconds']:.1f} s "
            f"({done.reports / result['seconds']:.0f} reports/s, {done.batches} batches)"
        )
        print(f"[i] ingest during the prune: {_summary(during)}")
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
