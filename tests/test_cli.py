"""The `tpkit` command as a technician uses it: real subprocesses, real ports."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from appliance.paths import compiled_mark
from appliance.web import pages
from tests.conftest import free_port, loopback_advertisement, make_book

STOP_TIMEOUT_S = 10  # the web unit's TimeoutStopSec; the server must be gone well within it


def tpkit(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "appliance", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_cli_help_lists_commands():
    result = tpkit("--help")
    assert result.returncode == 0
    for command in ("serve", "check", "demo"):
        assert command in result.stdout


def test_cli_check_prints_sources_and_damaged_books(tmp_path):
    content = tmp_path / "content"
    make_book(content, "good")
    (content / "broken.zim").write_bytes(b"not a zim")
    result = tpkit(
        "check", "--data-dir", str(tmp_path / "data"), "--content-dir", str(content), env={"TPKIT_PORT": "8181"}
    )
    assert result.returncode == 1
    assert "port" in result.stdout and "8181" in result.stdout and "environment variable TPKIT_PORT" in result.stdout
    assert "[✗] damaged:" in result.stdout and "broken.zim" in result.stdout
    assert "Fix:" in result.stdout


def test_cli_check_reports_all_bad_settings_and_exits_1(tmp_path):
    result = tpkit("check", "--data-dir", str(tmp_path), env={"TPKIT_PORT": "99999", "TPKIT_LOG_LEVEL": "loud"})
    assert result.returncode == 1
    assert "2 setting(s) cannot be used" in result.stderr
    assert "TPKIT_PORT" in result.stderr and "TPKIT_LOG_LEVEL" in result.stderr
    assert "Fix:" in result.stderr


def _start_serve(tmp_path, port: int, *flags: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "appliance",
            "serve",
            "--demo-if-empty",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "data"),
            "--content-dir",
            str(tmp_path / "content"),
            *flags,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(url: str, timeout_s: float = 30) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return time.monotonic() - start
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not answer within {timeout_s} s")


def stopped_by_sigterm(server: subprocess.Popen) -> str:
    """`server`'s output once SIGTERM has stopped it, which it must within STOP_TIMEOUT_S."""
    server.send_signal(signal.SIGTERM)
    started = time.monotonic()
    output, _ = server.communicate(timeout=STOP_TIMEOUT_S)
    assert time.monotonic() - started < STOP_TIMEOUT_S
    return output


def test_cli_serve_builds_demo_prints_password_once_and_stops_on_sigterm(tmp_path):
    port = free_port()
    server = _start_serve(tmp_path, port)
    try:
        _wait_for(f"http://127.0.0.1:{port}/")
        home = httpx.get(f"http://127.0.0.1:{port}/").text
        assert "tpkit_demo_en" in home and "tpkit_demo_zh" in home
        compiled = tmp_path / "data" / "cache" / "templates"  # beside the server at its first start, for its workers
        deadline = time.monotonic() + 30
        while not compiled_mark(compiled).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(list(compiled.glob("*.jinja"))) == len(pages.ENV.list_templates()) > 50
        output = stopped_by_sigterm(server)
    finally:
        server.kill()
    assert f"serving on http://127.0.0.1:{port}/" in output
    key = tmp_path / "data" / "keys" / "kit.key"  # the kit's report key is made at first start, private
    assert key.exists() and key.stat().st_mode & 0o077 == 0 and (tmp_path / "data" / "keys" / "kit.pub").exists()
    first_key = key.read_bytes()
    assert re.search(r"One-time administrator password \(user 'admin'\): [0-9a-f]{4}(-[0-9a-f]{4}){3}", output)
    second = _start_serve(tmp_path, port)
    try:
        _wait_for(f"http://127.0.0.1:{port}/")
        second.send_signal(signal.SIGTERM)
        output, _ = second.communicate(timeout=STOP_TIMEOUT_S)
    finally:
        second.kill()
    assert "One-time administrator password" not in output
    assert "building the demo library" not in output
    assert key.read_bytes() == first_key  # never replaced


def test_cli_serve_on_a_taken_port_says_so_before_printing_a_password(tmp_path):
    """Another server on the port: `tpkit serve` refuses with the port and its fix, and neither builds the demo nor
    prints "serving on" or a one-time password (which a teacher would copy for a kit that never started)."""
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        server = _start_serve(tmp_path, port)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 1, output
    assert f"Cannot serve on 127.0.0.1:{port}" in output and "choose another port: --port" in output
    assert "serving on" not in output and "One-time" not in output and "building the demo" not in output
    assert not (tmp_path / "content").exists()
    hub_taken = socket.socket()
    try:
        hub_taken.bind(("127.0.0.1", port))
        hub_taken.listen()
        refused = tpkit("hub", "serve", "--hub-port", str(port), "--hub-data-dir", str(tmp_path / "hub"))
    finally:
        hub_taken.close()
    assert refused.returncode == 1 and "--hub-port" in refused.stderr and "One-time" not in refused.stdout


def _workers_of(pid: int) -> list[int]:
    """The web workers `tpkit serve` (`pid`) forked: its children with its own command line (not the template
    compiler it starts beside them)."""
    found, own = [], Path(f"/proc/{pid}/cmdline").read_bytes()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if parent == pid and command == own:
            found.append(int(stat.parent.name))
    return found


def test_cli_serve_workers_end_when_the_server_is_killed_9(tmp_path):
    """kill -9 of `tpkit serve` (several workers): its workers end too (PR_SET_PDEATHSIG), and the port is free for
    the next start instead of held by orphans that still serve."""
    port = free_port()
    server = _start_serve(tmp_path, port, "--web-workers", "2")
    try:
        _wait_for(f"http://127.0.0.1:{port}/")
        workers = _workers_of(server.pid)
        assert len(workers) == 2, workers
    finally:
        server.kill()
        server.communicate(timeout=10)
    deadline = time.monotonic() + 20
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [
        pid
        for pid in workers
        if Path(f"/proc/{pid}/stat").exists() and ") Z" not in Path(f"/proc/{pid}/stat").read_text()
    ]
    assert not alive, f"workers {alive} still run after their server was killed"
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/", timeout=2)


def test_cli_health_exit_codes_follow_status(tmp_path):
    from tests.machine import HEALTHY_COMMANDS, SICK_COMMANDS, fake_commands

    folders = ("--data-dir", str(tmp_path / "data"), "--content-dir", str(tmp_path / "content"))
    healthy = tpkit("health", *folders, env={"PATH": fake_commands(tmp_path / "ok", HEALTHY_COMMANDS)})
    assert healthy.returncode == 0, healthy.stdout
    assert "[✓] temperature: 48.3 °C" in healthy.stdout and "[✓] status: ok" in healthy.stdout
    sick = tpkit("health", *folders, env={"PATH": fake_commands(tmp_path / "sick", SICK_COMMANDS)})
    assert sick.returncode == 1
    assert "[✗] power:" in sick.stdout and "Fix: Use the official 5.1 V" in sick.stdout
    assert "[✗] status: critical" in sick.stdout
    as_json = tpkit("health", "--json", *folders, env={"PATH": fake_commands(tmp_path / "empty", {})})
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout)["throttled"] == "not available"


def test_cli_discover_json_finds_a_kit_advertised_by_another_process(tmp_path):
    """Multicast on 127.0.0.1 reaches other processes on this machine (IP_MULTICAST_LOOP), so the CLI runs as
    a real subprocess, listening on loopback only."""
    from appliance.edges import mdns

    ad = loopback_advertisement("Pine School", port=8765, kit_id="kit-pine", content="0123456789ab")
    advertiser = mdns.Advertiser(["127.0.0.1"])
    advertiser.start(ad)
    try:
        # --kit-id ends the listening when this kit answers (other test runs on this host may advertise kits on
        # 127.0.0.1 too, so not --count 1); 15 s is only the deadline
        result = tpkit(
            "discover",
            "--json",
            "--timeout-s",
            "15",
            "--kit-id",
            "kit-pine",
            "--mdns-interfaces",
            "127.0.0.1",
            timeout=60,
        )
    finally:
        advertiser.stop()
    assert result.returncode == 0, result.stderr
    pine = json.loads(result.stdout)
    assert pine == [
        {
            "name": "tpkit — Pine School",
            "school": "Pine School",
            "kit_id": "kit-pine",
            "version": "0.1.0",
            "content": "0123456789ab",
            "mirror_port": 0,
            "channels": {},
            "addresses": ["127.0.0.1"],
            "port": 8765,
            "urls": ["http://127.0.0.1:8765/"],
        }
    ]


def test_cli_discover_says_what_to_do_when_no_kit_answers():
    # a kit_id no kit has: other test runs on this host may advertise kits on 127.0.0.1 meanwhile
    result = tpkit(
        "discover",
        "--timeout-s",
        "0.3",
        "--kit-id",
        "kit-nobody",
        "--mdns-interfaces",
        "127.0.0.1",
        env={"TPKIT_SCHOOL_NAME": "unused"},
    )
    assert result.returncode == 1
    assert "[i] Listening for kits on the LAN for 0.3 s" in result.stdout
    assert "[✗] No kit answered" in result.stdout and "client isolation" in result.stdout
