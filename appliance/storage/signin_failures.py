"""Failed sign-in attempts, counted per subject (an account or a client address) over a time window.

Must not import content, edges, services or web.
"""

from __future__ import annotations

from appliance.storage.database import Database


class SigninFailures:
    """The `signin_failures` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def count_since(self, subject: str, since: float) -> tuple[int, float | None]:
        """(failures of `subject` at or after `since`, time of the latest one or None)."""
        row = (
            self.db.read()
            .execute(
                "SELECT count(*), max(failed_at) FROM signin_failures WHERE subject = ? AND failed_at >= ?",
                (subject, since),
            )
            .fetchone()
        )
        return row[0], row[1]

    def add(self, subjects: list[str], now: float, keep_after: float) -> None:
        """Record one failure for each subject, and forget failures older than `keep_after`."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM signin_failures WHERE failed_at < ?", (keep_after,))
            conn.executemany(
                "INSERT INTO signin_failures (subject, failed_at) VALUES (?, ?)",
                [(subject, now) for subject in subjects],
            )

    def clear(self, subject: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM signin_failures WHERE subject = ?", (subject,))
