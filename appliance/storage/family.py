"""Parents' signs (已阅) and messages to the teacher in SQLite (migration 0035). Who may sign what, the client ids'
idempotency and the clamped times are services/learning/family.py's.

Must not import content, edges, services or web.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from appliance.storage.database import Database

# A sign as pages show it: what was signed (the notice's text, or the hand-in's lesson title).
_SIGN = (
    "SELECT f.*, n.body AS notice_body, l.title AS lesson_title FROM family_signs f "
    "LEFT JOIN notices n ON n.id = f.notice_id LEFT JOIN handins h ON h.id = f.handin_id "
    "LEFT JOIN lessons l ON l.id = h.lesson_id"
)


class Family:
    """The `family_signs` and `family_messages` tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def delivered(self, account_id: int, client_id: str) -> tuple[str, sqlite3.Row] | None:
        """What the child's delivery `client_id` stored before: ('sign', row) or ('message', row); None if nothing."""
        conn = self.db.read()
        sign = conn.execute(
            "SELECT * FROM family_signs WHERE account_id = ? AND client_id = ?", (account_id, client_id)
        ).fetchone()
        if sign is not None:
            return "sign", sign
        message = conn.execute(
            "SELECT * FROM family_messages WHERE account_id = ? AND client_id = ?", (account_id, client_id)
        ).fetchone()
        return ("message", message) if message is not None else None

    def sign(self, account_id: int, class_id: int, what: str, thing_id: int, client_id: str, made_at: str, now: str):
        """Store the child's sign of a notice (`what` 'notice') or hand-in ('handin') unless one is already there
        (for the thing, or with this client id): the first stays. The sign row kept."""
        column = {"notice": "notice_id", "handin": "handin_id"}[what]
        with self.db.transaction() as conn:
            conn.execute(
                f"INSERT OR IGNORE INTO family_signs (account_id, class_id, {column}, client_id, made_at, arrived_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (account_id, class_id, thing_id, client_id, made_at, now),
            )
            return conn.execute(
                f"SELECT * FROM family_signs WHERE account_id = ? AND ({column} = ? OR client_id = ?) ORDER BY id",
                (account_id, thing_id, client_id),
            ).fetchone()

    def add_message(self, account_id: int, class_id: int, body: str, client_id: str, made_at: str, now: str):
        """Store a message unless this client id already brought one; the row kept (the first)."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO family_messages (account_id, class_id, client_id, body, made_at, arrived_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (account_id, class_id, client_id, body, made_at, now),
            )
            return conn.execute(
                "SELECT * FROM family_messages WHERE account_id = ? AND client_id = ?", (account_id, client_id)
            ).fetchone()

    def signs_of(self, account_id: int, class_id: int | None = None) -> list[sqlite3.Row]:
        """The child's signs (of one class's things when given), newest first."""
        where, args = ("WHERE f.account_id = ?", [account_id])
        if class_id is not None:
            where, args = where + " AND f.class_id = ?", [*args, class_id]
        return self.db.read().execute(f"{_SIGN} {where} ORDER BY f.id DESC", args).fetchall()

    def messages_of(self, account_id: int, class_id: int | None, limit: int) -> list[sqlite3.Row]:
        """The child's messages (to one class when given), newest first, with the reader's name."""
        where, args = "WHERE m.account_id = ?", [account_id]
        if class_id is not None:
            where, args = where + " AND m.class_id = ?", [*args, class_id]
        return (
            self.db.read()
            .execute(
                "SELECT m.*, c.name AS class_name, r.display_name AS reader_name, r.username AS reader_username "
                "FROM family_messages m JOIN classes c ON c.id = m.class_id "
                f"LEFT JOIN accounts r ON r.id = m.read_by {where} ORDER BY m.id DESC LIMIT ?",
                [*args, limit],
            )
            .fetchall()
        )

    def message(self, message_id: int) -> sqlite3.Row | None:
        return self.db.read().execute("SELECT * FROM family_messages WHERE id = ?", (message_id,)).fetchone()

    def mark_message_read(self, message_id: int, reader_id: int, now: str) -> None:
        """A teacher read the message; marking it again keeps the first time."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE family_messages SET read_at = ?, read_by = ? WHERE id = ? AND read_at IS NULL",
                (now, reader_id, message_id),
            )

    def mark_signs_seen(self, account_id: int, class_id: int, now: str) -> None:
        """A teacher of the class had the child's signs in front of them: none of them is new any more."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE family_signs SET seen_at = ? WHERE account_id = ? AND class_id = ? AND seen_at IS NULL",
                (now, account_id, class_id),
            )

    def new_counts(self, class_id: int) -> dict[int, dict[str, Any]]:
        """{child id: {'messages': unread messages, 'signs': signs no teacher has seen}} of one class, children with
        neither left out."""
        conn = self.db.read()
        found: dict[int, dict[str, Any]] = {}
        for key, sql in (
            ("messages", "SELECT account_id, count(*) FROM family_messages WHERE class_id = ? AND read_at IS NULL"),
            ("signs", "SELECT account_id, count(*) FROM family_signs WHERE class_id = ? AND seen_at IS NULL"),
        ):
            for account_id, count in conn.execute(f"{sql} GROUP BY account_id", (class_id,)):
                found.setdefault(account_id, {"messages": 0, "signs": 0})[key] = count
        return found
