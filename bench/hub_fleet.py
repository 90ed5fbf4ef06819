"""What a technician reads on a big hub: the fleet table, a search, a filtered page, the alerts page, the CSV and
/metrics, timed against a real `tpkit hub serve` on loopback with N kits (issue 20).

    .venv/bin/python bench/hub_fleet.py --kits 1000,10000,100000
    .venv/bin/python bench/hub_fleet.py --kits 10000 --backend postgresql --database-url postgresql://postgres@/x?host=/tmp/pg

Setup (not timed): N kits are registered straight into the database and each gets one heartbeat through the hub's
own ingest (`ingest.store_group`, 1,000 a transaction): one kit in 8 hot, one in 8 with a full disk, one in 8 silent
for 7 hours, one in 16 never heard (43 % of the fleet not ok; `--sick-every 40`: 8.7 %). Timed: `--requests` sequential requests per page by one signed-in technician
(client-side times on loopback: the server's time plus a loopback round trip), p50 and p95; the size of each
answer; the hub's peak RSS (parent and workers) while they run. Run from a worktree of an older commit (with this
file copied in) to compare with that code in the same hour.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path.cwd() if (Path.cwd() / "appliance").is_dir() else Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from appliance.hub import ingest, technicians  # noqa: E402
from appliance.hub.settings import load_hub_settings  # noqa: E402
from appliance.hub.storage.backend import open_database  # noqa: E402
from appliance.hub.storage.database import migrate  # noqa: E402
from appliance.protocol import report_file  # noqa: E402
from bench.hub_ingest import tree_rss_bytes  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.hub.conftest import health_body  # noqa: E402

KEY = "RWQbench"  # a stand-in key line: setup stores reports through ingest without signatures
PAGES = (
    ("fleet, page 1", "/"),
    ("fleet, search", "/?q=School+123"),
    ("fleet, critical, page 3", "/?status=critical&page=3"),
    ("alerts", "/alerts"),
    ("fleet.csv", "/fleet.csv"),
    ("/metrics", "/metrics"),
    ("kit page (its history)", "/kits/kit-000000"),
)


def build(settings, kits: int, sick_every: int = 8, history_kits: int = 0, history_days: int = 0) -> None:
    """Register `kits` kits and store one heartbeat for each (most of them) through the hub's ingest: of every
    `sick_every` kits one is hot, one has a full disk and one is silent; one in 2 × `sick_every` never reported."""
    db = open_database(settings)
    migrate(db)
    now = time.time()
    with db.transaction() as tx:
        for n in range(kits):
            tx.execute(
                "INSERT INTO kits (kit_id, school, district, location, registered_at, public_key, enrolled_at) "
                "VALUES (?, ?, ?, '', ?, ?, ?)",
                (f"kit-{n:06d}", f"School {n % 5000}", f"District {n % 40}", now, KEY, now),
            )
    batch: list = []
    for n in range(kits):
        if n % (2 * sick_every) == 2 * sick_every - 1:
            continue  # never heard
        kind = n % sick_every
        body = health_body(f"kit-{n:06d}", temp_c=75.0 if kind == 1 else 50.0, disk_percent=98.0 if kind == 2 else 40.0)
        when = now - 7 * 3600 if kind == 3 else now - 60
        made = report_file.Report.new(
            f"kit-{n:06d}",
            1,
            "heartbeat",
            body,
            clock_synchronised=True,
            now=dt.datetime.fromtimestamp(when, dt.timezone.utc),
        )
        batch.append((made, KEY, when))
        if len(batch) == 1000:
            ingest.store_group(db, batch)
            batch = []
    ingest.store_group(db, batch)
    history(db, history_kits, history_days, now)
    db.close()


def history(db, kits: int, days: int, now: float) -> None:
    """`days` of 15-minute heartbeats (and a daily summary a day) before the newest one, for the first `kits` kits
    (healthy ones: kit-000000 is one), through the hub's own ingest, 1,000 a transaction."""
    batch: list = []
    for n in range(kits):
        kit_id = f"kit-{n:06d}"
        for k in range(days * 96, 0, -1):
            when = now - 60 - k * 900
            stamp = dt.datetime.fromtimestamp(when, dt.timezone.utc)
            body = health_body(kit_id, temp_c=45.0 + k % 20, disk_percent=40.0 + k / (days * 96))
            made = report_file.Report.new(
                kit_id, 2 + days * 96 - k, "heartbeat", body, clock_synchronised=True, now=stamp
            )
            batch.append((made, KEY, when))
            if len(batch) == 1000:
                ingest.store_group(db, batch)
                batch = []
    ingest.store_group(db, batch)


def signed_in(client: httpx.Client, password: str) -> None:
    form = client.get("/signin").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    client.post("/signin", data={"csrf": csrf, "username": "technician", "password": password})
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/password").text).group(1)
    client.post("/password", data={"csrf": csrf, "current": password, "password": "a county password"})


def _timed(rows: list[float]) -> dict:
    rows.sort()
    return {"p50_ms": statistics.median(rows) * 1000, "p95_ms": rows[max(0, round(0.95 * len(rows)) - 1)] * 1000}


def together(base: str, technicians_: int, requests: int) -> dict:
    """`technicians_` signed-in technicians (one session each) reading every page `requests` times at once."""
    times: dict[str, list[float]] = {name: [] for name, _ in PAGES}

    def technician() -> None:
        with httpx.Client(base_url=base, timeout=600) as client:
            form = client.get("/signin").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
            client.post("/signin", data={"csrf": csrf, "username": "technician", "password": "a county password"})
            for _ in range(requests):
                for name, path in PAGES:
                    started = time.perf_counter()
                    assert client.get(path).status_code == 200, path
                    times[name].append(time.perf_counter() - started)

    threads = [threading.Thread(target=technician) for _ in range(technicians_)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {name: _timed(rows) for name, rows in times.items()}


def in_chromium(base: str, requests: int) -> dict:
    """Headless Chromium (no JavaScript, as the pages need none): navigation to the page's load event."""
    from playwright.sync_api import sync_playwright

    found: dict[str, list[float]] = {"/": [], "/alerts": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_context(java_script_enabled=False).new_page()
        page.goto(base + "/signin")
        page.fill("input[name=username]", "technician")
        page.fill("input[name=password]", "a county password")
        page.click("main button")
        for _ in range(requests):
            for path, rows in found.items():
                started = time.perf_counter()
                page.goto(base + path, wait_until="load")
                rows.append(time.perf_counter() - started)
        browser.close()
    return {f"Chromium {path}": _timed(rows) for path, rows in found.items()}


def measure(settings, env: dict[str, str], requests: int, technicians_: int = 1, browser: bool = False) -> dict:
    db = open_database(settings)
    password = technicians.ensure_first(db, time.time())
    db.close()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "appliance", "hub", "serve", "--hub-port", str(port)],
        env={**env, "TPKIT_LOG_LEVEL": "warning"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    peak = [0]
    running = [True]

    def sample() -> None:
        while running[0]:
            peak[0] = max(peak[0], tree_rss_bytes(server.pid))
            time.sleep(0.05)

    result: dict = {}
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/-/alive", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the hub did not start")
            time.sleep(0.2)
        with httpx.Client(base_url=base, timeout=600) as client:
            signed_in(client, password or "")
            threading.Thread(target=sample, daemon=True).start()
            for name, path in PAGES:
                times, size = [], 0
                for _ in range(requests):
                    started = time.perf_counter()
                    answer = client.get(path)
                    times.append(time.perf_counter() - started)
                    assert answer.status_code == 200, (path, answer.status_code)
                    size = len(answer.content)
                times.sort()
                result[name] = {
                    "p50_ms": statistics.median(times) * 1000,
                    "p95_ms": times[max(0, round(0.95 * len(times)) - 1)] * 1000,
                    "bytes": size,
                }
        result["peak_rss_mb"] = peak[0] / 2**20
        if technicians_ > 1:
            peak[0] = 0
            result["together"] = together(base, technicians_, requests)
            result["peak_rss_together_mb"] = peak[0] / 2**20
        if browser:
            result["browser"] = in_chromium(base, requests)
    finally:
        running[0] = False
        server.terminate()
        server.wait(30)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kits", default="1000,10000", help="comma-separated fleet sizes")
    parser.add_argument("--requests", type=int, default=20, help="requests per page")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", default="", help="an empty PostgreSQL database (--backend postgresql)")
    parser.add_argument(
        "--metrics-kits", default="", help="hub_metrics_kits: auto, all or alerting (default: the hub's own default)"
    )
    parser.add_argument("--technicians", type=int, default=1, help="then this many technicians at once")
    parser.add_argument("--browser", action="store_true", help="then the fleet and alerts pages in headless Chromium")
    parser.add_argument("--history-kits", type=int, default=0, help="kits given --history-days of heartbeats")
    parser.add_argument("--history-days", type=int, default=0, help="days of 15-minute heartbeats for those kits")
    parser.add_argument(
        "--sick-every", type=int, default=8, help="of every N kits one is hot, one full, one silent (8: 43 %% not ok)"
    )
    args = parser.parse_args()
    for kits in (int(k) for k in args.kits.split(",")):
        folder = Path(tempfile.mkdtemp(prefix="hub-fleet-"))
        env = {**os.environ, "TPKIT_HUB_DATA_DIR": str(folder)}
        if args.metrics_kits:  # (older hubs do not know the setting)
            env["TPKIT_HUB_METRICS_KITS"] = args.metrics_kits
        overrides = {"hub_data_dir": str(folder)}
        if args.backend == "postgresql":
            env["TPKIT_HUB_DATABASE_URL"] = overrides["hub_database_url"] = args.database_url
        settings = load_hub_settings(environ={}, overrides=overrides)
        started = time.perf_counter()
        build(settings, kits, args.sick_every, args.history_kits, args.history_days)
        print(
            f"{kits} kits ({args.backend}, hub_metrics_kits={args.metrics_kits or 'default'}): built in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        found = measure(settings, env, args.requests, args.technicians, args.browser)
        for name, _ in PAGES:
            row = found[name]
            print(
                f"  {name:26} p50 {row['p50_ms']:8.1f} ms  p95 {row['p95_ms']:8.1f} ms  {row['bytes'] / 1e6:7.2f} MB",
                flush=True,
            )
        print(f"  hub peak RSS (parent + workers): {found['peak_rss_mb']:.0f} MB", flush=True)
        if "together" in found:
            print(f"  {args.technicians} technicians at once:", flush=True)
            for name, row in found["together"].items():
                print(f"    {name:24} p50 {row['p50_ms']:8.1f} ms  p95 {row['p95_ms']:8.1f} ms", flush=True)
            print(f"    hub peak RSS: {found['peak_rss_together_mb']:.0f} MB", flush=True)
        for name, row in found.get("browser", {}).items():
            print(f"  {name:26} p50 {row['p50_ms']:8.1f} ms  p95 {row['p95_ms']:8.1f} ms", flush=True)
        shutil.rmtree(folder, ignore_errors=True)
        if args.backend == "postgresql":
            print("  (drop and recreate the database before the next size)", flush=True)
            break


if __name__ == "__main__":
    main()
