"""CPU time and peak memory of one `tpkit report` cycle against a loopback hub (issue 5: < 1 s CPU, < 30 MB).

    .venv/bin/python bench/report_cycle.py [--runs 5] [--out-json bench/results/report_cycle.json]

Each measured cycle is a fresh `tpkit report` process, as the systemd timer starts it; its CPU seconds
(user + system) and peak RSS come from the kernel's rusage of that child (`os.wait4`). Three cases:
the web server running (the heartbeat is its `/-/health`), the web server down (the report process
opens the library itself), and the first cycle back after a week offline (a day of heartbeats folded,
~100 reports delivered). The hub is a small threaded HTTP server in this process that checks every
signature, as the real hub does, so the kit's side is what is measured.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from appliance.config import load_settings
from appliance.edges import minisign
from appliance.protocol import report_file
from appliance.services.kit import open_kit
from appliance.services.library import demo_books
from appliance.services.reporting import cycle as report_cycle


class Hub(BaseHTTPRequestHandler):
    """Accepts enrolment and every correctly signed report (201)."""

    public: minisign.PublicKey | None = None
    stored: set[str] = set()

    def log_message(self, *args) -> None:
        return

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path.endswith("/enrol"):
            Hub.public = minisign.parse_public_key(json.loads(data)["public_key"], "enrol")
            status, body = 201, {"kit_id": "bench"}
        else:
            signature = base64.b64decode(self.headers["Tpkit-Signature"]).decode()
            report = report_file.verify(data, signature, Hub.public, "bench")
            Hub.stored.add(report.report_id)
            status, body = (
                201,
                {
                    "status": "accepted",
                    "report_id": report.report_id,
                    "desired_config": {"version": 1, "sync_channels": ["primary-zh"]},
                },
            )
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Started from a small launcher, not from this (large) process: a forked child's peak RSS counts the
# parent's pages it shares until exec, which would hide the command's own peak.
LAUNCHER = """
import json, os, sys
pid = os.fork()
if pid == 0:
    fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(fd, 1); os.dup2(fd, 2)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(json.dumps([usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)]))
"""


def measure(env: dict[str, str], argv: list[str]) -> tuple[float, float, int]:
    """(CPU seconds, peak RSS in MB, exit status) of one child process."""
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *argv], env=env, capture_output=True, text=True, check=True, timeout=300
    )
    cpu_s, rss_mb, code = json.loads(done.stdout)
    return cpu_s, rss_mb, code


def start_web(env: dict[str, str]) -> subprocess.Popen:
    web = subprocess.Popen(
        [sys.executable, "-m", "appliance", "serve"],
        env={**env, "TPKIT_WEB_WORKERS": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{env['TPKIT_PORT']}/-/health"
    for _ in range(300):
        try:
            with urllib.request.urlopen(url, timeout=1):
                return web
        except OSError:
            time.sleep(0.1)
    web.kill()
    raise SystemExit("tpkit serve did not start")


def cases(runs: int, root: Path, hub_url: str) -> dict[str, list[tuple[float, float, int]]]:
    content = root / "content"
    demo_books.build(content)
    env = {
        **os.environ,
        "TPKIT_DATA_DIR": str(root / "data"),
        "TPKIT_CONTENT_DIR": str(content),
        "TPKIT_PORT": str(free_port()),
        "TPKIT_HUB_URL": hub_url,
        "TPKIT_HUB_ENROL_TOKEN": "bench",
        "TPKIT_MDNS_ENABLED": "false",
        "TPKIT_KIT_ID": "kit-bench",
    }
    report = [sys.executable, "-m", "appliance", "report"]
    results: dict[str, list[tuple[float, float, int]]] = {}
    measure(env, report)  # first run: makes the key and enrols
    web = start_web(env)
    try:
        results["web server running"] = [measure(env, report) for _ in range(runs)]
    finally:
        web.terminate()
        web.wait(timeout=15)
    results["web server down"] = [measure(env, report) for _ in range(runs)]
    results["back after 7 days offline"] = [measure(offline_week(env, root / f"week{i}"), report) for i in range(runs)]
    results["python -c pass (interpreter alone)"] = [measure(env, [sys.executable, "-c", "pass"]) for _ in range(runs)]
    return results


def offline_week(env: dict[str, str], data: Path) -> dict[str, str]:
    """A data folder whose outbox holds a week of heartbeats every 15 minutes, folded as the timer would have."""
    settings = load_settings(
        environ={},
        overrides={"data_dir": str(data), "content_dir": env["TPKIT_CONTENT_DIR"], "kit_id": env["TPKIT_KIT_ID"]},
    )
    kit = open_kit(settings)
    try:
        now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=7)
        while now < dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=15):
            report_cycle.run(kit, now=now)
            now += dt.timedelta(minutes=15)
    finally:
        kit.close()
    return {**env, "TPKIT_DATA_DIR": str(data)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out-json", type=Path)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as folder:
        results = cases(args.runs, Path(folder), f"http://127.0.0.1:{server.server_address[1]}")
    server.shutdown()
    print("| case | CPU s (median, max) | peak RSS MB (median, max) | exit |\n|---|---|---|---|")
    summary = {}
    for name, rows in results.items():
        cpu, rss, codes = [r[0] for r in rows], [r[1] for r in rows], sorted({r[2] for r in rows})
        summary[name] = {"cpu_s": cpu, "peak_rss_mb": rss, "exit": codes}
        print(
            f"| {name} | {statistics.median(cpu):.2f}, {max(cpu):.2f} | {statistics.median(rss):.1f}, "
            f"{max(rss):.1f} | {', '.join(map(str, codes))} |"
        )
    print(
        f"\n{len(Hub.stored)} reports stored by the loopback hub; {args.runs} runs per case; "
        f"{os.cpu_count()} CPUs; {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"
    )
    if args.out_json:
        args.out_json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
