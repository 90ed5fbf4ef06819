"""The status panel: polls the web server's health, shows it on the lights, acts on the button.

Runs in its own process (`tpkit panel`), the only one that claims GPIO pins, so the lights stay
truthful when the web server is down. Imports edges and base modules only; no gpiozero here.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from appliance.config import Settings
from appliance.edges import panel_gpio, systemctl
from appliance.edges.health_probe import fetch_health, health_url
from appliance.errors import TpkitError
from appliance.services.device import blink
from appliance.services.device.blink import OFF, ON, Pattern

log = logging.getLogger("tpkit.panel")

TICK_S = 0.05  # 20 renders a second: blink steps are >= 0.1 s, so each lands within 50 ms
# A restart of the web server takes about two seconds; the fault light turns steady only
# when it has been silent for three polls (6 s by default), so a restart does not alarm anyone.
DOWN_AFTER_POLLS = 3
LIGHTS = ("serving", "sync", "fault")
SEVERITY_ORDER = {"critical": 0, "warning": 1}
SYNC_PATTERNS = {"running": blink.SYNC_RUNNING, "failed": blink.SYNC_FAILED}


@dataclasses.dataclass(frozen=True)
class Problem:
    code: str
    severity: str
    message: str
    fix: str


@dataclasses.dataclass(frozen=True)
class KitState:
    """What the panel knows of the kit after one poll."""

    answering: bool
    reason: str = ""
    sync: str = "none"
    problems: tuple[Problem, ...] = ()

    @property
    def codes(self) -> list[int]:
        """Blink codes of the current problems, most severe first, then by number."""
        ranked = sorted(
            (SEVERITY_ORDER.get(p.severity, 1), blink.BLINK_CODES[p.code])
            for p in self.problems
            if p.code in blink.BLINK_CODES
        )
        return list(dict.fromkeys(code for _, code in ranked))


def read_state(report: dict[str, Any]) -> KitState:
    """The kit's state from a /-/health answer, ignoring fields that do not fit the contract."""
    problems = tuple(
        Problem(
            item["code"], str(item.get("severity", "warning")), str(item.get("message", "")), str(item.get("fix", ""))
        )
        for item in report.get("problems") or ()
        if isinstance(item, dict) and isinstance(item.get("code"), str)
    )
    last_sync = report.get("last_sync")
    sync = last_sync.get("state") if isinstance(last_sync, dict) else "none"
    return KitState(True, "", sync if sync in ("idle", "running", "failed") else "none", problems)


class Panel:
    """The panel's loop: `poll()` asks the web server, `tick()` reads the button and drives the lights."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = health_url(settings.host, settings.port)
        self.hardware: panel_gpio.PanelHardware | None = None
        self._settings, self._clock = settings, clock
        self._state: KitState | None = None
        self._down_polls = 0
        self._events: list[tuple[bool, float]] = []
        self._lock = threading.Lock()
        self._pressed_at: float | None = None
        self._overlay: dict[str, Pattern] = {}
        self._overlay_until = 0.0
        self._shutdown_at: float | None = None
        self._shutdown_asked = False
        self._playing: dict[str, tuple[Pattern, float]] = {}

    @property
    def state(self) -> KitState:
        return self._state or KitState(False, "not asked yet")

    def on_button(self, pressed: bool) -> None:
        """Record a press or release (called from gpiozero's thread); `tick()` acts on it."""
        with self._lock:
            self._events.append((pressed, self._clock()))

    def poll(self) -> KitState:
        """Ask /-/health once, log what changed, and keep the answer for the lights."""
        report, reason = fetch_health(self.url)
        new = read_state(report) if report is not None else KitState(False, reason)
        self._down_polls = 0 if new.answering else self._down_polls + 1
        _log_changes(self._state, new, self._down_polls)
        self._state = new
        return new

    def tick(self) -> None:
        """Act on button presses and holds, then set every light for this moment."""
        now = self._clock()
        self._read_button(now)
        if self._shutdown_at is not None and now >= self._shutdown_at and not self._shutdown_asked:
            self._power_off()
        self._render(self._patterns(now), now)

    def run(self, stop: threading.Event) -> None:
        """Poll every panel_poll_interval_s in a thread and tick here, until `stop` is set."""
        poller = threading.Thread(target=self._poll_until, args=(stop,), name="panel-poll")
        poller.start()
        try:
            while not stop.wait(TICK_S):
                self.tick()
        finally:
            stop.set()
            poller.join()

    def close(self) -> None:
        """Darken the lights and release every pin."""
        if self.hardware is not None:
            self.hardware.close()
            self.hardware = None
            log.info("panel stopped: lights off, pins released")

    def _poll_until(self, stop: threading.Event) -> None:
        while True:
            try:
                self.poll()
            except Exception:  # a bug in one poll must not leave the lights frozen for good
                log.exception("panel poll failed; trying again in %s s", self._settings.panel_poll_interval_s)
            if stop.wait(self._settings.panel_poll_interval_s):
                return

    def _read_button(self, now: float) -> None:
        with self._lock:
            events, self._events = self._events, []
        for pressed, at in events:
            if pressed:
                self._pressed_at = at
            elif self._pressed_at is not None:
                held_s, self._pressed_at = at - self._pressed_at, None
                self._released(held_s, now)
        if self._pressed_at is not None and now - self._pressed_at >= self._settings.panel_hold_shutdown_s:
            self._begin_shutdown(now - self._pressed_at, now)

    def _released(self, held_s: float, now: float) -> None:
        if self._shutdown_at is not None:
            return
        if held_s >= self._settings.panel_hold_shutdown_s:
            self._begin_shutdown(held_s, now)
        elif held_s >= self._settings.panel_hold_state_s:
            self._show_state(held_s, now)
        else:
            self._sync_now(now)

    def _sync_now(self, now: float) -> None:
        self._set_overlay({"sync": blink.PRESS_ACK, "buzzer": blink.PRESS_ACK}, now)
        try:
            systemctl.start_sync()
        except TpkitError as exc:
            log.warning("button pressed, but the sync could not start: %s", exc)
            return
        log.info("button pressed: sync asked to start now (%s)", systemctl.SYNC_UNIT)

    def _show_state(self, held_s: float, now: float) -> None:
        state = self.state
        if not state.answering:
            overlay = {name: Pattern(((True, blink.STATE_SHOWN_S),), repeat=False) for name in LIGHTS}
        elif state.codes:
            overlay = dict.fromkeys(LIGHTS, blink.code_pattern(state.codes, repeat=False))
        else:
            overlay = blink.chase(LIGHTS)
        self._set_overlay({**overlay, "buzzer": blink.PRESS_ACK}, now)
        log.info(
            "button held %.1f s: showing the kit's state on all lights (codes %s)",
            held_s,
            state.codes if state.answering else "none: web server not answering",
        )

    def _begin_shutdown(self, held_s: float, now: float) -> None:
        if self._shutdown_at is None:
            self._pressed_at = None
            self._shutdown_at = now + blink.ACKNOWLEDGE_S
            log.warning("button held %.1f s: shutting the kit down in %.0f s", held_s, blink.ACKNOWLEDGE_S)

    def _power_off(self) -> None:
        self._shutdown_asked = True
        try:
            systemctl.poweroff()
        except TpkitError as exc:
            log.error("the kit could not shut down: %s", exc)
            self._shutdown_at, self._shutdown_asked = None, False
            return
        log.warning(
            "shutdown asked of systemd: unplug when every light is dark and the Pi's green light has stopped flickering"
        )

    def _set_overlay(self, overlay: dict[str, Pattern], now: float) -> None:
        self._overlay = overlay
        self._overlay_until = now + max(p.length_s for p in overlay.values())
        for name in overlay:
            self._playing.pop(name, None)  # start from the first blink even if it was playing already

    def _patterns(self, now: float) -> dict[str, Pattern]:
        names = (*LIGHTS, "buzzer")
        if self._shutdown_at is not None:
            return dict.fromkeys(names, blink.SHUTDOWN_ACK)  # plays once, then dark until systemd stops us
        if self._pressed_at is not None and now - self._pressed_at >= self._settings.panel_hold_state_s:
            return {**dict.fromkeys(LIGHTS, ON), "buzzer": OFF}  # "let go now to see the state"
        patterns = self._normal_patterns()
        if now < self._overlay_until:
            patterns.update(self._overlay)
        return patterns

    def _normal_patterns(self) -> dict[str, Pattern]:
        state = self.state
        fault = ON if self._down_polls >= DOWN_AFTER_POLLS else blink.code_pattern(state.codes)
        return {
            "serving": ON if state.answering else OFF,
            "sync": SYNC_PATTERNS.get(state.sync, OFF),
            "fault": fault,
            "buzzer": OFF,
        }

    def _render(self, patterns: dict[str, Pattern], now: float) -> None:
        for name, pattern in patterns.items():
            playing = self._playing.get(name)
            if playing is None or playing[0] != pattern:
                self._playing[name] = playing = (pattern, now)
            if self.hardware is not None:
                self.hardware.show(name, pattern.is_on(now - playing[1]))


def _log_changes(old: KitState | None, new: KitState, down_polls: int) -> None:
    """One log line per change the lights show, so the journal tells the same story."""
    if old is None or old.answering != new.answering:
        if new.answering:
            log.info("web server answers: serving light on")
        else:
            log.warning("web server not answering at /-/health: %s; serving light off", new.reason)
    if down_polls == DOWN_AFTER_POLLS:
        log.warning(
            "fault light steady: the web server has not answered %d polls in a row. "
            "Fix: systemctl status tpkit-web; journalctl -u tpkit-web",
            down_polls,
        )
    if new.answering and (old is None or old.sync != new.sync):
        log.info("last sync: %s", new.sync)
    before = {p.code for p in old.problems} if old else set()
    for problem in new.problems:
        if problem.code not in before:
            code = blink.BLINK_CODES.get(problem.code)
            log.warning(
                "problem %s (%s, blink code %s): %s Fix: %s",
                problem.code,
                problem.severity,
                code if code is not None else "none",
                problem.message,
                problem.fix,
            )
    if new.answering:
        for cleared in sorted(before - {p.code for p in new.problems}):
            log.info("problem cleared: %s", cleared)


def start_panel(settings: Settings, factory=None, clock: Callable[[], float] = time.monotonic) -> Panel:
    """A panel with its pins claimed (gpiozero's default factory unless given); no pins without GPIO."""
    panel = Panel(settings, clock)
    pins = panel_gpio.PanelPins(
        settings.panel_led_serving_pin,
        settings.panel_led_sync_pin,
        settings.panel_led_fault_pin,
        settings.panel_button_pin,
        settings.panel_buzzer_pin,
    )
    panel.hardware = panel_gpio.open_panel(pins, panel.on_button, factory)
    return panel
