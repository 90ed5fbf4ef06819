"""A two-host network made of namespaces: a "mirror" and a "kit" joined by a veth pair shaped with `tc`.

Nothing leaves the machine: the namespaces have no route but their /24 (and their own loopback).
Used by tests/services/sync/test_uplink_yield.py and bench/uplink.py. Needs root, iproute2 and tc.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

MIRROR_IP, KIT_IP = "10.231.77.1", "10.231.77.2"
KIT_IF, MIRROR_IF = "tpk-kit0", "tpk-mir0"


def why_unavailable() -> str | None:
    """Why a lab cannot be built here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root (./build.sh test runs as root in CI)"
    for tool in ("ip", "tc", "rsync", "ss"):
        if shutil.which(tool) is None:
            return f"{tool} missing: apt-get install iproute2 rsync"
    return None


def _sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


class NetLab:
    """Two namespaces, `<prefix>-mirror` and `<prefix>-kit`; each direction shaped to `rate_mbit`."""

    def __init__(self, prefix: str, rate_mbit: float = 5.0) -> None:
        self.mirror, self.kit, self.rate_mbit = f"{prefix}-mirror", f"{prefix}-kit", rate_mbit
        self._processes: list[subprocess.Popen] = []
        self.close()  # a lab left over by a killed run
        for ns in (self.mirror, self.kit):
            _sh("ip", "netns", "add", ns)
            _sh("ip", "-n", ns, "link", "set", "lo", "up")
        _sh(
            "ip",
            "link",
            "add",
            KIT_IF,
            "netns",
            self.kit,
            "type",
            "veth",
            "peer",
            "name",
            MIRROR_IF,
            "netns",
            self.mirror,
        )
        for ns, interface, address in ((self.kit, KIT_IF, KIT_IP), (self.mirror, MIRROR_IF, MIRROR_IP)):
            _sh("ip", "-n", ns, "addr", "add", f"{address}/24", "dev", interface)
            _sh("ip", "-n", ns, "link", "set", interface, "up")
            # A token bucket as a DSL/4G uplink: the rate, a small burst, and a queue of at most 200 ms.
            _sh(
                "ip",
                "netns",
                "exec",
                ns,
                "tc",
                "qdisc",
                "add",
                "dev",
                interface,
                "root",
                "tbf",
                "rate",
                f"{rate_mbit}mbit",
                "burst",
                "16kb",
                "latency",
                "200ms",
            )

    @property
    def link_bytes_per_s(self) -> float:
        return self.rate_mbit * 1e6 / 8

    def popen(self, ns: str, argv: list[str], **kwargs) -> subprocess.Popen:
        """Start `argv` inside namespace `ns`; stopped by close()."""
        process = subprocess.Popen(["ip", "netns", "exec", ns, *argv], start_new_session=True, **kwargs)
        self._processes.append(process)
        return process

    def run(self, ns: str, argv: list[str], timeout_s: float = 300, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", ns, *argv], timeout=timeout_s, **kwargs)

    def kit_bytes(self) -> int:
        """Bytes received + sent on the kit's side of the link."""
        out = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                self.kit,
                "cat",
                f"/sys/class/net/{KIT_IF}/statistics/rx_bytes",
                f"/sys/class/net/{KIT_IF}/statistics/tx_bytes",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        return sum(int(value) for value in out)

    def rsync_daemon(self, module_dir: Path, port: int = 8873) -> str:
        """An rsync daemon in the mirror namespace serving `module_dir` read-only as `mirror`; its URL."""
        config = module_dir.parent / f"rsyncd-{port}.conf"
        config.write_text(
            f"use chroot = no\npid file =\n[mirror]\npath = {module_dir}\nread only = yes\n"
            "uid = root\ngid = root\ntimeout = 60\n"
        )
        self.popen(
            self.mirror,
            ["rsync", "--daemon", "--no-detach", f"--port={port}", f"--address={MIRROR_IP}", f"--config={config}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            probe = self.run(
                self.kit, ["rsync", f"rsync://{MIRROR_IP}:{port}/"], timeout_s=10, capture_output=True, text=True
            )
            if probe.returncode == 0 and "mirror" in probe.stdout:
                return f"rsync://{MIRROR_IP}:{port}/mirror"
            time.sleep(0.2)
        raise RuntimeError("the rsync daemon in the mirror namespace did not answer")

    def stop(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def close(self) -> None:
        for process in getattr(self, "_processes", []):
            self.stop(process)
        for ns in (self.mirror, self.kit):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)

    def __enter__(self) -> NetLab:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# People's traffic: the mirror streams bytes to whoever connects; the kit reads them for a while.
STREAM_SERVER = """
import socket, sys, threading
server = socket.create_server((sys.argv[1], int(sys.argv[2])), reuse_port=True)
def feed(conn):
    block = b"p" * 65536
    try:
        while True:
            conn.sendall(block)
    except OSError:
        pass
while True:
    conn, _ = server.accept()
    threading.Thread(target=feed, args=(conn,), daemon=True).start()
"""
STREAM_CLIENT = """
import socket, sys, time
with socket.create_connection((sys.argv[1], int(sys.argv[2]))) as conn:
    conn.recv(65536)
    began = time.time()
    end = time.monotonic() + float(sys.argv[3])
    while time.monotonic() < end:
        conn.recv(65536)
print(began, time.time())
"""


class SyncRun:
    """The real `tpkit sync` in the kit namespace against a channel with one book of `book_kb` published by an
    rsync daemon in the mirror namespace; `settings` are more TPKIT_* values. `lines`: (arrival time, line)."""

    def __init__(self, lab: NetLab, work: Path, *, book_kb: int, port: int, settings: dict[str, str]) -> None:
        import sys
        import threading

        from tests.mirror import Mirror

        mirror = Mirror(work / "mirror", work / "keys")
        self.book = mirror.book("big_en", size_kb=book_kb)
        mirror.publish()
        url = lab.rsync_daemon(work / "mirror", port)
        self.installed = work / "kit" / "data" / "content" / "big_en.zim"
        env = {
            **os.environ,
            "TPKIT_DATA_DIR": str(work / "kit" / "data"),
            "TPKIT_CONTENT_DIR": str(self.installed.parent),
            "TPKIT_SYNC_SOURCE": url,
            "TPKIT_SYNC_CHANNELS": "primary-en",
            "TPKIT_TRUSTED_CHANNEL_KEYS": str(mirror.pub),
            "TPKIT_DISK_RESERVE_MB": "1",
            "TPKIT_MDNS_ENABLED": "false",
            "TPKIT_UPLINK_INTERFACE": KIT_IF,
            "PYTHONPATH": str(Path(__file__).parents[1]),
            **settings,
        }
        self.process = lab.popen(
            lab.kit,
            [sys.executable, "-m", "appliance", "sync"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list[tuple[float, str]] = []
        self._reader = threading.Thread(
            target=lambda: self.lines.extend((time.time(), line.rstrip()) for line in self.process.stdout)
        )
        self._reader.start()

    def wait_for(self, words: str, timeout_s: float = 120) -> float | None:
        """When a line containing `words` arrived, waiting for it; None when the sync ended without one."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            seen = first_after(list(self.lines), words)
            if seen is not None or self.process.poll() is not None:
                return seen if seen is not None else first_after(list(self.lines), words)
            time.sleep(0.05)
        return None

    def finish(self, timeout_s: float = 300) -> dict:
        """Sync's exit status, its output lines and the book's SHA-256 on both sides."""
        import hashlib

        code = self.process.wait(timeout=timeout_s)
        self._reader.join(10)
        self.process.stdout.close()

        def digest(path: Path) -> str | None:
            return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None

        return {
            "returncode": code,
            "lines": self.lines,
            "installed_sha256": digest(self.installed),
            "published_sha256": digest(self.book),
        }


def sync_while_people_browse(
    lab: NetLab,
    work: Path,
    *,
    book_kb: int = 5000,
    people_after_s: float = 3.0,
    people_for_s: float = 6.0,
    yield_kbps: int = 24,
    pause_s: float = 1.5,
    resume_s: float = 3.0,
    port: int = 8873,
) -> dict:
    """Run the real `tpkit sync` (SyncRun) and start people's traffic `people_after_s` into the book's download;
    SyncRun.finish()'s answer plus the people's start and end."""
    import sys

    lab.popen(lab.mirror, [sys.executable, "-c", STREAM_SERVER, MIRROR_IP, "9000"])
    run = SyncRun(
        lab,
        work,
        book_kb=book_kb,
        port=port,
        settings={
            "TPKIT_SYNC_YIELD_KBPS": str(yield_kbps),
            "TPKIT_SYNC_YIELD_PAUSE_S": str(pause_s),
            "TPKIT_SYNC_YIELD_RESUME_S": str(resume_s),
        },
    )
    # From the book's first progress line, not from the process's start: on a loaded machine start-up and the
    # index can take seconds, and people arriving before the download would measure nothing.
    run.wait_for("%")
    time.sleep(people_after_s)
    client = lab.run(
        lab.kit,
        [sys.executable, "-c", STREAM_CLIENT, MIRROR_IP, "9000", str(people_for_s)],
        timeout_s=60,
        capture_output=True,
        text=True,
        check=True,
    )
    people_start, people_end = map(float, client.stdout.split())
    return {**run.finish(), "people_start": people_start, "people_end": people_end}


def first_after(lines: list[tuple[float, str]], words: str) -> float | None:
    """When the first output line containing `words` arrived."""
    return next((at for at, line in lines if words in line), None)
