"""The Raspberry Pi firmware's own view of power and heat, read with `vcgencmd` (in package libraspberrypi-bin).

Must not import storage, content, services or web. Elsewhere (a laptop, a CI machine) every reading is None.
"""

from __future__ import annotations

import re

from appliance.edges.commands import run

# Bits of `vcgencmd get_throttled` (Raspberry Pi documentation, "vcgencmd"): 0-3 are true now,
# 16-19 the same conditions at any time since boot.
FLAGS = {0: "under_voltage", 1: "freq_capped", 2: "throttled", 3: "soft_temp_limit"}
SINCE_BOOT_SHIFT = 16


def decode_throttled(value: int) -> dict[str, dict[str, bool]]:
    """The get_throttled bit field as {"now": {flag: bool}, "since_boot": {flag: bool}}."""
    return {
        "now": {name: bool(value >> bit & 1) for bit, name in FLAGS.items()},
        "since_boot": {name: bool(value >> (bit + SINCE_BOOT_SHIFT) & 1) for bit, name in FLAGS.items()},
    }


def read_throttled(path: str | None = None) -> dict[str, dict[str, bool]] | None:
    """Decoded `vcgencmd get_throttled` (output `throttled=0x50005`), or None when vcgencmd is missing or fails."""
    match = re.search(r"throttled=(0x[0-9a-fA-F]+)", run(["vcgencmd", "get_throttled"], path=path) or "")
    return decode_throttled(int(match.group(1), 16)) if match else None


def read_temperature_c(path: str | None = None) -> float | None:
    """The SoC temperature from `vcgencmd measure_temp` (output `temp=48.3'C`), or None when not available."""
    match = re.search(r"temp=(-?[0-9.]+)", run(["vcgencmd", "measure_temp"], path=path) or "")
    return float(match.group(1)) if match else None
