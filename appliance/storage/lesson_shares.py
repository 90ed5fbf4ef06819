"""Lessons shared with the county (docs/shared-lessons.md): each shared version, and the state the hub last told.

Must not import content, edges, services or web. `add` runs inside the caller's transaction, the one that queues the
version's reports in the outbox, so a share is recorded exactly when its reports are.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from appliance.storage.database import Database


def add(
    conn: sqlite3.Connection,
    *,
    share_id: str,
    version: int,
    lesson_id: int,
    licence: str,
    shared_at: str,
    shared_by: int | None,
    sequences: tuple[int, int],
) -> None:
    """Record a shared version whose reports are the outbox sequences `sequences` (first, last)."""
    conn.execute(
        "INSERT INTO lesson_shares (share_id, version, lesson_id, licence, shared_at, shared_by, first_sequence, "
        "last_sequence) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (share_id, version, lesson_id, licence, shared_at, shared_by, *sequences),
    )


def latest(conn: sqlite3.Connection, lesson_id: int) -> sqlite3.Row | None:
    """The lesson's newest shared version, with `waiting`: how many of its reports are still in the outbox."""
    return conn.execute(
        "SELECT lesson_shares.*, (SELECT count(*) FROM outbox WHERE sequence BETWEEN first_sequence AND last_sequence)"
        " AS waiting FROM lesson_shares WHERE lesson_id = ? ORDER BY version DESC LIMIT 1",
        (lesson_id,),
    ).fetchone()


def keep_states(db: Database, states: list[dict[str, Any]]) -> int:
    """Keep each hub state (checked by protocol.shared_lesson.check_states) that is newer than the one kept for that
    share and version; how many changed. A state of a share this kit does not know changes nothing."""
    changed = 0
    with db.transaction() as conn:
        for state in states:
            changed += conn.execute(
                "UPDATE lesson_shares SET state = ?, comment = ?, reviewer = ?, state_at = ? "
                "WHERE share_id = ? AND version = ? AND (state_at IS NULL OR state_at <= ?)",
                (
                    state["state"],
                    state.get("comment") or "",
                    str(state.get("reviewer") or "")[:120],
                    state["at"],
                    state["share_id"],
                    state["version"],
                    state["at"],
                ),
            ).rowcount
    return changed
