"""A student's bookmarks and notes in SQLite. Who may bookmark or note what is checked in services/notebook.

Must not import content, edges, services or web.
"""

from __future__ import annotations

import sqlite3

from appliance.storage.database import Database


class Notebook:
    """The `bookmarks` and `notes` tables; every method is about one account's own rows."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def bookmarks(self, account_id: int) -> list[sqlite3.Row]:
        """The account's bookmarked articles, newest first."""
        return (
            self.db.read()
            .execute("SELECT * FROM bookmarks WHERE account_id = ? ORDER BY created_at DESC, rowid DESC", (account_id,))
            .fetchall()
        )

    def is_bookmarked(self, account_id: int, book: str, path: str) -> bool:
        return (
            self.db.read()
            .execute("SELECT 1 FROM bookmarks WHERE account_id = ? AND book = ? AND path = ?", (account_id, book, path))
            .fetchone()
            is not None
        )

    def add_bookmark(self, account_id: int, book: str, path: str, title: str, when: str) -> None:
        """Bookmark an article; bookmarking it again changes nothing."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO bookmarks (account_id, book, path, title, created_at) VALUES (?, ?, ?, ?, ?)",
                (account_id, book, path, title, when),
            )

    def remove_bookmark(self, account_id: int, book: str, path: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "DELETE FROM bookmarks WHERE account_id = ? AND book = ? AND path = ?", (account_id, book, path)
            )

    def notes(self, account_id: int) -> list[sqlite3.Row]:
        """The account's notes, last changed first."""
        return (
            self.db.read()
            .execute("SELECT * FROM notes WHERE account_id = ? ORDER BY updated_at DESC, rowid DESC", (account_id,))
            .fetchall()
        )

    def note(self, account_id: int, lesson_id: int, book: str, path: str) -> sqlite3.Row | None:
        """The note on a lesson (book = path = '') or on an article (lesson_id 0), or None."""
        return (
            self.db.read()
            .execute(
                "SELECT * FROM notes WHERE account_id = ? AND lesson_id = ? AND book = ? AND path = ?",
                (account_id, lesson_id, book, path),
            )
            .fetchone()
        )

    def save_note(
        self, account_id: int, lesson_id: int, book: str, path: str, title: str, body: str, when: str
    ) -> None:
        """Write the note (replacing the one before); an empty body deletes it."""
        with self.db.transaction() as conn:
            if not body:
                conn.execute(
                    "DELETE FROM notes WHERE account_id = ? AND lesson_id = ? AND book = ? AND path = ?",
                    (account_id, lesson_id, book, path),
                )
                return
            conn.execute(
                "INSERT INTO notes (account_id, lesson_id, book, path, title, body, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, lesson_id, book, path) DO UPDATE "
                "SET title = excluded.title, body = excluded.body, updated_at = excluded.updated_at",
                (account_id, lesson_id, book, path, title, body, when),
            )
