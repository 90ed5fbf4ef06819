"""`tpkit panel` as systemd runs it: a real process, stopped by SIGTERM, with and without GPIO."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import free_port

STOP_TIMEOUT_S = 10  # TimeoutStopSec in systemd/tpkit-panel.service


def _run_panel(env: dict[str, str], wait_for: str) -> tuple[str, float]:
    """Start `tpkit panel`, wait for a line, SIGTERM it; return its output and how long it took to stop."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("TPKIT_", "GPIOZERO_"))}, **env}
    process = subprocess.Popen(
        [sys.executable, "-m", "appliance", "panel", "--port", str(free_port()), "--panel-poll-interval-s", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines = []
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if wait_for in line or not line:
                break
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        rest, _ = process.communicate(timeout=STOP_TIMEOUT_S)
        assert process.returncode == 0, "".join(lines) + rest
        return "".join(lines) + rest, time.monotonic() - started
    finally:
        process.kill()
        process.wait()


def test_cli_panel_with_mock_gpio_stops_on_sigterm_and_releases_pins():
    output, stop_s = _run_panel({"GPIOZERO_PIN_FACTORY": "mock"}, "fault light steady")
    assert "lights and button on GPIO" in output
    assert "web server not answering" in output and "fault light steady" in output
    assert "panel stopped: lights off, pins released" in output
    assert stop_s < 2


@pytest.mark.skipif(Path("/dev/gpiochip0").exists(), reason="this machine has GPIO")
def test_cli_panel_without_gpio_says_so_once_and_keeps_running():
    output, stop_s = _run_panel({}, "web server not answering")
    assert output.count("running without a panel: no GPIO found (tried") == 1
    assert "python3-lgpio" in output and "no lights (no GPIO)" in output
    assert stop_s < 2
