"""Students' sign-ins per class and the teacher's attendance corrections in SQLite. Days and time zones are
worked out in services/people/attendance.py; this module stores ISO UTC times and YYYY-MM-DD days.

Must not import content, edges, services or web.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from appliance.storage.database import Database


def utc_text(moment: dt.datetime) -> str:
    """An aware time as stored: ISO 8601 UTC to the second, e.g. 2026-12-06T00:12:00Z."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Attendance:
    """The `signins` and `attendance_marks` tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add_signin(self, account_id: int, class_id: int, at: str) -> None:
        """Note a student's sign-in at /learn/<class> at `at` (ISO 8601 UTC)."""
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO signins (account_id, class_id, at) VALUES (?, ?, ?)", (account_id, class_id, at))

    def last_signins(self, class_id: int) -> dict[int, str]:
        """{student id: their newest sign-in to this class (ISO UTC)}; a student who never signed in is absent."""
        rows = self.db.read().execute(
            "SELECT account_id, max(at) FROM signins WHERE class_id = ? GROUP BY account_id", (class_id,)
        )
        return {account_id: at for account_id, at in rows}

    def signins_between(self, class_id: int, start: str, end: str) -> list[sqlite3.Row]:
        """The class's sign-ins from `start` (included) to `end` (excluded), both ISO UTC, oldest first."""
        return (
            self.db.read()
            .execute(
                "SELECT account_id, at FROM signins WHERE class_id = ? AND at >= ? AND at < ? ORDER BY at",
                (class_id, start, end),
            )
            .fetchall()
        )

    def marks_between(self, class_id: int, first_day: str, last_day: str) -> list[sqlite3.Row]:
        """The teacher's corrections of the class from `first_day` to `last_day` (both included, YYYY-MM-DD)."""
        return (
            self.db.read()
            .execute(
                "SELECT account_id, day, present FROM attendance_marks WHERE class_id = ? AND day BETWEEN ? AND ?",
                (class_id, first_day, last_day),
            )
            .fetchall()
        )

    def mark(self, class_id: int, account_id: int, day: str, present: bool, marked_by: int | None, at: str) -> None:
        """The teacher's word on one child's day: present or absent, whatever the sign-ins say."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO attendance_marks (class_id, account_id, day, present, marked_by, marked_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (class_id, day, account_id) DO UPDATE SET "
                "present = excluded.present, marked_by = excluded.marked_by, marked_at = excluded.marked_at",
                (class_id, account_id, day, int(present), marked_by, at),
            )
