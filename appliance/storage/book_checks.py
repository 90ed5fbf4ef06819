"""Remembered checksum results of ZIM files, keyed by path, size and modification time.

Must not import content, edges, services or web.
"""

from __future__ import annotations

from appliance.storage.database import Database


class BookChecks:
    """The `book_checks` table; satisfies content.library.CheckStore."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, path: str, size_bytes: int, mtime_ns: int) -> tuple[bool, str] | None:
        """The stored result for exactly this file version, or None."""
        row = (
            self.db.read()
            .execute(
                "SELECT ok, reason FROM book_checks WHERE path = ? AND size_bytes = ? AND mtime_ns = ?",
                (path, size_bytes, mtime_ns),
            )
            .fetchone()
        )
        return None if row is None else (bool(row["ok"]), row["reason"])

    def put(self, path: str, size_bytes: int, mtime_ns: int, ok: bool, reason: str) -> None:
        """Store the result for this file version, replacing any older one."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO book_checks (path, size_bytes, mtime_ns, ok, reason) VALUES (?, ?, ?, ?, ?)",
                (path, size_bytes, mtime_ns, int(ok), reason),
            )
