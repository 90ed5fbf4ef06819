"""The `shares`, `share_versions`, `share_parts` and `share_files` tables: teachers' lessons shared with the county
(hub migrations 0012 and 0013, docs/shared-lessons.md), their parts while they arrive, their checked files, their review.

Must not import the hub's services. Statements are written for both backends (`?` placeholders).
"""

from __future__ import annotations

from typing import Any

POSITION = ("edition", "grade", "volume", "subject", "unit", "lesson")
TOLD = ("submitted", "accepted", "returned", "published", "broken")  # the states a kit is told (not `receiving`)
SUMMARY = (
    "share_id, version, kit_id, school, district, author, title, licence, edition, grade, volume, subject, unit, "
    "lesson, state, comment, reviewer, received_at, changed_at"
)


def owner(tx, share_id: str) -> str | None:
    rows = tx.execute("SELECT kit_id FROM shares WHERE share_id = ?", (share_id,))
    return rows[0]["kit_id"] if rows else None


def claim(tx, share_id: str, kit_id: str, now: float) -> None:
    """Make `kit_id` the share's owner if it has none (the first report that names it), and lock the share's row
    until the transaction ends: on PostgreSQL two workers storing the last two parts of a file then take turns, and
    the second sees the first's part (SQLite's BEGIN IMMEDIATE serialises every write anyway)."""
    tx.execute(
        "INSERT INTO shares (share_id, kit_id, first_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (share_id, kit_id, now),
    )
    tx.execute("UPDATE shares SET kit_id = kit_id WHERE share_id = ?", (share_id,))


def newest_version(tx, share_id: str) -> int:
    rows = tx.execute("SELECT max(version) AS v FROM share_versions WHERE share_id = ?", (share_id,))
    return rows[0]["v"] or 0


def add_version(tx, row: dict[str, Any]) -> None:
    """A version as it arrives (state `receiving`); `row` holds the share_versions columns."""
    columns = ", ".join(row)
    tx.execute(
        f"INSERT INTO share_versions ({columns}) VALUES ({', '.join('?' * len(row))}) ON CONFLICT DO NOTHING",
        tuple(row.values()),
    )


def drop_older(tx, share_id: str, version: int) -> None:
    """Forget the versions before `version` (their files, their parts), but a published one: it stays in the county
    book until a newer version is accepted and published."""
    tx.execute("DELETE FROM share_parts WHERE share_id = ? AND version < ?", (share_id, version))
    tx.execute(
        "DELETE FROM share_files WHERE share_id = ? AND version < ? AND version NOT IN "
        "(SELECT version FROM share_versions WHERE share_id = ? AND state = 'published')",
        (share_id, version, share_id),
    )
    tx.execute(
        "DELETE FROM share_versions WHERE share_id = ? AND version < ? AND state <> 'published'", (share_id, version)
    )


def version_row(tx, share_id: str, version: int) -> dict[str, Any] | None:
    rows = tx.execute(
        f"SELECT {SUMMARY}, body FROM share_versions WHERE share_id = ? AND version = ?", (share_id, version)
    )
    return rows[0] if rows else None


def add_part(tx, share_id: str, version: int, file: int, part: int, parts: int, data: bytes) -> None:
    """Keep a part; the same part sent again changes nothing."""
    tx.execute(
        "INSERT INTO share_parts (share_id, version, file, part, parts, data) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        (share_id, version, file, part, parts, data),
    )


def waiting_bytes(tx, kit_id: str) -> int:
    """The bytes of the parts a kit's shares hold that are not yet assembled."""
    rows = tx.execute(
        "SELECT coalesce(sum(length(p.data)), 0) AS n FROM share_parts p JOIN shares s ON s.share_id = p.share_id "
        "WHERE s.kit_id = ?",
        (kit_id,),
    )
    return int(rows[0]["n"])


def parts_held(tx, share_id: str, version: int) -> list[dict[str, Any]]:
    """(file, part, parts) of every part kept for a version, without their bytes."""
    return tx.execute(
        "SELECT file, part, parts FROM share_parts WHERE share_id = ? AND version = ? ORDER BY file, part",
        (share_id, version),
    )


def part_data(tx, share_id: str, version: int, file: int) -> list[bytes]:
    rows = tx.execute(
        "SELECT data FROM share_parts WHERE share_id = ? AND version = ? AND file = ? ORDER BY part",
        (share_id, version, file),
    )
    return [bytes(row["data"]) for row in rows]


def drop_parts(tx, share_id: str, version: int) -> None:
    tx.execute("DELETE FROM share_parts WHERE share_id = ? AND version = ?", (share_id, version))


def add_file(tx, share_id: str, version: int, file: int, meta: dict[str, Any], data: bytes) -> None:
    tx.execute(
        "INSERT INTO share_files (share_id, version, file, name, media_type, bytes, sha256, data) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (share_id, version, file, meta["name"], meta["media_type"], meta["bytes"], meta["sha256"], data),
    )


def set_state(
    tx, share_id: str, version: int, state: str, now: float, comment: str = "", reviewer: str = "", was: str = ""
) -> int:
    """Set a version's state (and comment, reviewer), only while its state is `was` when given; how many rows
    changed (0: someone else changed it first)."""
    tx.execute(
        "UPDATE share_versions SET state = ?, comment = ?, reviewer = ?, changed_at = ? "
        "WHERE share_id = ? AND version = ?" + (" AND state = ?" if was else ""),
        (state, comment, reviewer, now, share_id, version, *((was,) if was else ())),
    )
    return tx.changed


def told(db, kit_ids: list[str], since: float, limit: int) -> list[dict[str, Any]]:
    """The states of these kits' shares changed since `since`, newest first, at most `limit` per kit."""
    if not kit_ids:
        return []
    marks = ", ".join("?" * len(kit_ids))
    states = ", ".join(f"'{state}'" for state in TOLD)
    return db.query(
        "SELECT kit_id, share_id, version, state, comment, reviewer, changed_at FROM ("
        "SELECT kit_id, share_id, version, state, comment, reviewer, changed_at, "
        "row_number() OVER (PARTITION BY kit_id ORDER BY changed_at DESC, share_id) AS n FROM share_versions "
        f"WHERE kit_id IN ({marks}) AND changed_at >= ? AND state IN ({states})) AS recent WHERE n <= ? "
        "ORDER BY kit_id, changed_at DESC, share_id",
        (*kit_ids, since, limit),
    )


def listed(db, states: tuple[str, ...]) -> list[dict[str, Any]]:
    """The newest version of each share in one of `states`, with its place, for the review list."""
    marks = ", ".join("?" * len(states))
    return db.query(
        f"SELECT {SUMMARY} FROM share_versions v WHERE state IN ({marks}) AND version = "
        "(SELECT max(version) FROM share_versions w WHERE w.share_id = v.share_id) "
        "ORDER BY edition, grade, volume, subject, unit, lesson, changed_at DESC",
        states,
    )


def one(db, share_id: str, version: int | None = None) -> dict[str, Any] | None:
    """A version of a share with its body (the newest when `version` is None)."""
    rows = db.query(
        f"SELECT {SUMMARY}, body FROM share_versions WHERE share_id = ? "
        + ("AND version = ? " if version is not None else "")
        + "ORDER BY version DESC LIMIT 1",
        (share_id, version) if version is not None else (share_id,),
    )
    return rows[0] if rows else None


def file_data(db, share_id: str, version: int, file: int) -> dict[str, Any] | None:
    rows = db.query(
        "SELECT name, media_type, bytes, data FROM share_files WHERE share_id = ? AND version = ? AND file = ?",
        (share_id, version, file),
    )
    return rows[0] if rows else None


def publishable(db) -> list[dict[str, Any]]:
    """Per share, the newest accepted or published version (an accepted one over the published one it replaces)."""
    return db.query(
        f"SELECT {SUMMARY}, body FROM share_versions v WHERE state IN ('accepted', 'published') AND version = "
        "(SELECT max(version) FROM share_versions w WHERE w.share_id = v.share_id "
        "AND w.state IN ('accepted', 'published')) ORDER BY edition, grade, volume, subject, unit, lesson, share_id"
    )


def drop_replaced(tx, share_id: str, version: int) -> None:
    """Forget the published versions before `version` once it is published (their files too)."""
    tx.execute("DELETE FROM share_files WHERE share_id = ? AND version < ?", (share_id, version))
    tx.execute("DELETE FROM share_versions WHERE share_id = ? AND version < ?", (share_id, version))


def kit_place(tx, kit_id: str) -> dict[str, Any]:
    """The kit's id, school and district as registered (a share keeps them as they were when it arrived)."""
    return tx.execute("SELECT kit_id, school, district FROM kits WHERE kit_id = ?", (kit_id,))[0]
