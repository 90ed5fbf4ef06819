"""Class notices and their read marks in SQLite. Who may post, see or mark which notice is checked in
services/learning/notices.py.

Must not import content, edges, services or web.
"""

from __future__ import annotations

import sqlite3

from appliance.storage.database import Database, inserted_id

# A notice as pages show it: with the name of the teacher who wrote it and of the child it is for (NULL: the class).
_NOTICE = (
    "SELECT n.*, t.display_name AS teacher_name, t.username AS teacher_username, s.display_name AS student_name "
    "FROM notices n LEFT JOIN accounts t ON t.id = n.teacher_id LEFT JOIN accounts s ON s.id = n.student_id"
)


class Notices:
    """The `notices` and `notice_reads` tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, class_id: int, student_id: int | None, teacher_id: int, body: str) -> int:
        """Store a notice for the class (`student_id` None) or one of its children; its id."""
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO notices (class_id, student_id, teacher_id, body) VALUES (?, ?, ?, ?)",
                (class_id, student_id, teacher_id, body),
            )
            return inserted_id(cursor)

    def notice(self, notice_id: int) -> sqlite3.Row | None:
        return self.db.read().execute(f"{_NOTICE} WHERE n.id = ?", (notice_id,)).fetchone()

    def remove(self, notice_id: int) -> None:
        """Delete a notice and its read marks."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM notices WHERE id = ?", (notice_id,))

    def of_class(self, class_id: int, limit: int) -> list[sqlite3.Row]:
        """The class's notices, to the class and to each child, newest first."""
        return (
            self.db.read().execute(f"{_NOTICE} WHERE n.class_id = ? ORDER BY n.id DESC LIMIT ?", (class_id, limit))
        ).fetchall()

    def for_student(self, account_id: int, limit: int) -> list[sqlite3.Row]:
        """Notices to the classes the student is in (to the class or to them), newest first, each with `read_at`
        (NULL while unread)."""
        return (
            self.db.read()
            .execute(
                f"SELECT * FROM ({_NOTICE}) AS n LEFT JOIN notice_reads r ON r.notice_id = n.id AND r.account_id = ? "
                "WHERE n.class_id IN (SELECT class_id FROM enrolments WHERE account_id = ?) "
                "AND (n.student_id IS NULL OR n.student_id = ?) ORDER BY n.id DESC LIMIT ?",
                (account_id, account_id, account_id, limit),
            )
            .fetchall()
        )

    def mark_read(self, notice_id: int, account_id: int) -> None:
        """The child has read the notice; marking it again keeps the first time."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO notice_reads (notice_id, account_id) VALUES (?, ?)", (notice_id, account_id)
            )

    def readers(self, notice_ids: list[int]) -> dict[int, set[int]]:
        """{notice id: the accounts that have read it} for some notices."""
        if not notice_ids:
            return {}
        marks = ",".join("?" * len(notice_ids))
        found: dict[int, set[int]] = {notice_id: set() for notice_id in notice_ids}
        rows = self.db.read().execute(
            f"SELECT notice_id, account_id FROM notice_reads WHERE notice_id IN ({marks})", notice_ids
        )
        for notice_id, account_id in rows:
            found[notice_id].add(account_id)
        return found
