"""The audit's view of the system around the kit: how exposed each tpkit unit is (`systemd-analyze security`)
and whether the kit's firewall table is loaded (`nft list tables`).

Must not import web, hub or cli. Commands run through edges/system.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.edges import system
from appliance.services.security.findings import Finding, Machine, Value

if TYPE_CHECKING:
    from appliance.services.kit import Kit

# The kit's services as shipped in systemd/ (tests/test_systemd.py holds each file to the same bar offline). The
# USB import is a template: systemd scores an instance of it, named here as udev would name a stick.
UNITS = (
    "tpkit-web.service",
    "tpkit-panel.service",
    "tpkit-sync.service",
    "tpkit-report.service",
    "tpkit-mirror.service",
    "tpkit-usb-import@sda1.service",
    "tpkit-firstboot.service",
)
# docs/security.md: every kit unit scores at most this (a plain unit scores ~9.6); above it a break-in keeps
# more rights than the unit needs.
EXPOSURE_MAX = 2.5
FIREWALL_TABLE = "inet tpkit"
FIREWALL_FILE = "etc/nftables.conf"  # under the machine's root: the image installs it (images/files/common)


def exposure(kit: Kit, machine: Machine) -> list[Finding]:
    """Each tpkit unit's exposure score against EXPOSURE_MAX; a warning when systemd does not run the kit."""
    if not system.systemd_booted(machine.root):
        return [Finding("units", "audit.units.not_systemd", "warning")]
    scores = system.unit_exposure(UNITS, path=machine.path)
    if scores is None:
        return [Finding("units", "audit.units.unknown", "warning")]
    rows = tuple((unit, f"{scores[unit]:.1f}" if unit in scores else "?") for unit in UNITS)
    exposed = [unit for unit in UNITS if scores.get(unit, 0.0) > EXPOSURE_MAX]
    if exposed:
        values: dict[str, Value] = {
            "units": ", ".join(f"{unit} {scores[unit]:.1f}" for unit in exposed),
            "bar": EXPOSURE_MAX,
        }
        return [Finding("units", "audit.units.exposed", "problem", values, rows)]
    missing = [unit for unit in UNITS if unit not in scores]
    if missing:
        return [Finding("units", "audit.units.unscored", "warning", {"units": ", ".join(missing)}, rows)]
    return [Finding("units", "audit.units.ok", "ok", {"bar": EXPOSURE_MAX, "highest": max(scores.values())}, rows)]


def firewall(kit: Kit, machine: Machine) -> list[Finding]:
    """Whether the kit's nftables table (per-address connection cap) is loaded."""
    tables = system.nft_tables(path=machine.path)
    if tables is None:
        return [Finding("firewall", "audit.firewall.unknown", "warning")]
    if FIREWALL_TABLE in tables:
        return [Finding("firewall", "audit.firewall.ok", "ok")]
    try:
        installed = f"table {FIREWALL_TABLE}" in (machine.root / FIREWALL_FILE).read_text(errors="replace")
    except OSError:
        installed = False
    if installed:
        return [Finding("firewall", "audit.firewall.not_loaded", "problem", {"file": f"/{FIREWALL_FILE}"})]
    return [Finding("firewall", "audit.firewall.missing", "warning")]
