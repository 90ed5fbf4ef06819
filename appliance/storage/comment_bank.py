"""Each teacher's bank of common comments (常用评语) in SQLite. Who may change which bank is checked in
services/learning/comment_bank.py.

Must not import content, edges, services or web.
"""

from __future__ import annotations

import sqlite3

from appliance.storage.database import Database


class CommentBank:
    """The `comment_banks` and `bank_comments` tables; every method is about one teacher's own bank."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def started(self, teacher_id: int) -> bool:
        """Whether the teacher's bank was started (its defaults given once)."""
        row = self.db.read().execute("SELECT 1 FROM comment_banks WHERE teacher_id = ?", (teacher_id,)).fetchone()
        return row is not None

    def comments(self, teacher_id: int) -> list[sqlite3.Row]:
        """The teacher's comments (id, text), in the order added."""
        return (
            self.db.read()
            .execute("SELECT id, text FROM bank_comments WHERE teacher_id = ? ORDER BY id", (teacher_id,))
            .fetchall()
        )

    def start(self, teacher_id: int, defaults: list[str]) -> None:
        """Start the teacher's bank with `defaults`, once: a bank already started is left as it is."""
        with self.db.transaction() as conn:
            if conn.execute("INSERT OR IGNORE INTO comment_banks (teacher_id) VALUES (?)", (teacher_id,)).rowcount:
                conn.executemany(
                    "INSERT OR IGNORE INTO bank_comments (teacher_id, text) VALUES (?, ?)",
                    [(teacher_id, text) for text in defaults],
                )

    def add(self, teacher_id: int, text: str) -> None:
        """Add a comment to the teacher's (started) bank; one already there is not added twice."""
        with self.db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO comment_banks (teacher_id) VALUES (?)", (teacher_id,))
            conn.execute("INSERT OR IGNORE INTO bank_comments (teacher_id, text) VALUES (?, ?)", (teacher_id, text))

    def remove(self, teacher_id: int, comment_id: int) -> None:
        """Remove one of the teacher's comments (another teacher's id changes nothing)."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM bank_comments WHERE id = ? AND teacher_id = ?", (comment_id, teacher_id))
