"""The county's desired configuration for this kit, as the hub last sent it (docs/reporting.md).

Must not import web or cli. The content sync engine (issue 3) reads it with `desired_config(kit)`; the
kit acknowledges its `version` as `applied_config_version` in every report made after it was stored.
"""

from __future__ import annotations

from typing import Any


def desired_config(kit) -> dict[str, Any] | None:
    """The hub's last desired configuration ({"version", "sync_channels", "sync_windows", "sync_rate_cap_kbps",
    "sync_rate_cap_percent", "sync_month_budget_mb"} as the hub sent it), or None when the hub set none or never
    answered."""
    return kit.uplink.read().desired_config
