"""The fleet as technicians see it: each kit's latest state, status and alerts, its history, the content roll-out.

Reads only; `ingest` writes. Must not import web or cli.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterator
from typing import Any, TypedDict

from appliance.hub import alerts
from appliance.hub.ingest import iso
from appliance.hub.storage import kits as stored_kits, reports as stored_reports

SORTS = ("kit_id", "school", "district", "status", "last_seen")
STATUS_ORDER = {"silent": 0, "critical": 1, "warning": 2, "ok": 3}
HISTORY_LIMIT = 2000  # points per chart: two weeks of 15-minute heartbeats, and a page that stays small


@dataclasses.dataclass(frozen=True)
class KitState:
    """One kit's row on the dashboard and in the metrics; `latest` holds what its row keeps of its newest heartbeat
    (storage/kits.py LATEST: readings, under_voltage, books_damaged, last_sync_ok_at); `snapshot` that heartbeat
    whole, on a kit's own page only."""

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
    latest: dict[str, Any]

    @property
    def last_seen(self) -> str:
        return iso(self.last_seen_at)

    def reading(self, name: str) -> float | None:
        return self.latest.get(name)


@dataclasses.dataclass(frozen=True)
class Page:
    """One page of the fleet table: its kits, how many match in all, and how many of those have each status."""

    kits: list[KitState]
    total: int
    counts: dict[str, int]
    offset: int
    limit: int

    @property
    def pages(self) -> int:
        """How many pages of `limit` kits the `total` fills (at least one, empty or not)."""
        return max(1, -(-self.total // self.limit))


def _state(row: dict[str, Any], now: float, silent_after_h: float, old_content_days: float) -> KitState:
    snapshot = json.loads(row["snapshot"]) if row.get("snapshot") else None
    latest = {column: row.get(column) for column in stored_kits.LATEST}
    if latest["snapshot_rank"] is None and snapshot is not None:
        latest = alerts.latest(snapshot)  # a row stored before migration 0006 and not refreshed yet
    found = alerts.judged(
        row,
        alerts.stored(row["kit_id"], latest["snapshot_alerts"]),
        latest["last_sync_ok_at"],
        now,
        silent_after_h,
        old_content_days,
    )
    return KitState(
        row["kit_id"],
        row["school"],
        row["district"],
        row["location"],
        bool(row["enrolled"]) if "enrolled" in row else row["public_key"] is not None,
        row["last_seen_at"],
        row["last_sequence"],
        row["applied_config_version"],
        row["desired_version"],
        snapshot,
        found,
        alerts.status(found),
        latest,
    )


def _since(now: float, silent_after_h: float, old_content_days: float) -> tuple[float, float]:
    return now - silent_after_h * 3600, now - old_content_days * 86400


class Match(TypedDict):
    """What the fleet table's search and filters pick: `search` in kit id, school and district; an exact district,
    school and status ("" for any)."""

    search: str
    district: str
    school: str
    status: str


def _rows(db, since: tuple[float, float], search: str, district: str, school: str, status: str, **listing: Any):
    """storage/kits.py `listed` for these filters, the status by name; `listing` its other arguments."""
    return stored_kits.listed(
        db,
        since,
        search=search,
        district=district,
        school=school,
        status_rank=STATUS_ORDER.get(status),
        **listing,
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
    search: str = "",
    alerting: bool = False,
    old_content_days: float = alerts.OLD_CONTENT_DAYS,
) -> list[KitState]:
    """Every registered kit matching (`search` in kit id, school and district; exact school, district and status;
    with `alerting`, only kits that are not ok), sorted by `sort` (see SORTS); filtered and sorted by the database
    from the columns ingest keeps."""
    since = _since(now, silent_after_h, old_content_days)
    rows = _rows(db, since, search, district, school, status, alerting=alerting, sort=sort)
    return [_state(row, now, silent_after_h, old_content_days) for row in rows]


def page(
    db,
    now: float,
    silent_after_h: float,
    old_content_days: float,
    *,
    search: str = "",
    district: str = "",
    school: str = "",
    status: str = "",
    alerting: bool = False,
    sort: str = "status",
    offset: int = 0,
    limit: int = 100,
) -> Page:
    """A page of the fleet table (`kits` with `offset` and `limit`), with the counts per status of every kit the
    search, district and school match (whatever the status filter); `total` counts the kits the page is one of."""
    since = _since(now, silent_after_h, old_content_days)
    ranked = stored_kits.counts(db, since, search=search, district=district, school=school)
    counts = {name: ranked.get(rank, 0) for name, rank in STATUS_ORDER.items()}
    listed = [status] if status in counts else [name for name in counts if not alerting or name != "ok"]
    total = sum(counts[name] for name in listed)
    rows = _rows(db, since, search, district, school, status, alerting=alerting, sort=sort, limit=limit, offset=offset)
    found = [_state(row, now, silent_after_h, old_content_days) for row in rows]
    return Page(found, total, counts, offset, limit)


def district_counts(db, now: float, silent_after_h: float, old_content_days: float) -> dict[str, dict[str, int]]:
    """district -> status -> how many of its kits have it (every status present, 0 when none)."""
    found: dict[str, dict[str, int]] = {}
    for row in stored_kits.counts_by_district(db, _since(now, silent_after_h, old_content_days)):
        counts = found.setdefault(row["district"], dict.fromkeys(STATUS_ORDER, 0))
        counts[alerts.STATUSES_BY_RANK[row["status_rank"]]] = row["n"]
    return found


def kit(
    db, kit_id: str, now: float, silent_after_h: float, old_content_days: float = alerts.OLD_CONTENT_DAYS
) -> KitState | None:
    row = stored_kits.state(db, kit_id)
    return _state(row, now, silent_after_h, old_content_days) if row else None


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


def districts(db) -> list[str]:
    """The districts there are, for the fleet table's filter (schools are found by searching)."""
    return stored_kits.districts(db)


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


def reports_received(db) -> int:
    """Reports the hub has received and stored since it began, pruned ones included (for /metrics; the sum of each
    kit's counter, not a count of the reports table)."""
    return stored_kits.reports_received(db)


def check_database(db) -> None:
    """Nothing when the database answers a read; HubUnavailableError (503) otherwise (liveness)."""
    stored_reports.ping(db)


CSV_BATCH = 2000  # kits a CSV export reads and writes at a time: its memory, whatever the fleet's size


def csv_chunks(
    db,
    now: float,
    silent_after_h: float,
    old_content_days: float,
    *,
    search: str = "",
    district: str = "",
    school: str = "",
    status: str = "",
    batch: int = CSV_BATCH,
) -> Iterator[str]:
    """The fleet table as CSV text in pieces, every kit matching once, by kit id (`as_csv`), read `batch` kits at a
    time (keyset: after the last kit id written), so an export of 100,000 kits holds 2,000 at once."""
    yield as_csv([])
    since, after = _since(now, silent_after_h, old_content_days), ""
    while True:
        rows = _rows(db, since, search, district, school, status, after=after, sort="kit_id", limit=batch)
        if not rows:
            return
        yield as_csv([_state(row, now, silent_after_h, old_content_days) for row in rows], header=False)
        after = rows[-1]["kit_id"]


def as_csv(states: list[KitState], header: bool = True) -> str:
    """The fleet table as CSV (one row per kit), for a spreadsheet: with its `header`, it starts with a byte-order
    mark, without which Excel on Chinese Windows reads UTF-8 as the local code page and garbles school names
    (encode it as UTF-8)."""
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        out.write("\ufeff")
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
