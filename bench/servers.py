"""Lifecycle and memory measurement of the HTTP servers under test.

A ManagedServer spawns one server from a command template in its own process
group on a fresh 127.0.0.1 port, polls it until a URL answers 200, notices when
it dies (e.g. a segfault) and can restart it.  A MemorySampler thread sums
RssAnon over the server process and all its descendants, read from /proc.
"""

from __future__ import annotations

import http.client
import os
import shlex
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

HOST = "127.0.0.1"


class ServerDied(RuntimeError):
    """The server process exited while we were waiting for it."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, dict, bytes]:
    """One GET without following redirects; returns (status, headers, body)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def read_status_kb(pid: int, field: str, source: str = "status") -> int:
    """A '<field>: N kB' value from /proc/PID/<source> (status, or smaps_rollup), 0 if gone or absent."""
    try:
        with open(f"/proc/{pid}/{source}") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0  # the process has exited between listing and reading: it holds no memory
    return 0


def children_map() -> dict[int, list[int]]:
    """Parent pid -> child pids for every process visible in /proc."""
    tree: dict[int, list[int]] = {}
    with os.scandir("/proc") as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def process_tree(root: int) -> list[int]:
    tree, todo, found = children_map(), [root], []
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(tree.get(pid, []))
    return found


def tree_rss_anon_kb(root: int) -> int:
    """RssAnon summed over a process and all its descendants, in kB."""
    return sum(read_status_kb(pid, "RssAnon") for pid in process_tree(root))


def read_pss_anon_kb(pid: int) -> int:
    """Pss_Anon from /proc/PID/smaps_rollup: the process's anonymous memory, a page shared by n processes counted
    1/n (forked workers share their parent's pages until they write them; RssAnon counts such a page in each)."""
    return read_status_kb(pid, "Pss_Anon", source="smaps_rollup")


def tree_pss_anon_kb(root: int) -> int:
    """Pss_Anon summed over a process and all its descendants, in kB: what their anonymous memory holds of the RAM."""
    return sum(read_pss_anon_kb(pid) for pid in process_tree(root))


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu_s(root: int) -> float:
    """User + system CPU seconds of a process and its live descendants (/proc/PID/stat utime, stime)."""
    total = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue  # gone between listing and reading
    return total / CLOCK_TICKS


class MemorySampler(threading.Thread):
    """Samples a server's tree RssAnon (and Pss_Anon) every `interval` seconds, tracking peaks."""

    def __init__(self, server: ManagedServer, interval: float = 0.5):
        super().__init__(daemon=True, name=f"mem-{server.name}")
        self.server, self.interval = server, interval
        self.peak_kb = 0
        self.pss_peak_kb = 0
        self.window_peak_kb = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            pid = self.server.pid()
            if pid is not None:
                tree = process_tree(pid)  # one walk of /proc for both figures
                value = sum(read_status_kb(one, "RssAnon") for one in tree)
                self.peak_kb = max(self.peak_kb, value)
                self.pss_peak_kb = max(self.pss_peak_kb, sum(read_pss_anon_kb(one) for one in tree))
                self.window_peak_kb = max(self.window_peak_kb, value)
            self._stop_event.wait(self.interval)

    def take_window_peak(self) -> int:
        """Peak since the previous call (one benchmark cell), then reset."""
        value, self.window_peak_kb = self.window_peak_kb, 0
        return value

    def stop(self) -> None:
        self._stop_event.set()


class ManagedServer:
    """One server under test, started from a `str.format` command template."""

    def __init__(self, name: str, template: str, fields: dict, log_dir: Path):
        self.name, self.template, self.fields = name, template, fields
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.spawned_at = 0.0
        self.restarts = 0
        self.sampler = MemorySampler(self)

    def command(self) -> list[str]:
        return shlex.split(self.template.format(port=self.port, **self.fields))

    def spawn(self) -> None:
        """Start the process on a new port (a crashed server may leave TIME_WAITs)."""
        self.port = free_port()
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== spawn: {shlex.join(self.command())}\n".encode())
            log.flush()
            self.spawned_at = time.monotonic()
            self.proc = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )

    def wait_ready(self, path: str, timeout: float = 60.0, poll: float = 0.02) -> float:
        """Poll `path` until it answers 200; return seconds since spawn."""
        deadline = self.spawned_at + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise ServerDied(f"{self.name} exited during startup: {self.exit_reason()}")
            try:
                if http_get(self.port, path, timeout=2.0)[0] == 200:
                    return time.monotonic() - self.spawned_at
            except OSError:
                time.sleep(poll)  # not listening yet
                continue
            time.sleep(poll)
        raise TimeoutError(f"{self.name} did not answer 200 on {path} within {timeout} s")

    def start(self, ready_path: str) -> float:
        self.spawn()
        return self.wait_ready(ready_path)

    def restart(self, ready_path: str) -> float:
        self.stop()
        self.restarts += 1
        return self.start(ready_path)

    def pid(self) -> int | None:
        return self.proc.pid if self.alive() else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def exit_reason(self) -> str:
        code = self.proc.poll() if self.proc else None
        if code is None:
            return "running"
        if code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    def rss_anon_kb(self) -> int:
        pid = self.pid()
        return tree_rss_anon_kb(pid) if pid else 0

    def pss_anon_kb(self) -> int:
        pid = self.pid()
        return tree_pss_anon_kb(pid) if pid else 0

    def stop(self) -> None:
        """Terminate our own process group (pgid == our child's pid)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait(timeout=5)
        self._signal_group(signal.SIGKILL)  # stray children of a crashed leader

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return  # the group is already gone
