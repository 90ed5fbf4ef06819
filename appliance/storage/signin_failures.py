"""Failed sign-in attempts, counted per subject (an account or a client address) over a time window.

Must not import content, edges, services or web.
"""

from __future__ import annotations

from collections.abc import Callable

from appliance.storage.database import Database, inserted_id

# (failures of a subject since a time, time of the latest one or None)
Count = tuple[int, float | None]


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

    def begin_try(
        self,
        checks: list[tuple[str, float]],
        now: float,
        keep_after: float,
        wait: Callable[[list[Count]], float],
    ) -> tuple[float, list[int]]:
        """Check and count one try in one `BEGIN IMMEDIATE` transaction, so simultaneous tries cannot all pass the
        check before any is counted. `wait` gets the count of each (subject, since) in `checks`; when it answers 0,
        the try is counted as a failure of each subject at once (until `forget` takes it back, after a right
        password) and the answer is (0, the rows added); otherwise nothing is counted and it is (the wait, [])."""
        with self.db.transaction() as conn:
            counts = [
                tuple(
                    conn.execute(
                        "SELECT count(*), max(failed_at) FROM signin_failures WHERE subject = ? AND failed_at >= ?",
                        (subject, since),
                    ).fetchone()
                )
                for subject, since in checks
            ]
            waiting = wait(counts)
            if waiting > 0:
                return waiting, []
            conn.execute("DELETE FROM signin_failures WHERE failed_at < ?", (keep_after,))
            rows = [
                inserted_id(conn.execute("INSERT INTO signin_failures (subject, failed_at) VALUES (?, ?)", (s, now)))
                for s, _ in checks
            ]
            return 0.0, rows

    def forget(self, rows: list[int]) -> None:
        """Take back the failures `begin_try` counted for a try that turned out right."""
        with self.db.transaction() as conn:
            conn.executemany("DELETE FROM signin_failures WHERE rowid = ?", [(row,) for row in rows])

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

    def subjects_since(self, since: float) -> dict[str, tuple[int, float]]:
        """{subject: (failures at or after `since`, time of the latest)} of every subject that failed since then."""
        rows = self.db.read().execute(
            "SELECT subject, count(*), max(failed_at) FROM signin_failures WHERE failed_at >= ? GROUP BY subject",
            (since,),
        )
        return {subject: (count, latest) for subject, count, latest in rows}
