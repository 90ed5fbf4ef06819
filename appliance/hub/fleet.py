"""The fleet as technicians see it: each kit's latest state, status and alerts, its history, the content roll-out.

Reads only; `ingest` writes. Must not import web or cli.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from typing import Any

from appliance.hub import alerts
from appliance.hub.ingest import iso
from appliance.hub.storage import kits as stored_kits, reports as stored_reports

SORTS = ("kit_id", "school", "district", "status", "last_seen")
STATUS_ORDER = {"silent": 0, "critical": 1, "warning": 2, "ok": 3}
HISTORY_LIMIT = 2000  # points per chart: two weeks of 15-minute heartbeats, and a page that stays small


@dataclasses.dataclass(frozen=True)
class KitState:
    """One kit's row on the dashboard and in the metrics."""

    kit_id: str
    school: str
    district: str
    location: str
    enrolled: bool
    last_seen_at: float | None
    last_sequence: int
    applied_config_version: int | None
    desired_config_version: int | None
    snapshot: dict[str, Any] | None
    alerts: list[alerts.Alert]
    status: str
    readings: dict[str, float | None]

    @property
    def last_seen(self) -> str:
        return iso(self.last_seen_at)

    def reading(self, name: str) -> float | None:
        return self.readings[name]


def _state(row: dict[str, Any], now: float, silent_after_h: float) -> KitState:
    snapshot = json.loads(row["snapshot"]) if row["snapshot"] else None
    found = alerts.kit_alerts(row, snapshot, now, silent_after_h)
    return KitState(
        row["kit_id"],
        row["school"],
        row["district"],
        row["location"],
        row["public_key"] is not None,
        row["last_seen_at"],
        row["last_sequence"],
        row["applied_config_version"],
        row["desired_version"],
        snapshot,
        found,
        alerts.status(found),
        alerts.readings(snapshot or {}),
    )


def kits(
    db,
    now: float,
    silent_after_h: float,
    *,
    school: str = "",
    district: str = "",
    status: str = "",
    sort: str = "status",
) -> list[KitState]:
    """Every registered kit, filtered by exact school, district and status, sorted by `sort` (see SORTS)."""
    rows = stored_kits.states(db)
    found = [
        _state(row, now, silent_after_h)
        for row in rows
        if (not school or row["school"] == school) and (not district or row["district"] == district)
    ]
    if status:
        found = [kit for kit in found if kit.status == status]
    keys = {
        "kit_id": lambda k: k.kit_id,
        "school": lambda k: (k.school, k.kit_id),
        "district": lambda k: (k.district, k.school, k.kit_id),
        "last_seen": lambda k: -(k.last_seen_at or 0),
        "status": lambda k: (STATUS_ORDER[k.status], k.kit_id),
    }
    return sorted(found, key=keys.get(sort, keys["status"]))


def kit(db, kit_id: str, now: float, silent_after_h: float) -> KitState | None:
    row = stored_kits.state(db, kit_id)
    return _state(row, now, silent_after_h) if row else None


def history(db, kit_id: str, since: float) -> list[dict[str, Any]]:
    """The charted numbers of a kit's heartbeats since `since` (Unix s), oldest first."""
    return stored_reports.heartbeat_numbers(db, kit_id, since, HISTORY_LIMIT)


def recent_reports(db, kit_id: str, limit: int = 20) -> list[dict[str, Any]]:
    return stored_reports.recent(db, kit_id, limit)


def reported_alerts(db, since: float) -> list[dict[str, Any]]:
    """`alert` reports received since `since` (Unix s), newest first: what the kits themselves raised."""
    found = []
    for row in stored_reports.alerts_since(db, since, HISTORY_LIMIT):
        body = json.loads(row["body"])
        found.append(
            {
                "kit_id": row["kit_id"],
                "made_at": row["made_at"],
                "received_at": row["received_at"],
                **{key: str(body.get(key, "")) for key in ("code", "severity", "message")},
            }
        )
    return found


def rollout(db) -> dict[str, dict[str, list[str]]]:
    """book name -> version -> kit ids that have it (from heartbeats that list `books.installed`)."""
    found: dict[str, dict[str, list[str]]] = {}
    for row in stored_kits.books(db):
        found.setdefault(row["name"], {}).setdefault(row["version"], []).append(row["kit_id"])
    return found


def choices(db) -> dict[str, list[str]]:
    """The schools and districts there are, for the dashboard's filters."""
    rows = stored_kits.schools(db)
    return {"districts": sorted({r["district"] for r in rows}), "schools": sorted({r["school"] for r in rows})}


CSV_FIELDS = (
    "kit_id",
    "school",
    "district",
    "location",
    "status",
    "last_seen",
    "cpu_temp_c",
    "disk_percent",
    "wifi_clients",
    "applied_config_version",
    "desired_config_version",
    "alerts",
)


def reports_total(db) -> int:
    """Reports stored on the hub (for /metrics)."""
    return stored_reports.total(db)


def check_database(db) -> None:
    """Nothing when the database answers a read; HubUnavailableError (503) otherwise (liveness)."""
    stored_reports.ping(db)


def as_csv(states: list[KitState]) -> str:
    """The fleet table as CSV (one row per kit), for a spreadsheet: it starts with a byte-order mark, without which
    Excel on Chinese Windows reads UTF-8 as the local code page and garbles school names (encode it as UTF-8)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for k in states:
        writer.writerow(
            [
                k.kit_id,
                k.school,
                k.district,
                k.location,
                k.status,
                k.last_seen,
                _cell(k.reading("cpu_temp_c")),
                _cell(k.reading("disk_percent")),
                _cell(k.reading("wifi_clients")),
                _cell(k.applied_config_version),
                _cell(k.desired_config_version),
                "; ".join(f"{a.code}: {a.message}" for a in k.alerts),
            ]
        )
    return out.getvalue()


def _cell(value: Any) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
