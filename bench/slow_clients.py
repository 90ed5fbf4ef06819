"""Slow clients against a real `tpkit serve` on loopback (issue 14): N idle half-open connections (connected, never
a byte) and M slowloris connections (a request head sent a line at a time, never finished), held while a probe asks
for the home page; reports the probe's latency, and how long the server took to drop the attackers.

    .venv/bin/python bench/slow_clients.py --idle 2000 --partial 200 --hold-s 30

The server runs as its unit does (`tpkit serve`, web_workers=2) with the unit's LimitNOFILE (--nofile); loopback only.
Exit 0 when every probe answered 200 in under --probe-max-s, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HOST = "127.0.0.1"
UNIT_NOFILE = 8192  # systemd/tpkit-web.service LimitNOFILE=


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def tpkit_serve(data_dir: Path, workers: int = 2, nofile: int = UNIT_NOFILE) -> Iterator[int]:
    """`tpkit serve` on a free loopback port, with `nofile` file descriptors as LimitNOFILE gives it; its port."""
    port = free_port()
    config = data_dir / "kit.toml"
    config.write_text(f'data_dir = "{data_dir / "data"}"\nweb_workers = {workers}\nmdns_enabled = false\n')
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TPKIT_")},
        "TPKIT_CONFIG": str(config),
        "TPKIT_HOST": HOST,
        "TPKIT_PORT": str(port),
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("tpkit")), "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile)),
    )
    try:
        deadline = time.monotonic() + 60
        while probe(port, timeout_s=1)[0] != 200:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"tpkit serve did not answer on port {port} within 60 s")
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def probe(port: int, timeout_s: float = 5) -> tuple[int, float]:
    """(status, seconds) of one GET / on a new connection; status 0 when it failed."""
    started = time.monotonic()
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout_s)
    try:
        connection.request("GET", "/")
        reply = connection.getresponse()
        reply.read()
        return reply.status, time.monotonic() - started
    except OSError:
        return 0, time.monotonic() - started
    finally:
        connection.close()


def open_attackers(port: int, idle: int, partial: int) -> list[socket.socket]:
    """`idle` connections that send nothing and `partial` that send the start of a request head."""
    sockets = []
    for n in range(idle + partial):
        sock = socket.create_connection((HOST, port), timeout=5)
        if n >= idle:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: kit\r\n")
        sockets.append(sock)
    return sockets


def dribble(sockets: list[socket.socket], idle: int) -> None:
    """One more header line on each slowloris connection (what keeps a server that resets timers on data waiting)."""
    for sock in sockets[idle:]:
        with contextlib.suppress(OSError):
            sock.sendall(b"X-Slow: 1\r\n")


def dropped(sockets: list[socket.socket]) -> int:
    """How many of `sockets` the server has closed (reads end of file or a reset without waiting)."""
    count = 0
    for sock in sockets:
        sock.setblocking(False)
        try:
            count += sock.recv(1) == b""
        except BlockingIOError:
            pass
        except OSError:
            count += 1
    return count


def run(
    idle: int, partial: int, hold_s: float, probe_every_s: float = 0.5, workers: int = 2, nofile: int = UNIT_NOFILE
) -> dict:
    """Hold the attack for `hold_s` while probing; the figures as a dict."""
    want = idle + partial + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    with tempfile.TemporaryDirectory() as folder, tpkit_serve(Path(folder), workers, nofile) as port:
        started = time.monotonic()
        sockets = open_attackers(port, idle, partial)
        opened_s = time.monotonic() - started
        latencies, failures, all_dropped_s = [], 0, None
        while time.monotonic() - started < hold_s:
            status, seconds = probe(port)
            latencies.append(seconds)
            failures += status != 200
            dribble(sockets, idle)
            if all_dropped_s is None and dropped(sockets) == len(sockets):
                all_dropped_s = round(time.monotonic() - started, 1)
            time.sleep(probe_every_s)
        still_open = len(sockets) - dropped(sockets)
        for sock in sockets:
            sock.close()
    return {
        "idle": idle,
        "partial": partial,
        "workers": workers,
        "nofile": nofile,
        "hold_s": hold_s,
        "opened_s": round(opened_s, 2),
        "probes": len(latencies),
        "probe_failures": failures,
        "probe_median_s": round(statistics.median(latencies), 3),
        "probe_max_s": round(max(latencies), 3),
        "attackers_dropped_after_s": all_dropped_s,
        "attackers_still_open": still_open,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=int, default=2000, help="idle half-open connections (default 2000)")
    parser.add_argument("--partial", type=int, default=200, help="slowloris connections (default 200)")
    parser.add_argument("--hold-s", type=float, default=30, help="how long to hold them (default 30)")
    parser.add_argument("--workers", type=int, default=2, help="web_workers of the server (default 2)")
    parser.add_argument("--nofile", type=int, default=UNIT_NOFILE, help="the server's file descriptor limit")
    parser.add_argument("--probe-max-s", type=float, default=1.0, help="the slowest probe allowed (default 1 s)")
    args = parser.parse_args()
    found = run(args.idle, args.partial, args.hold_s, workers=args.workers, nofile=args.nofile)
    print(json.dumps(found, indent=2))
    ok = found["probe_failures"] == 0 and found["probe_max_s"] < args.probe_max_s
    print(
        f"[{'✓' if ok else '✗'}] probe: {found['probes']} pages, slowest {found['probe_max_s']} s, "
        f"{found['probe_failures']} failed"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
