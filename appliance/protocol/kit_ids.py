"""The rule for a new kit's id, shared by `tpkit provision` (services/device/kit_toml.py) and the hub's registration
and enrolment (hub/enrolment.py): one rule, so the hub never registers a kit whose card cannot be provisioned.

Kit ids become host names and mDNS names: lower-case letters, digits and dashes (RFC 1123 labels). Reports are
read under report_file.KIT_ID, wider (1-64 of A-Z a-z 0-9 . _ -), so kits registered before this rule still report.
"""

from __future__ import annotations

import re

KIT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
KIT_ID_RULE = "1-32 lower-case letters, digits and dashes, not starting or ending with a dash"


def kit_id_problem(kit_id: object) -> str | None:
    """What is wrong with a new kit's id (the text after "kit_id = ..."), or None when it can be used."""
    if isinstance(kit_id, str) and KIT_ID.match(kit_id):
        return None
    return f'{kit_id!r} must be {KIT_ID_RULE}, e.g. "gx-0042"'
