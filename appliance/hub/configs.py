"""A kit's desired configuration, set by the county, versioned, returned in every report reply (docs/reporting.md).

Each change makes a new version (earlier versions are kept); the kit acknowledges with `applied_config_version`.
Must not import web or cli.
"""

from __future__ import annotations

import re
from typing import Any

from appliance.config import check_value
from appliance.errors import HubError
from appliance.hub.storage import configs as stored_configs, kits as stored_kits
from appliance.protocol.desired_config import FIELDS, is_channel_list, is_whole_number
from appliance.protocol.sync_windows import parse_windows

# Day ranges and hour ranges as the contract's example: "Mon-Fri 16:00-07:00, Sat-Sun".
WINDOWS = re.compile(r"^[A-Za-z0-9:, -]{0,200}$")


def _invalid(field: str, value: Any, expected: str) -> HubError:
    return HubError(
        f"The desired configuration's {field} = {value!r} cannot be used: {expected}.",
        code="hub.invalid",
        fix=f"Give {field} as {expected}.",
    )


def checked(changes: dict[str, Any]) -> dict[str, Any]:
    """Only known fields, each of the right type; a HubError naming the first wrong one."""
    result: dict[str, Any] = {}
    for field, value in changes.items():
        if field not in FIELDS:
            raise _invalid(field, value, f"one of {', '.join(FIELDS)}")
        if value is None:
            result[field] = None
        elif field == "sync_channels":
            if not is_channel_list(value):
                raise _invalid(field, value, "a list of channel names (letters, digits, '.', '_', '-')")
            result[field] = value
        elif field == "sync_windows":
            if not isinstance(value, str) or not WINDOWS.match(value) or check_value(field, value, "the hub")[1]:
                raise _invalid(field, value, 'text like "Mon-Fri 16:00-07:00, Sat-Sun"')
            try:  # the kit's own check (protocol/sync_windows.py): what it would refuse is refused here first
                parse_windows(value)
            except ValueError as exc:
                raise _invalid(field, value, f'text like "Mon-Fri 16:00-07:00, Sat-Sun" ({exc})') from exc
            result[field] = value
        elif field == "sync_rate_cap_percent" and (not is_whole_number(value) or not 0 <= value <= 100):
            raise _invalid(field, value, "a whole number from 0 to 100 (a share of the kit's measured uplink)")
        elif not is_whole_number(value) or value < 0:
            raise _invalid(field, value, "a whole number from 0")
        else:
            result[field] = value
    return result


def desired(tx, kit_id: str) -> dict[str, Any] | None:
    """The kit's newest desired configuration with its version (inside a transaction), or None when none is set."""
    return stored_configs.newest_in(tx, kit_id)


def current(db, kit_id: str) -> dict[str, Any] | None:
    """The same as `desired`, as a plain read."""
    return stored_configs.newest(db, kit_id)


def set_config(db, kit_id: str, changes: dict[str, Any], now: float, set_by: str) -> dict[str, Any]:
    """Make a new version from the current one with `changes` applied; return it."""
    changes = checked(changes)
    with db.transaction() as tx:
        if not stored_kits.is_registered(tx, kit_id):
            raise HubError(
                f"No kit {kit_id} is registered on this hub.",
                code="hub.kit_not_found",
                status=404,
                fix="List the kits with `tpkit hub kit list`, or register it with `tpkit hub kit add`.",
            )
        current = desired(tx, kit_id) or {"version": 0, **dict.fromkeys(FIELDS)}
        config = {field: changes.get(field, current.get(field)) for field in FIELDS}
        version = current["version"] + 1
        stored_configs.add(tx, kit_id, version, config, now, set_by)
    return {"version": version, **config}
