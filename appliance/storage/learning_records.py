"""Learning records (xAPI statements) in SQLite, and which of them were handed to the outbox.

Must not import content, edges, services or web. Statements are stored as JSON text, checked by services/xapi.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from typing import Any

from appliance import strict_json
from appliance.storage.database import Database

# (account id, window's start, now, opened_key): asked on every article a signed-in student opens; answered from
# the index learning_records_account alone (migration 0036).
OPENED_WITHIN = (
    "SELECT 1 FROM learning_records WHERE account_id = ? AND created_at > ? AND created_at <= ? "
    "AND opened_key = ? LIMIT 1"
)


class LearningRecords:
    """The `learning_records` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, statements: list[dict[str, Any]], account_id: int | None) -> None:
        """Store statements of one account in one transaction (one INSERT each)."""
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT INTO learning_records (id, account_id, statement, created_at) VALUES (?, ?, ?, ?)",
                [(s["id"], account_id, strict_json.dumps(s, ensure_ascii=False), s["timestamp"]) for s in statements],
            )

    def opened_within(self, account_id: int, activity: str, now: float, window_s: float) -> bool:
        """Whether this account has an "opened" statement of `activity` made within `window_s` before `now` (Unix
        time). A read: a repeated open costs no write transaction."""
        return _opened_within(self.db.read(), account_id, opened_key(activity), now, window_s)

    def add_open(self, statement: dict[str, Any], account_id: int, activity: str, now: float, window_s: float) -> bool:
        """Store an "opened" statement unless `opened_within` (decided again inside the write transaction, so two
        workers racing store one); True when stored."""
        return self.add_opens([(statement, account_id, activity, now)], window_s) == 1

    def add_opens(self, opens: list[tuple[dict[str, Any], int, str, float]], window_s: float) -> int:
        """`add_open` for many (statement, account id, activity, now) in one transaction: the pages they share
        (the table's last page, each index's) are written once for all (services/learning/open_batch.py); how many
        were stored. A statement made within the window is the one that counts: one whose time lies ahead of `now`
        (the clock was set back, e.g. by the first time synchronisation) does not."""
        stored = 0
        with self.db.transaction() as conn:
            for statement, account_id, activity, now in opens:
                if conn.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone() is None:
                    continue  # removed since it opened the article (a batch waits): nothing of theirs is kept
                key = opened_key(activity)
                if _opened_within(conn, account_id, key, now, window_s):
                    continue
                conn.execute(
                    "INSERT INTO learning_records (id, account_id, statement, created_at, opened_key) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        statement["id"],
                        account_id,
                        strict_json.dumps(statement, ensure_ascii=False),
                        statement["timestamp"],
                        key,
                    ),
                )
                stored += 1
        return stored

    def since(self, since: str | None = None, account_id: int | None = None) -> list[dict[str, Any]]:
        """Statements made at or after `since` (ISO 8601 UTC text), oldest first; optionally one account's."""
        rows = (
            self.db.read()
            .execute(
                "SELECT statement FROM learning_records WHERE created_at >= ? AND (? IS NULL OR account_id = ?) "
                "ORDER BY created_at, rowid",
                (since or "", account_id, account_id),
            )
            .fetchall()
        )
        return [json.loads(row[0]) for row in rows]

    def pending(self, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` statements not yet handed to the outbox, oldest first."""
        rows = (
            self.db.read()
            .execute(
                "SELECT statement FROM learning_records WHERE queued = 0 ORDER BY created_at, rowid LIMIT ?", (limit,)
            )
            .fetchall()
        )
        return [json.loads(row[0]) for row in rows]

    def mark_queued(self, statement_ids: list[str]) -> None:
        with self.db.transaction() as conn:
            conn.executemany("UPDATE learning_records SET queued = 1 WHERE id = ?", [(i,) for i in statement_ids])

    def counts(self) -> dict[str, int]:
        """{"total": n, "pending": m}."""
        total, pending = (
            self.db.read().execute("SELECT count(*), coalesce(sum(queued = 0), 0) FROM learning_records").fetchone()
        )
        return {"total": total, "pending": pending}

    def latest_activities(self, account_id: int, verb_id: str, activity_type: str, limit: int) -> list[sqlite3.Row]:
        """The account's most recent distinct activities (object id, last time) for one verb and activity type."""
        return (
            self.db.read()
            .execute(
                "SELECT json_extract(statement, '$.object.id') AS activity, max(created_at) AS last_at "
                "FROM learning_records WHERE account_id = ? AND json_extract(statement, '$.verb.id') = ? "
                "AND json_extract(statement, '$.object.definition.type') = ? GROUP BY activity "
                "ORDER BY last_at DESC LIMIT ?",
                (account_id, verb_id, activity_type, limit),
            )
            .fetchall()
        )


def _opened_within(conn: sqlite3.Connection, account_id: int, key: int, now: float, window_s: float) -> bool:
    """Through learning_records_account: the account's statements of the window, then their `opened_key`."""
    window = (account_id, _timestamp(now - window_s), _timestamp(now), key)
    return conn.execute(OPENED_WITHIN, window).fetchone() is not None


def opened_key(activity: str) -> int:
    """An activity IRI as the 63-bit number the index holds (8 bytes where the IRI takes ~80: fewer index pages
    for the SD card to rewrite). Two IRIs with one number would make a student's second article within the window
    unrecorded: about one chance in 10^18 a pair."""
    return int.from_bytes(hashlib.blake2b(activity.encode(), digest_size=8).digest(), "big") >> 1


def _timestamp(unix: float) -> str:
    """Unix time as a statement's `timestamp` (services/learning/xapi.py): UTC, milliseconds, "Z"."""
    when = dt.datetime.fromtimestamp(unix, dt.timezone.utc)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
