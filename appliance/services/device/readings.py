"""The machine's readings for the health snapshot: files read fresh, commands cached for a few seconds.

Must not import web or cli. A Prometheus scrape every 15 s and the panel polling every 2 s then cost
one round of commands per `cache_s`, while /proc readings stay exact.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from appliance.edges import firmware, system

# Units whose state the snapshot reports; the sync and report timers join when they exist (issues 6 and 5).
UNITS = ("tpkit-web", "tpkit-panel")


class Readings:
    """Where to read: `root` (a fake /proc and /sys tree in tests), `path` (PATH for the commands)."""

    def __init__(
        self,
        root: Path = system.ROOT,
        path: str | None = None,
        ap_interface: str = "wlan0",
        cache_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root, self.path, self.ap_interface, self.cache_s = root, path, ap_interface, cache_s
        self._clock = clock
        self._lock = threading.Lock()
        self._commands: dict[str, Any] | None = None
        self._read_at = 0.0

    def files(self) -> dict[str, Any]:
        """Readings of /proc and /sys (cheap: read on every call); None where the file is missing."""
        return {
            "uptime_s": system.uptime_s(self.root),
            "load": system.load_average(self.root),
            "memory": system.memory(self.root),
            "disk_writes": system.disk_writes(self.root),
            "units": system.service_usage(self.root),
            "root_read_only": system.root_read_only(self.root),
            "thermal_zone_c": system.cpu_temperature_c(self.root),
            "boot_id": system.boot_id(self.root),
        }

    def has_uplink(self) -> bool:
        """True when a way to the internet other than the classroom's Wi-Fi has a default route; False also
        when the routing tables cannot be read (a kit that cannot tell assumes the classroom is on its own)."""
        return bool(system.uplink_interfaces(self.ap_interface, self.root))

    def commands(self) -> dict[str, Any]:
        """Readings that run commands, at most once per `cache_s` however many threads ask."""
        with self._lock:
            now = self._clock()
            if self._commands is None or now - self._read_at >= self.cache_s:
                self._commands, self._read_at = self._run_commands(), now
            return self._commands

    def _run_commands(self) -> dict[str, Any]:
        path = self.path
        return {
            "throttled": firmware.read_throttled(path),
            "firmware_temp_c": firmware.read_temperature_c(path),
            "clock_synchronized": system.clock_synchronized(path, self.root),
            "wifi_clients": system.wifi_clients(self.ap_interface, path),
            "fs_errors": system.kernel_fs_errors(path),
            "services": system.unit_states(UNITS, path),
        }
