"""The audit's check of the classroom Wi-Fi that first boot writes (services/device/classroom_network.py): an
access point with WPA2 and a passphrase worth the name, in a file only root reads.

Must not import web, hub or cli. Reads hostapd's file under the machine's root; changes nothing.
"""

from __future__ import annotations

import stat
from typing import TYPE_CHECKING

from appliance.services.device.classroom_network import FILES
from appliance.services.security.findings import Finding, Machine

if TYPE_CHECKING:
    from appliance.services.kit import Kit

HOSTAPD = FILES["hostapd.conf"][0]
# WPA2 takes 8 characters; a pupil who watched the teacher type 8 digits once has it. 12 characters or more, not
# all digits, is what the field guide asks for.
PASSPHRASE_MIN_CHARS = 12


def check(kit: Kit, machine: Machine) -> list[Finding]:
    """Whether the classroom Wi-Fi is open, its passphrase short, or its file readable by others."""
    conf = machine.root / HOSTAPD
    where = {"file": f"/{HOSTAPD}"}
    try:
        mode = stat.S_IMODE(conf.stat().st_mode)
    except OSError:
        return [Finding("wifi", "audit.wifi.none", "ok", where)]
    if mode & 0o077:
        return [Finding("wifi", "audit.wifi.readable", "problem", {**where, "mode": f"{mode:04o}"})]
    try:
        lines = dict(line.split("=", 1) for line in conf.read_text(errors="replace").splitlines() if "=" in line)
    except OSError:  # root's alone, as it should be: a technician runs `sudo tpkit audit` to see the passphrase
        return [Finding("wifi", "audit.wifi.private", "ok", where)]
    passphrase = lines.get("wpa_passphrase", "")
    if lines.get("wpa", "0") == "0" or not (passphrase or lines.get("wpa_psk")):
        return [Finding("wifi", "audit.wifi.open", "problem", where)]
    if passphrase and (len(passphrase) < PASSPHRASE_MIN_CHARS or passphrase.isdigit()):
        return [Finding("wifi", "audit.wifi.weak", "warning", {**where, "min": PASSPHRASE_MIN_CHARS})]
    return [Finding("wifi", "audit.wifi.ok", "ok", where)]
