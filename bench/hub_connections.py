"""Database connections of a real `tpkit hub serve` over a long mixed run (issue 20, item 1): kits reporting,
Prometheus scraping, a technician reading pages and bursts of concurrent pages further apart than the ASGI thread
pool's idle retirement (anyio: 10 s), for `--minutes`, with the hub's connections counted every 5 s.

    .venv/bin/python bench/hub_connections.py --database-url 'postgresql://postgres@/conns?host=/tmp/pg' --minutes 30
    .venv/bin/python bench/hub_connections.py --backend sqlite --minutes 30

Setup (not timed): `--kits` kits enrolled with keys of their own, written straight into the database. Then, at
once: signed heartbeats POSTed at `--reports-per-s` (each kit in turn, its sequence rising), `GET /metrics` every
15 s, one technician reading a page every 15 s, and every `--burst-every` s a burst of `--burst` concurrent pages
(fleet, alerts, rollout, CSV). Counted: PostgreSQL's `pg_stat_activity` for the hub's database, or on SQLite the
workers' open descriptors of the database file. Prints per 5-minute window the fewest and most connections, the
requests of each kind, how many were not answered 2xx, and p95 latencies; then whether the count stayed within
hub_workers × hub_database_pool_size (plus one for the serve process' own).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from appliance.hub.settings import load_hub_settings  # noqa: E402
from appliance.hub.storage.backend import database_path  # noqa: E402
from appliance.hub.storage.database import POOL_SIZE  # noqa: E402
from appliance.protocol import report_file  # noqa: E402
from bench.hub_ingest import enrol  # noqa: E402
from tests.hub.conftest import health_body  # noqa: E402
from tests.hub.test_connections import PAGES, WORKERS, _descriptors_of, _workers, hub_serving, signed_in  # noqa: E402

WINDOW_S = 300
SAMPLE_S = 5


class Log:
    """(time, kind, status, seconds) of every request, and (time, connections) of every sample, shared by threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[tuple[float, str, int, float]] = []
        self.samples: list[tuple[float, int]] = []

    def timed(self, kind: str, call) -> None:
        started = time.monotonic()
        try:
            status = call().status_code
        except httpx.HTTPError:
            status = 0
        with self.lock:
            self.requests.append((started, kind, status, time.monotonic() - started))


def reporter(url: str, secrets_: list, rate: float, until: float, log: Log) -> None:
    sequence = [0] * len(secrets_)
    n = 0
    with httpx.Client(base_url=url, timeout=60) as client:
        while time.monotonic() < until:
            due = time.monotonic() + 1 / rate
            kit = n % len(secrets_)
            sequence[kit] += 1
            kit_id = f"kit-{kit:05d}"
            report = report_file.Report.new(
                kit_id, sequence[kit], "heartbeat", health_body(kit_id, temp_c=40 + kit % 35), clock_synchronised=True
            )
            payload = report_file.encode(report)
            signature = base64.b64encode(report_file.sign(secrets_[kit], report, payload).encode()).decode()
            headers = {
                "Content-Type": report_file.MEDIA_TYPE,
                "Tpkit-Kit-Id": kit_id,
                "Tpkit-Signature": signature,
            }
            log.timed("report", lambda p=payload, h=headers: client.post("/api/v1/reports", content=p, headers=h))
            n += 1
            time.sleep(max(0.0, due - time.monotonic()))


def every(period: float, until: float, action) -> None:
    due = time.monotonic()
    while due < until:
        action()
        due += period
        time.sleep(max(0.0, due - time.monotonic()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--database-url", default="", help="an empty PostgreSQL database (--backend postgresql)")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--kits", type=int, default=2000)
    parser.add_argument("--reports-per-s", type=float, default=20.0)
    parser.add_argument("--burst", type=int, default=60, help="concurrent pages a burst")
    parser.add_argument("--burst-every", type=float, default=11.5, help="seconds between bursts (> anyio's 10 s)")
    args = parser.parse_args()
    if args.backend == "postgresql" and not args.database_url:
        parser.error("--backend postgresql needs --database-url")
    folder = Path(tempfile.mkdtemp(prefix="hub-connections-"))
    overrides = {"hub_data_dir": str(folder)}
    if args.backend == "postgresql":
        overrides["hub_database_url"] = args.database_url
    settings = load_hub_settings(environ={}, overrides=overrides)
    secrets_ = enrol(settings, args.kits)
    log = Log()
    with contextlib.ExitStack() as stack:
        server, url, password = stack.enter_context(hub_serving(settings, folder / "serve.log"))
        if args.backend == "postgresql":
            import psycopg

            database = urlsplit(args.database_url).path.lstrip("/")
            admin_url = args.database_url.replace(f"/{database}?", "/postgres?", 1)
            admin = stack.enter_context(psycopg.connect(admin_url, autocommit=True))

            def connections() -> int:
                row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)).fetchone()
                return row[0] if row else 0

        else:
            path = database_path(settings).resolve()

            def connections() -> int:
                return sum(_descriptors_of(pid, path) for pid in _workers(server.pid))

        technician = stack.enter_context(
            httpx.Client(base_url=url, timeout=120, limits=httpx.Limits(max_connections=args.burst))
        )
        signed_in(technician, password)
        started = time.monotonic()
        until = started + args.minutes * 60
        pages = iter(range(10**9))

        def burst() -> None:
            with ThreadPoolExecutor(args.burst) as senders:
                for n in range(args.burst):
                    path = PAGES[n % len(PAGES)]
                    senders.submit(log.timed, "burst", lambda path=path: technician.get(path))

        def sample() -> None:
            with log.lock:
                log.samples.append((time.monotonic(), connections()))

        threads = [
            threading.Thread(target=reporter, args=(url, secrets_, args.reports_per_s, until, log)),
            threading.Thread(
                target=every, args=(15, until, lambda: log.timed("metrics", lambda: technician.get("/metrics")))
            ),
            threading.Thread(
                target=every,
                args=(15, until, lambda: log.timed("page", lambda: technician.get(PAGES[next(pages) % 2]))),
            ),
            threading.Thread(target=every, args=(args.burst_every, until, burst)),
            threading.Thread(target=every, args=(SAMPLE_S, until, sample)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sample()
    bound = WORKERS * POOL_SIZE + (1 if args.backend == "postgresql" else 0)
    print(
        f"{args.backend}, {args.kits} kits, {args.minutes:g} min: reports {args.reports_per_s:g}/s, /metrics and a "
        f"page every 15 s, {args.burst} pages at once every {args.burst_every:g} s; bound {bound} connections"
    )
    print("window   connections min-max   reports (not 2xx, p95 ms)   bursts   pages+metrics")
    for window in range(int(args.minutes * 60 // WINDOW_S) + 1):
        low, high = started + window * WINDOW_S, started + (window + 1) * WINDOW_S
        counts = [c for t, c in log.samples if low <= t < high]
        if not counts:
            continue
        cells = []
        for kinds in (("report",), ("burst",), ("page", "metrics")):
            rows = [r for r in log.requests if low <= r[0] < high and r[1] in kinds]
            bad = sum(1 for r in rows if not 200 <= r[2] < 300)
            times = sorted(r[3] for r in rows)
            p95 = times[max(0, round(0.95 * len(times)) - 1)] * 1000 if times else 0.0
            cells.append(f"{len(rows):6} ({bad}, {p95:7.0f})")
        print(f"{window * 5:3}-{window * 5 + 5:<3} min   {min(counts):3} - {max(counts):<3}   " + "   ".join(cells))
    every_count = [c for _, c in log.samples]
    bad = [r for r in log.requests if not 200 <= r[2] < 300]
    print(
        f"connections: median {statistics.median(every_count):g}, max {max(every_count)} (bound {bound}); "
        f"requests {len(log.requests)}, not 2xx {len(bad)} {sorted({r[2] for r in bad})}"
    )


if __name__ == "__main__":
    main()
