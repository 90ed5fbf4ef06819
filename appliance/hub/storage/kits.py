"""The `kits` table (registration, enrolment, each kit's latest state) and `kit_books` (what a kit has installed).

Functions take the database (`db`, a read) or an open transaction (`tx`). Must not import the hub's services.
"""

from __future__ import annotations

from typing import Any

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


def states(db) -> list[dict[str, Any]]:
    """Every registered kit's row with the newest desired configuration's version, by kit id."""
    return db.query(KITS_SQL + " ORDER BY kits.kit_id")


def state(db, kit_id: str) -> dict[str, Any] | None:
    rows = db.query(KITS_SQL + " WHERE kits.kit_id = ?", (kit_id,))
    return rows[0] if rows else None


def books(db) -> list[dict[str, Any]]:
    """(name, version, kit_id) of every installed book the kits listed, ordered."""
    return db.query("SELECT name, version, kit_id FROM kit_books ORDER BY name, version, kit_id")


def schools(db) -> list[dict[str, Any]]:
    """The (district, school) pairs there are."""
    return db.query("SELECT DISTINCT district, school FROM kits ORDER BY district, school")
