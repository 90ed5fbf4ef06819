"""The county's desired configuration on the wire (docs/reporting.md): the fields a hub may set and the shape of
their values, one definition for the hub that sends them and the kit that applies them (a field added on one side
only was refused by the other).

Imports only base modules. Each side words its own refusal: the hub a HubError, the kit a ConfigError.
"""

from __future__ import annotations

import re
from typing import Any

FIELDS = ("sync_channels", "sync_windows", "sync_rate_cap_kbps", "sync_rate_cap_percent", "sync_month_budget_mb")
CHANNEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def is_channel_list(value: Any) -> bool:
    """Whether `value` is what `sync_channels` carries: a list of channel names."""
    return isinstance(value, list) and all(isinstance(c, str) and CHANNEL.match(c) for c in value)


def is_whole_number(value: Any) -> bool:
    """Whether `value` is a JSON whole number (true and false are not numbers here)."""
    return isinstance(value, int) and not isinstance(value, bool)
