"""The `reports` table: each stored report once (unique kit_id, report_id), with its charted numbers; and the
change a newly stored report makes to its kit's row.

On PostgreSQL the table is partitioned by made_unix (migration 0009): its primary key is (kit_id, report_id,
made_unix), and made_unix comes from the report itself, so that still means once per report. The INSERTs say
`ON CONFLICT DO NOTHING` without naming the key, which both backends' keys satisfy.

Must not import the hub's services. Statements are written for both backends (`?` placeholders).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from appliance.hub.storage import configs, kits

COLUMNS = (
    "kit_id, report_id, sequence, kind, made_at, clock_synchronised, received_at, observed_at, cpu_temp_c, "
    "disk_percent, wifi_clients, sync_bytes, body, made_unix"
)
INSERT_REPORT = (
    f"INSERT INTO reports ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)

# One UPDATE per report (a round trip counts on PostgreSQL). SET expressions all see the row as it was, so the
# kit's newest report alone sets its configuration version and clock flag, and the newest heartbeat its snapshot.
NEWEST = "CASE WHEN last_sequence < ? THEN ? ELSE {0} END"
NEWEST_SNAPSHOT = "CASE WHEN snapshot_sequence < ? THEN ? ELSE {0} END"
UPDATE_KIT = (
    "UPDATE kits SET applied_config_version = "
    + NEWEST.format("applied_config_version")
    + ", clock_flag = "
    + NEWEST.format("clock_flag")
    + ", last_sequence = "
    + NEWEST.format("last_sequence")
    + ", last_seen_at = ?, reports_total = reports_total + 1{snapshot} WHERE {where}"
)
SNAPSHOT = (
    ", snapshot = "
    + NEWEST_SNAPSHOT.format("snapshot")
    + ", snapshot_made_at = "
    + NEWEST_SNAPSHOT.format("snapshot_made_at")
    + "".join(f", {column} = " + NEWEST_SNAPSHOT.format(column) for column in kits.LATEST)
    + ", snapshot_sequence = "
    + NEWEST_SNAPSHOT.format("snapshot_sequence")
)

# PostgreSQL: a report without side tables (every heartbeat without a book list, alerts, daily summaries) in ONE
# statement, so one round trip and one implicit transaction, committed before the reply: the key is still the one
# the report was verified with, the report is inserted unless its id is known, the kit updated only if it was, and
# the desired configuration read. All parts see the database as it was when the statement started.
STORE_ONE_POSTGRES = (
    "WITH enrolled AS (SELECT public_key = ? AS same FROM kits WHERE kit_id = ?), "
    f"stored AS (INSERT INTO reports ({COLUMNS}) SELECT ?::text, ?::text, ?::bigint, ?::text, ?::text, ?::integer, "
    "?::double precision, ?::double precision, ?::double precision, ?::double precision, ?::bigint, ?::bigint, "
    "?::text, ?::double precision FROM enrolled WHERE same ON CONFLICT DO NOTHING RETURNING kit_id), "
    "updated AS ({update} RETURNING kit_id) "
    "SELECT e.same, (SELECT count(*) FROM updated) AS fresh, d.version, d.config FROM enrolled e "
    "LEFT JOIN LATERAL (" + configs.NEWEST + ") d ON true"
)


class KeyChanged(Exception):
    """The kit's enrolled key is no longer the one its report was verified with (re-enrolled meanwhile)."""


@dataclasses.dataclass(frozen=True)
class KitChange:
    """What a newly stored report changes in its kit's row; `snapshot` (a heartbeat's body) with its `made_at` and
    `latest`, the values of kits.LATEST in order."""

    kit_id: str
    sequence: int
    applied_config_version: int | None
    clock_flag: int
    now: float
    snapshot: str | None = None
    made_at: str = ""
    latest: tuple = ()


def _update_params(change: KitChange) -> tuple[str, list]:
    """The SET part's `{snapshot}` and its parameters (without the WHERE's)."""
    seq = change.sequence
    params = [seq, change.applied_config_version, seq, change.clock_flag, seq, seq, change.now]
    if change.snapshot is None:
        return "", params
    latest = [item for value in change.latest for item in (seq, value)]
    return SNAPSHOT, [*params, seq, change.snapshot, seq, change.made_at, *latest, seq, seq]


def insert(tx, row: tuple) -> bool:
    """Insert a report row (the COLUMNS, in order) unless its (kit_id, report_id) is stored; whether it was new."""
    tx.execute(INSERT_REPORT, row)
    return tx.changed == 1


def update_kit(tx, change: KitChange) -> None:
    part, params = _update_params(change)
    tx.execute(UPDATE_KIT.format(snapshot=part, where="kit_id = ?"), (*params, change.kit_id))


def store_one_postgres(run, key_line: str, row: tuple, change: KitChange) -> tuple[bool, dict[str, Any] | None]:
    """PostgreSQL's one statement (STORE_ONE_POSTGRES): (newly stored, desired configuration), or KeyChanged.
    `run` is `db.statement` (its own transaction) or a transaction's `execute` (a group of reports)."""
    part, params = _update_params(change)
    update = UPDATE_KIT.format(snapshot=part, where="kit_id IN (SELECT kit_id FROM stored)")
    rows = run(STORE_ONE_POSTGRES.format(update=update), (key_line, change.kit_id, *row, *params, change.kit_id))
    if not rows or not rows[0]["same"]:
        raise KeyChanged(change.kit_id)
    found = rows[0]
    desired = None if found["version"] is None else {"version": found["version"], **json.loads(found["config"])}
    return found["fresh"] == 1, desired


def check_key(tx, kit_id: str, key_line: str) -> None:
    """KeyChanged unless `key_line` is still the kit's enrolled key in this transaction."""
    if kits.key_line_in(tx, kit_id) != key_line:
        raise KeyChanged(kit_id)


def heartbeat_numbers(db, kit_id: str, since: float, limit: int) -> list[dict[str, Any]]:
    """The charted numbers of a kit's heartbeats observed since `since` (Unix s), oldest first."""
    return db.query(
        "SELECT observed_at, cpu_temp_c, disk_percent, wifi_clients, sync_bytes FROM reports "
        "WHERE kit_id = ? AND kind = 'heartbeat' AND observed_at >= ? ORDER BY observed_at LIMIT ?",
        (kit_id, since, limit),
    )


def recent(db, kit_id: str, limit: int) -> list[dict[str, Any]]:
    return db.query(
        "SELECT report_id, sequence, kind, made_at, clock_synchronised, received_at FROM reports "
        "WHERE kit_id = ? ORDER BY received_at DESC, sequence DESC LIMIT ?",
        (kit_id, limit),
    )


def alerts_since(db, since: float, limit: int) -> list[dict[str, Any]]:
    """`alert` reports received since `since` (Unix s), newest first, with their bodies (JSON text)."""
    return db.query(
        "SELECT kit_id, made_at, received_at, body FROM reports WHERE kind = 'alert' AND received_at >= ? "
        "ORDER BY received_at DESC, sequence DESC LIMIT ?",
        (since, limit),
    )


def ping(db) -> None:
    """A read that needs the database (liveness); HubUnavailableError when it cannot be reached."""
    db.query("SELECT 1 AS one")
