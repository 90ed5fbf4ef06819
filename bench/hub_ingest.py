"""Ingest throughput of the county hub: simulated kits post signed, compressed heartbeats to a real
`tpkit hub serve` (uvicorn worker processes) on loopback.

    .venv/bin/python bench/hub_ingest.py --backend sqlite
    .venv/bin/python bench/hub_ingest.py --backend postgresql --database-url postgresql://postgres@/hubbench?host=/tmp/pg

Setup (not timed): N kits get keys and are written as enrolled straight into the database (one transaction);
every kit's reports are signed in advance. Timed: `--rounds` heartbeats per kit, sent over `--connections`
keep-alive connections by one asyncio client (raw HTTP/1.1 on uvloop, one read per reply: the cheapest client
Python has, because it shares the 2 cores with the hub). Prints reports/s, latency percentiles, the hub's peak
RSS (parent + workers), CPU per report of the hub, of this client and (with `--postgres-pid`) of the PostgreSQL
server, and the load average before and after (other work on the machine skews every figure but CPU per report).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from appliance.edges import minisign  # noqa: E402
from appliance.hub.settings import load_hub_settings  # noqa: E402
from appliance.hub.storage.backend import open_database  # noqa: E402
from appliance.hub.storage.database import migrate  # noqa: E402
from appliance.protocol import report_file  # noqa: E402
from tests.hub.conftest import health_body  # noqa: E402


def enrol(settings, kits: int) -> list:
    """`kits` kits (kit-00000…) with fresh keys, written straight into the database as enrolled; their secret keys."""
    db = open_database(settings)
    migrate(db)
    secrets_ = [minisign.generate() for _ in range(kits)]
    now = time.time()
    with db.transaction() as tx:
        for n, secret in enumerate(secrets_):
            tx.execute(
                "INSERT INTO kits (kit_id, school, district, location, registered_at, public_key, enrolled_at) "
                "VALUES (?, ?, ?, '', ?, ?, ?)",
                (f"kit-{n:05d}", f"School {n % 2000}", f"District {n % 40}", now, secret.public.line, now),
            )
    db.close()
    return secrets_


def prepare(settings, kits: int, rounds: int) -> list[bytes]:
    """Enrol `kits` kits with fresh keys; return every request (headers + signed body), round by round."""
    secrets_ = enrol(settings, kits)
    requests = []
    for sequence in range(1, rounds + 1):
        for n, secret in enumerate(secrets_):
            kit_id = f"kit-{n:05d}"
            report = report_file.Report.new(
                kit_id, sequence, "heartbeat", health_body(kit_id, temp_c=40 + n % 30), clock_synchronised=True
            )
            payload = report_file.encode(report)
            signature = base64.b64encode(report_file.sign(secret, report, payload).encode()).decode()
            head = (
                f"POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {report_file.MEDIA_TYPE}\r\n"
                f"Tpkit-Kit-Id: {kit_id}\r\nTpkit-Signature: {signature}\r\nContent-Length: {len(payload)}\r\n\r\n"
            )
            requests.append(head.encode() + payload)
    return requests


async def _connection(port: int, queue: list[bytes], latencies: list[float], statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while queue:
        request = queue.pop()
        start = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")  # the hub's replies are small, one read each
        at = head.lower().find(b"content-length:")
        length = int(head[at + 15 : head.index(b"\r\n", at)]) if at >= 0 else 0
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - start)
        status = int(head[9:12])
        statuses[status] = statuses.get(status, 0) + 1
    writer.close()


async def send(port: int, requests: list[bytes], connections: int) -> tuple[float, list[float], dict[int, int]]:
    queue = list(reversed(requests))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start = time.perf_counter()
    await asyncio.gather(*(_connection(port, queue, latencies, statuses) for _ in range(connections)))
    return time.perf_counter() - start, latencies, statuses


def _loop_factory():
    """uvloop when installed (uvicorn[standard] brings it): the client then costs the shared cores less."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _tree(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [pid, *(int(p) for p in children.read_text().split())] if children.exists() else [pid]


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds used so far by a process and its children (uvicorn's parent and workers)."""
    total = 0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except FileNotFoundError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


def tree_rss_bytes(pid: int) -> int:
    """RSS of a process and its children (uvicorn's parent and workers)."""
    total = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except FileNotFoundError:
            pass
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", default="", help="an empty PostgreSQL database (for --backend postgresql)")
    parser.add_argument("--kits", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2, help="heartbeats per kit")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--port", type=int, default=18090)
    parser.add_argument(
        "--postgres-pid",
        type=int,
        default=0,
        help="the postmaster's pid (head -1 DATA/postmaster.pid), to count the server's CPU too",
    )
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    folder = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    env = {
        **os.environ,
        "TPKIT_HUB_DATA_DIR": str(folder),
        "TPKIT_HUB_DATABASE_URL": args.database_url if args.backend == "postgresql" else "",
        "TPKIT_LOG_LEVEL": "warning",
    }
    settings = load_hub_settings(environ={k: v for k, v in env.items() if k.startswith("TPKIT_HUB")})
    started = time.perf_counter()
    requests = prepare(settings, args.kits, args.rounds)
    print(
        f"setup: {args.kits} kits enrolled, {len(requests)} reports signed in {time.perf_counter() - started:.1f} s "
        f"(~{statistics.mean(len(r) for r in requests):.0f} bytes per request)",
        flush=True,
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "appliance",
            "hub",
            "serve",
            "--hub-port",
            str(args.port),
            "--hub-workers",
            str(args.workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/-/alive", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        peak, stop = [0], threading.Event()

        def sample() -> None:
            while not stop.wait(0.2):
                peak[0] = max(peak[0], tree_rss_bytes(server.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        cpu_before, client_before = tree_cpu_s(server.pid), time.process_time()
        db_before = tree_cpu_s(args.postgres_pid) if args.postgres_pid else 0.0
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            elapsed, latencies, statuses = runner.run(send(args.port, requests, args.connections))
        cpu_used, client_used = tree_cpu_s(server.pid) - cpu_before, time.process_time() - client_before
        db_used = tree_cpu_s(args.postgres_pid) - db_before if args.postgres_pid else None
        stop.set()
        sampler.join()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)
    latencies.sort()
    result = {
        "backend": args.backend,
        "kits": args.kits,
        "reports": len(requests),
        "workers": args.workers,
        "connections": args.connections,
        "seconds": round(elapsed, 2),
        "reports_per_s": round(len(requests) / elapsed),
        "statuses": statuses,
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
        "hub_cpu_ms_per_report": round(cpu_used / len(requests) * 1000, 2),
        "client_cpu_ms_per_report": round(client_used / len(requests) * 1000, 2),
        "postgres_cpu_ms_per_report": None if db_used is None else round(db_used / len(requests) * 1000, 2),
        "hub_peak_rss_mb": round(peak[0] / 2**20),
        "load_average_1min_at_end": os.getloadavg()[0],
        "load_average_before": load_before,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
