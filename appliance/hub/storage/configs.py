"""The `desired_configs` table: each kit's desired configurations, one row per version (earlier ones kept).

Must not import the hub's services.
"""

from __future__ import annotations

import json
from typing import Any

from appliance import strict_json

NEWEST = "SELECT version, config FROM desired_configs WHERE kit_id = ? ORDER BY version DESC LIMIT 1"


def _config(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    return {"version": rows[0]["version"], **json.loads(rows[0]["config"])} if rows else None


def newest_in(tx, kit_id: str) -> dict[str, Any] | None:
    """The kit's newest desired configuration with its version (inside a transaction), or None when none is set."""
    return _config(tx.execute(NEWEST, (kit_id,)))


def newest(db, kit_id: str) -> dict[str, Any] | None:
    """The same as `newest_in`, as a plain read."""
    return _config(db.query(NEWEST, (kit_id,)))


def add(tx, kit_id: str, version: int, config: dict[str, Any], now: float, set_by: str) -> None:
    tx.execute(
        "INSERT INTO desired_configs (kit_id, version, config, set_at, set_by) VALUES (?, ?, ?, ?, ?)",
        (kit_id, version, strict_json.dumps(config, sort_keys=True), now, set_by),
    )
