"""The fields of a kit's provisioning: the columns of schools.csv and the options of `tpkit provision`.

A module of its own so that building `tpkit`'s parser (every command, and each web worker's start) does not import
provision_batch and the password hashing it needs (issue 15: cold start).
"""

import re

# The columns of schools.csv and the options of `tpkit provision` (dashes for underscores): one name each.
FIELDS = (
    "kit_id",
    "school_name",
    "time_zone",
    "network_mode",
    "wifi_ssid",
    "wifi_passphrase",
    "wifi_country",
    "hub_url",
    "enrolment_token",
    "admin_password",
    "admin_password_hash",
    "trusted_content_keys",
    "default_language",
)
LISTS = ("trusted_content_keys",)
# Columns of the county's schools.csv that only the hub reads (`tpkit hub kit add-many`): a kit.toml has no place
# for them, and `tpkit provision` accepts and leaves them, so one sheet serves both (docs/provisioning.md).
HUB_FIELDS = ("district", "location")

# Kit ids become host names and mDNS names: lower-case letters, digits and dashes (RFC 1123 labels). The one rule
# for a new kit's id: `tpkit provision` checks it, and so does the hub when a kit is registered or enrols.
KIT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
KIT_ID_RULE = "1-32 lower-case letters, digits and dashes, not starting or ending with a dash"


def kit_id_problem(kit_id: object) -> str | None:
    """What is wrong with a new kit's id (the text after "kit_id = ..."), or None when it can be used."""
    if isinstance(kit_id, str) and KIT_ID.match(kit_id):
        return None
    return f'{kit_id!r} must be {KIT_ID_RULE}, e.g. "gx-0042"'
