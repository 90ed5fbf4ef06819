"""`tpkit report` as a timer and a technician run it: real subprocesses, a real loopback hub, kill -9."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import pytest

from appliance.edges import minisign
from appliance.protocol import report_file
from tests.conftest import free_port
from tests.hub_double import HubDouble
from tests.machine import kit_environ


@pytest.fixture
def report_env(tmp_path):
    """Settings by environment, as the systemd unit gives them; the machine's commands faked on PATH."""
    return kit_environ(tmp_path, "kit-cli", free_port())


def tpkit(*args: str, env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "appliance", "report", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
    )


def test_cli_report_show_key_status_and_delivery(tmp_path, report_env):
    with HubDouble(desired_config={"version": 2, "sync_channels": ["primary-zh"]}) as hub:
        shown = tpkit("--show-key", env=report_env)
        assert shown.returncode == 0
        key = minisign.parse_public_key(shown.stdout, "stdout")
        assert (tmp_path / "data" / "keys" / "kit.pub").read_text().splitlines()[1] == shown.stdout.strip()
        env = {**report_env, "TPKIT_HUB_URL": hub.url, "TPKIT_HUB_ENROL_TOKEN": "tok-1"}
        sent = tpkit(env=env)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert "[✓] Delivered 1 report(s)" in sent.stdout and hub.public == key
        status = tpkit("--status", env=env)
        assert status.returncode == 0
        assert "enrolled: yes" in status.stdout and '"version": 2' in status.stdout and "outbox: empty" in status.stdout


def test_cli_report_hub_down_exits_1_with_the_fix_then_waits(report_env):
    env = {**report_env, "TPKIT_HUB_URL": f"http://127.0.0.1:{free_port()}"}
    down = tpkit(env=env)
    assert down.returncode == 1
    assert "[✗] The hub at" in down.stdout and "Fix:" in down.stdout and "tpkit report --to" in down.stdout
    again = tpkit(env=env)  # the next timer run respects the back-off: nothing is tried
    assert again.returncode == 1 and "Not sending yet" in again.stdout and "--retry-now" in again.stdout
    status = tpkit("--status", "--json", env=env)
    assert '"heartbeat": 2' in status.stdout and '"failures": 1' in status.stdout


def test_cli_report_without_hub_keeps_reports_and_exits_0(report_env):
    done = tpkit(env=report_env)
    assert done.returncode == 0 and "hub_url is not set" in done.stdout


@pytest.mark.slow
def test_cli_report_kill_9_during_delivery_loses_nothing_and_resends_the_same_report(report_env):
    with HubDouble() as hub:
        env = {**report_env, "TPKIT_HUB_URL": hub.url, "TPKIT_HUB_ENROL_TOKEN": "tok-1"}
        assert tpkit(env=env).returncode == 0  # enrolled, report 1 stored
        hub.mode = "stall"  # the hub stores report 2, then its reply never comes
        process = subprocess.Popen(
            [sys.executable, "-m", "appliance", "report"],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert hub.stalled.wait(30), "the report never reached the hub"
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        finally:
            process.kill()
        hub.release.set()
        hub.mode = "ok"
        stalled_id = hub.received[-1]
        after = tpkit(env=env)
        assert after.returncode == 0, after.stdout
        assert hub.sequences() == [1, 2, 3]  # nothing lost, in order
        assert hub.received.count(stalled_id) == 2 and len(hub.stored) == 3  # resent, stored once


def test_cli_report_to_stick_is_verifiable_and_kept(tmp_path, report_env):
    for _ in range(2):
        assert tpkit(env=report_env).returncode == 0
    stick = tmp_path / "stick"
    stick.mkdir()
    written = tpkit("--to", str(stick), env=report_env)  # queues a heartbeat of now first
    assert written.returncode == 0 and "[✓] 3 report(s) written" in written.stdout
    public = minisign.parse_public_key((tmp_path / "data" / "keys" / "kit.pub").read_text(), "kit.pub")
    found = list(report_file.read_bundle(stick))
    reports = [report_file.verify(payload, signature, public, str(path)) for _, path, payload, signature in found]
    assert [r.sequence for r in reports] == [1, 2, 3] and {k for k, *_ in found} == {"kit-cli"}
    again = {path.name: path.stat().st_mtime_ns for _, path, _, _ in found}
    assert tpkit("--to", str(stick), env=report_env).returncode == 0  # again: the three as they were, and a fourth
    assert [p.name for _, p, _, _ in report_file.read_bundle(stick)][:3] == list(again)
    assert all(p.stat().st_mtime_ns == again[p.name] for _, p, _, _ in list(report_file.read_bundle(stick))[:3])
    assert len(list(report_file.read_bundle(stick))) == 4
    status = tpkit("--status", env=report_env)
    assert "4 heartbeat" in status.stdout and "4 written to a stick" in status.stdout
    if shutil.which("minisign"):  # what a technician at the hub can do by hand
        _, path, _, _ = found[0]
        checked = subprocess.run(
            ["minisign", "-V", "-p", str(tmp_path / "data" / "keys" / "kit.pub"), "-m", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert checked.returncode == 0 and "kit:kit-cli" in checked.stdout


def test_cli_report_to_a_missing_folder_says_how_to_fix(tmp_path, report_env):
    done = tpkit("--to", str(tmp_path / "not-mounted"), env=report_env)
    assert done.returncode == 1 and "is not a folder" in done.stderr and "Fix:" in done.stderr
