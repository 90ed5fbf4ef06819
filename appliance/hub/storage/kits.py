"""The `kits` table (registration, enrolment, each kit's latest state) and `kit_books` (what a kit has installed).

Functions take the database (`db`, a read) or an open transaction (`tx`). Must not import the hub's services.
"""

from __future__ import annotations

from typing import Any

# What the kit's row keeps of its newest heartbeat (migration 0006; hub/alerts.py `latest` makes the values).
LATEST = (
    "cpu_temp_c",
    "disk_percent",
    "wifi_clients",
    "sync_bytes",
    "outbox_depth",
    "under_voltage",
    "books_damaged",
    "last_sync_ok_at",
    "snapshot_rank",
    "snapshot_alerts",
)

KITS_SQL = (
    "SELECT kits.*, d.desired_version FROM kits LEFT JOIN (SELECT kit_id, max(version) AS desired_version "
    "FROM desired_configs GROUP BY kit_id) d ON d.kit_id = kits.kit_id"
)


def add(
    tx, kit_id: str, school: str, district: str, location: str, now: float, token_sha256: str, expires_at: float
) -> bool:
    """Register a kit with its token's digest; False (nothing changed) when the kit is registered already."""
    tx.execute(
        "INSERT INTO kits (kit_id, school, district, location, registered_at, token_sha256, "
        "token_expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kit_id) DO NOTHING",
        (kit_id, school, district, location, now, token_sha256, expires_at),
    )
    return tx.changed == 1


def renew(tx, kit_id: str, school: str, district: str, location: str, token_sha256: str, expires_at: float) -> None:
    """New labels and a new token for a registered kit (re-enrolment)."""
    tx.execute(
        "UPDATE kits SET school = ?, district = ?, location = ?, token_sha256 = ?, token_expires_at = ? "
        "WHERE kit_id = ?",
        (school, district, location, token_sha256, expires_at, kit_id),
    )


def enrolment(tx, kit_id: str) -> dict[str, Any] | None:
    """The kit's token digest, its expiry, its key and when it enrolled, or None for an unknown kit."""
    rows = tx.execute(
        "SELECT token_sha256, token_expires_at, public_key, enrolled_at FROM kits WHERE kit_id = ?", (kit_id,)
    )
    return rows[0] if rows else None


def enrol(tx, kit_id: str, key_line: str, now: float) -> None:
    """Trust `key_line` for the kit and spend its token (expiry 0; the digest stays, so a lost reply can be retried)."""
    tx.execute(
        "UPDATE kits SET public_key = ?, enrolled_at = ?, token_expires_at = 0 WHERE kit_id = ?",
        (key_line, now, kit_id),
    )


def add_enrolled(tx, kit_id: str, school: str, district: str, location: str, now: float, key_line: str) -> bool:
    """Register a kit already enrolled with `key_line` (no token: it came by USB); False when it is registered."""
    tx.execute(
        "INSERT INTO kits (kit_id, school, district, location, registered_at, token_sha256, token_expires_at, "
        "public_key, enrolled_at) VALUES (?, ?, ?, ?, ?, NULL, 0, ?, ?) ON CONFLICT (kit_id) DO NOTHING",
        (kit_id, school, district, location, now, key_line, now),
    )
    return tx.changed == 1


def set_key(tx, kit_id: str, school: str, district: str, location: str, key_line: str, now: float) -> None:
    """Trust `key_line` for a registered kit (given by hand, not by a token), with new labels; any token it had is
    spent (expiry 0)."""
    tx.execute(
        "UPDATE kits SET school = ?, district = ?, location = ?, public_key = ?, enrolled_at = ?, "
        "token_expires_at = 0 WHERE kit_id = ?",
        (school, district, location, key_line, now, kit_id),
    )


def registered_among(db, kit_ids: list[str]) -> set[str]:
    """Which of `kit_ids` are registered (asked 500 at a time)."""
    found: set[str] = set()
    for start in range(0, len(kit_ids), 500):
        chunk = kit_ids[start : start + 500]
        rows = db.query(f"SELECT kit_id FROM kits WHERE kit_id IN ({', '.join('?' * len(chunk))})", chunk)
        found.update(row["kit_id"] for row in rows)
    return found


def labels(db, kit_id: str) -> dict[str, Any] | None:
    """The kit's school, district, location and key line, or None for an unknown kit."""
    rows = db.query("SELECT school, district, location, public_key FROM kits WHERE kit_id = ?", (kit_id,))
    return rows[0] if rows else None


def is_registered(tx, kit_id: str) -> bool:
    return bool(tx.execute("SELECT kit_id FROM kits WHERE kit_id = ?", (kit_id,)))


def public_line(db, kit_id: str) -> str | None:
    """The base64 line of the kit's enrolled key, read now; None for an unknown or not yet enrolled kit."""
    rows = db.query("SELECT public_key FROM kits WHERE kit_id = ?", (kit_id,))
    return rows[0]["public_key"] or None if rows else None


def public_lines(db, limit: int) -> dict[str, str]:
    """kit_id -> the base64 line of its enrolled key, for at most `limit` enrolled kits, in one query."""
    rows = db.query("SELECT kit_id, public_key FROM kits WHERE public_key <> '' LIMIT ?", (limit,))
    return {row["kit_id"]: row["public_key"] for row in rows}


def key_line_in(tx, kit_id: str) -> str | None:
    """The kit's enrolled key line as this transaction sees it (None for an unknown kit)."""
    rows = tx.execute("SELECT public_key FROM kits WHERE kit_id = ?", (kit_id,))
    return rows[0]["public_key"] if rows else None


def replace_books(tx, kit_id: str, sequence: int, books: list[tuple[str, str]]) -> None:
    """The kit's installed books, when the heartbeat `sequence` that lists them is its newest snapshot."""
    if tx.execute("SELECT snapshot_sequence FROM kits WHERE kit_id = ?", (kit_id,))[0]["snapshot_sequence"] != sequence:
        return
    tx.execute("DELETE FROM kit_books WHERE kit_id = ?", (kit_id,))
    for name, version in books:
        tx.execute(
            "INSERT INTO kit_books (kit_id, name, version) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (kit_id, name, version),
        )


# A kit's status as a rank (alerts.STATUSES by urgency: 0 silent, 1 critical, 2 warning, 3 ok), judged in SQL from
# the row as hub/alerts.py `judged` and `status` judge it: parameters are when silence and old content begin.
STATUS_RANK = (
    "CASE WHEN last_seen_at IS NULL OR last_seen_at < ? THEN 0 WHEN snapshot_rank = 2 THEN 1 "
    "WHEN snapshot_rank = 1 OR clock_flag = 1 OR last_sync_ok_at < ? THEN 2 ELSE 3 END"
)
LISTED = (
    "kit_id, school, district, location, public_key IS NOT NULL AS enrolled, last_seen_at, last_sequence, "
    "applied_config_version, clock_flag, " + ", ".join(LATEST) + ", (SELECT max(version) FROM desired_configs dc "
    "WHERE dc.kit_id = kits.kit_id) AS desired_version"
)
# What `listed` reads to choose kits (all in index kits_status).
CHOSEN = "kit_id, school, district, last_seen_at"
ORDER = {
    "status": "status_rank, kit_id",
    "kit_id": "kit_id",
    "school": "school, kit_id",
    "district": "district, school, kit_id",
    "last_seen": "coalesce(last_seen_at, 0) DESC, kit_id",
}


def _matching(search: str, district: str, school: str) -> tuple[str, list[Any]]:
    """The WHERE clause (or "") for a search in kit id, school and district, and an exact district and school."""
    parts, params = [], []
    if search:
        pattern = "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        parts.append(
            "(lower(kit_id) LIKE ? ESCAPE '\\' OR lower(school) LIKE ? ESCAPE '\\' OR lower(district) LIKE ? ESCAPE '\\')"
        )
        params += [pattern] * 3
    for column, value in (("district", district), ("school", school)):
        if value:
            parts.append(f"{column} = ?")
            params.append(value)
    return (" WHERE " + " AND ".join(parts) if parts else ""), params


def listed(
    db,
    since: tuple[float, float],
    *,
    search: str = "",
    district: str = "",
    school: str = "",
    status_rank: int | None = None,
    alerting: bool = False,
    after: str | None = None,
    sort: str = "status",
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The kits matching (with `alerting`, only those not ok; with `after`, only kit ids after it), sorted (ORDER),
    a page of them when `limit` is given, each with its `status_rank`; `since` is (silence begins, old content
    begins) in Unix seconds.

    A page, a status or `alerting` picks a few kits out of many: their ids are chosen first from index kits_status
    (migration 0010: every column the choice reads), then only their rows are read."""
    where, params = _matching(search, district, school)
    params = [*since, *params]
    outer = []
    if status_rank is not None:
        outer.append("status_rank = ?")
        params.append(status_rank)
    elif alerting:
        outer.append("status_rank < 3")
    if after is not None:
        outer.append("kit_id > ?")
        params.append(after)
    order = f" ORDER BY {ORDER.get(sort, ORDER['status'])}"
    columns = CHOSEN if _few(status_rank, alerting, after, limit) else LISTED
    sql = f"SELECT * FROM (SELECT {columns}, {STATUS_RANK} AS status_rank FROM kits{where}) k"
    if outer:
        sql += " WHERE " + " AND ".join(outer)
    sql += order
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    if columns == CHOSEN:
        sql = f"SELECT {LISTED}, {STATUS_RANK} AS status_rank FROM kits WHERE kit_id IN (SELECT kit_id FROM ({sql}) c)"
        sql += order
        params = [*since, *params]
    return db.query(sql, params)


def _few(status_rank: int | None, alerting: bool, after: str | None, limit: int | None) -> bool:
    """Whether `listed` chooses ids first: a page or a status filter, but not the CSV's keyset by kit id (which reads
    the rows in kit id order through the primary key)."""
    return after is None and (limit is not None or alerting or status_rank is not None)


def counts(db, since: tuple[float, float], *, search: str = "", district: str = "", school: str = "") -> dict[int, int]:
    """status rank -> how many of the kits matching have it."""
    where, params = _matching(search, district, school)
    rows = db.query(
        f"SELECT status_rank, count(*) AS n FROM (SELECT {STATUS_RANK} AS status_rank FROM kits{where}) k "
        "GROUP BY status_rank",
        [*since, *params],
    )
    return {row["status_rank"]: row["n"] for row in rows}


def counts_by_district(db, since: tuple[float, float]) -> list[dict[str, Any]]:
    """(district, status_rank, n) for every district and status its kits have."""
    return db.query(
        f"SELECT district, status_rank, count(*) AS n FROM (SELECT district, {STATUS_RANK} AS status_rank FROM kits) k "
        "GROUP BY district, status_rank ORDER BY district, status_rank",
        list(since),
    )


def without_latest(db, limit: int) -> list[dict[str, Any]]:
    """Kits with a snapshot stored before migration 0006 filled LATEST (snapshot_rank still NULL)."""
    return db.query(
        "SELECT kit_id, snapshot_sequence, snapshot FROM kits WHERE snapshot IS NOT NULL AND snapshot_rank IS NULL "
        "LIMIT ?",
        (limit,),
    )


def set_latest(tx, kit_id: str, sequence: int, values: tuple) -> None:
    """LATEST's values for the kit's snapshot `sequence` (unless a newer heartbeat replaced it meanwhile)."""
    tx.execute(
        "UPDATE kits SET " + ", ".join(f"{column} = ?" for column in LATEST) + " WHERE kit_id = ? "
        "AND snapshot_sequence = ?",
        (*values, kit_id, sequence),
    )


def reports_received(db) -> int:
    """The sum of every kit's reports_total (reports stored, pruned ones included)."""
    return int(db.query("SELECT coalesce(sum(reports_total), 0) AS n FROM kits")[0]["n"])


def state(db, kit_id: str) -> dict[str, Any] | None:
    rows = db.query(KITS_SQL + " WHERE kits.kit_id = ?", (kit_id,))
    return rows[0] if rows else None


def books(db) -> list[dict[str, Any]]:
    """(name, version, kit_id) of every installed book the kits listed, ordered."""
    return db.query("SELECT name, version, kit_id FROM kit_books ORDER BY name, version, kit_id")


def districts(db) -> list[str]:
    """The districts there are, in order."""
    return [row["district"] for row in db.query("SELECT DISTINCT district FROM kits ORDER BY district")]
