"""The status panel against a real loopback HTTP server, gpiozero's MockFactory, a fake clock and a fake systemctl.

The button is driven through the mock pin (drive_low = pressed, GPIO3 is pulled up); time is a
fake clock the test advances, so holds of 3 and 5 s take no real time.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from gpiozero import LED
from gpiozero.pins.mock import MockFactory

from appliance.config import load_settings
from appliance.edges import panel_gpio
from appliance.services.device import blink
from appliance.services.device.panel import DOWN_AFTER_POLLS, TICK_S, start_panel
from tests.conftest import free_port

SERVING, SYNC, FAULT, BUTTON, BUZZER = 17, 27, 22, 3, 18
OK = {"status": "ok", "problems": [], "last_sync": "not available"}


def problem(code: str, severity: str = "warning") -> dict:
    return {"code": code, "severity": severity, "message": f"{code} seen", "fix": f"fix {code}"}


class HealthServer:
    """A real HTTP server on 127.0.0.1 serving the /-/health contract; tests change `answer`."""

    def __init__(self) -> None:
        self.answer: tuple[int, dict] = (200, OK)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = owner.answer if self.path == "/-/health" else (404, {})
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                """Keep the test output quiet (http.server logs every request to stderr)."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="test-health", daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def health():
    server = HealthServer()
    yield server
    server.close()


@pytest.fixture
def systemctl_log(tmp_path, monkeypatch) -> Path:
    """A fake `systemctl` first on PATH that appends its arguments to a file (pi-hole's test style)."""
    bin_dir, record = tmp_path / "bin", tmp_path / "systemctl.log"
    bin_dir.mkdir()
    script = bin_dir / "systemctl"
    script.write_text(
        f'#!/bin/sh\necho "$*" >> "{record}"\n'
        'if [ -n "$FAKE_SYSTEMCTL_FAIL" ]; then echo "$FAKE_SYSTEMCTL_FAIL" >&2; exit 5; fi\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return record


def panel_settings(port: int, **extra):
    return load_settings(environ={}, overrides={"port": port, "panel_buzzer_pin": BUZZER, **extra})


@pytest.fixture
def factory():
    factory = MockFactory()
    yield factory
    factory.reset()


@pytest.fixture
def rig(health, factory, systemctl_log):
    clock = Clock()
    panel = start_panel(panel_settings(health.port), factory=factory, clock=clock)
    yield panel, clock, factory
    panel.close()


def lit(factory, pin: int) -> bool:
    return bool(factory.pin(pin).state)


def sample(panel, clock, factory, pin: int, seconds: float, step_s: float = 0.05) -> list[bool]:
    states = []
    for _ in range(round(seconds / step_s)):
        panel.tick()
        states.append(lit(factory, pin))
        clock.advance(step_s)
    return states


def blink_counts(states: list[bool], pause_steps: int = 20) -> list[int]:
    """Turn sampled states into the numbers blinked: rising edges, grouped by long dark gaps."""
    counts, count, dark = [], 0, 0
    for previous, current in zip([False] + states, states):
        if current and not previous:
            count += 1
        dark = 0 if current else dark + 1
        if dark == pause_steps and count:
            counts.append(count)
            count = 0
    return counts


def test_panel_serving_light_follows_the_web_server(rig, health):
    panel, _, factory = rig
    panel.poll()
    panel.tick()
    assert lit(factory, SERVING)
    health.answer = (503, {"status": "critical"})
    panel.poll()
    panel.tick()
    assert not lit(factory, SERVING)
    assert not lit(factory, FAULT), "one missed poll (a restart) must not alarm"


def test_panel_fault_light_steady_after_three_silent_polls(health, factory, systemctl_log):
    panel = start_panel(panel_settings(free_port()), factory=factory, clock=Clock())
    try:
        for polls in range(1, DOWN_AFTER_POLLS + 1):
            assert not panel.poll().answering
            panel.tick()
            assert lit(factory, FAULT) == (polls >= DOWN_AFTER_POLLS)
        assert not lit(factory, SERVING)
    finally:
        panel.close()


def test_panel_sync_light_blinks_while_running_double_blinks_after_failure(rig, health):
    panel, clock, factory = rig
    health.answer = (200, {**OK, "last_sync": {"state": "running"}})
    panel.poll()
    assert abs(sample(panel, clock, factory, SYNC, 2.0).count(True) - 20) <= 1  # on half of the time
    health.answer = (200, {**OK, "last_sync": {"state": "failed", "finished": "2026-01-01T00:00:00Z"}})
    panel.poll()
    assert blink_counts(sample(panel, clock, factory, SYNC, 4.0), pause_steps=10) == [2, 2]
    health.answer = (200, {**OK, "last_sync": {"state": "idle"}})
    panel.poll()
    assert not any(sample(panel, clock, factory, SYNC, 1.0))


def test_panel_fault_light_blinks_codes_most_severe_first(rig, health):
    panel, clock, factory = rig
    health.answer = (
        200,
        {
            "status": "critical",
            "last_sync": "not available",
            "problems": [
                problem("health.disk_nearly_full"),
                problem("health.hot", "critical"),
                problem("health.something_new"),
            ],
        },
    )
    panel.poll()
    assert panel.state.codes == [2, 3]
    cycle_s = blink.code_pattern([2, 3]).length_s
    assert blink_counts(sample(panel, clock, factory, FAULT, 2 * cycle_s)) == [2, 3, 2, 3]
    health.answer = (200, OK)
    panel.poll()
    assert not any(sample(panel, clock, factory, FAULT, 1.0))


def test_panel_short_press_starts_a_sync(rig, systemctl_log):
    panel, clock, factory = rig
    factory.pin(BUTTON).drive_low()
    clock.advance(0.2)
    factory.pin(BUTTON).drive_high()
    panel.tick()
    assert systemctl_log.read_text() == "start --no-block tpkit-sync.service\n"
    assert lit(factory, SYNC) and lit(factory, BUZZER), "the press is acknowledged"


def test_panel_sync_refused_is_logged_with_the_fix(rig, systemctl_log, monkeypatch, caplog):
    panel, clock, factory = rig
    monkeypatch.setenv("FAKE_SYSTEMCTL_FAIL", "Unit tpkit-sync.service not found.")
    factory.pin(BUTTON).drive_low()
    factory.pin(BUTTON).drive_high()
    panel.tick()
    assert "Unit tpkit-sync.service not found." in caplog.text and "50-tpkit-panel.rules" in caplog.text


def test_panel_hold_three_seconds_shows_the_state_on_all_lights(rig, health, systemctl_log):
    panel, clock, factory = rig
    health.answer = (200, {**OK, "problems": [problem("health.root_read_only", "critical")]})
    panel.poll()
    factory.pin(BUTTON).drive_low()
    clock.advance(3.2)
    panel.tick()
    assert all(lit(factory, pin) for pin in (SERVING, SYNC, FAULT)), "steady: let go now"
    factory.pin(BUTTON).drive_high()
    shown = blink.code_pattern([6], repeat=False).length_s
    for pin in (SERVING, SYNC):
        assert blink_counts(sample(panel, clock, factory, pin, shown)) == [6]
        clock.advance(-shown)
    assert not systemctl_log.exists()


def test_panel_hold_when_all_is_well_chases_the_lights(rig):
    panel, clock, factory = rig
    panel.poll()
    factory.pin(BUTTON).drive_low()
    clock.advance(3.5)
    factory.pin(BUTTON).drive_high()
    panel.tick()
    assert [lit(factory, pin) for pin in (SERVING, SYNC, FAULT)] == [True, False, False]
    clock.advance(0.35)
    panel.tick()
    assert [lit(factory, pin) for pin in (SERVING, SYNC, FAULT)] == [False, True, False]


def test_panel_hold_five_seconds_acknowledges_then_powers_off(rig, systemctl_log):
    panel, clock, factory = rig
    panel.poll()
    factory.pin(BUTTON).drive_low()
    clock.advance(5.05)
    panel.tick()
    flicker = sample(panel, clock, factory, FAULT, blink.ACKNOWLEDGE_S - 0.1)
    assert blink_counts(flicker, pause_steps=2) == [1] * 5 or flicker.count(True) >= 4
    assert not systemctl_log.exists(), "the acknowledgement comes before the shutdown"
    clock.advance(0.2)
    panel.tick()
    factory.pin(BUTTON).drive_high()
    panel.tick()
    assert systemctl_log.read_text() == "poweroff\n"
    assert not any(lit(factory, pin) for pin in (SERVING, SYNC, FAULT, BUZZER))


def test_panel_run_stops_and_releases_every_pin(health, factory, systemctl_log):
    panel = start_panel(panel_settings(health.port, panel_poll_interval_s=0.05), factory=factory)
    stop = threading.Event()
    runner = threading.Thread(target=panel.run, args=(stop,))
    runner.start()
    try:
        threading.Event().wait(10 * TICK_S)
        assert lit(factory, SERVING)
    finally:
        stop.set()
        runner.join(timeout=5)
        panel.close()
    assert not runner.is_alive()
    assert not any(factory._reservations.values())  # no gpiozero device holds a pin any more
    for pin in (SERVING, SYNC, FAULT, BUTTON, BUZZER):
        LED(pin, pin_factory=factory).close()  # GPIOPinInUse if any pin were still claimed


@pytest.mark.skipif(Path("/dev/gpiochip0").exists(), reason="this machine has GPIO")
def test_panel_without_gpio_warns_once_and_keeps_polling(health, monkeypatch, caplog):
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    caplog.set_level(logging.INFO)
    panel = start_panel(panel_settings(health.port))
    panel.poll()
    panel.tick()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert panel.hardware is None
    assert len(warnings) == 1 and warnings[0].startswith("running without a panel: no GPIO found (tried")
    assert "python3-lgpio" in warnings[0] and "GPIOZERO_PIN_FACTORY" in warnings[0]
    assert "web server answers" in caplog.text


def test_panel_gpio_close_releases_pins_after_a_failed_claim(factory):
    holder = LED(FAULT, pin_factory=factory)  # something else holds the fault pin
    pins = panel_gpio.PanelPins(SERVING, SYNC, FAULT, BUTTON)
    assert panel_gpio.open_panel(pins, lambda pressed: None, factory) is None
    holder.close()
    LED(SERVING, pin_factory=factory).close()  # the lights claimed before the failure were given back


def test_panel_blink_codes_match_the_field_guide():
    guide = (Path(__file__).parents[3] / "docs" / "field-guide.md").read_text()
    for code, blinks in blink.BLINK_CODES.items():
        assert any(line.startswith(f"| {blinks} |") and f"`{code}`" in line for line in guide.splitlines()), code


def test_panel_reads_the_real_web_servers_health(live, content_dir, factory, systemctl_log):
    """End to end: the kit's own /-/health on a real uvicorn drives the lights; a damaged book blinks code 4."""
    (content_dir / "broken.zim").write_bytes(b"not a zim at all")
    clock = Clock()
    panel = start_panel(panel_settings(live.port), factory=factory, clock=clock)
    try:
        for _ in range(50):  # the library rescan (every 0.2 s in tests) has to see the file first
            state = panel.poll()
            if blink.BLINK_CODES["health.books_damaged"] in state.codes:
                break
            threading.Event().wait(0.1)
        assert state.answering
        panel.tick()
        assert lit(factory, SERVING)
        assert 4 in blink_counts(sample(panel, clock, factory, FAULT, 12.0))
    finally:
        panel.close()
