"""People, classes, teachers of classes and enrolments in SQLite. Hashing and access rules live in services.

Must not import content, edges, services or web. Methods taking `conn` run inside the caller's
transaction (a roster import is one transaction: all of it or nothing).
"""

from __future__ import annotations

import sqlite3

from appliance.storage.database import Database, inserted_id

NO_CREDENTIAL = "!"  # a password_hash argon2 cannot verify: no PIN or password set yet
PERSON = (
    "SELECT id, username, role, display_name, pseudonym, student_number, source_id, must_change_password, "
    "password_hash != '!' AS has_credential, printed_pin FROM accounts"
)


class People:
    """The `accounts` columns about people, and the `orgs`, `classes`, `class_teachers`, `enrolments` tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- reads ---------------------------------------------------------------------------------

    def person(self, account_id: int) -> sqlite3.Row | None:
        return self.db.read().execute(f"{PERSON} WHERE id = ?", (account_id,)).fetchone()

    def credential(self, account_id: int) -> str:
        """The account's PIN or password hash (NO_CREDENTIAL when none is set)."""
        row = self.db.read().execute("SELECT password_hash FROM accounts WHERE id = ?", (account_id,)).fetchone()
        return row[0] if row else NO_CREDENTIAL

    def staff(self) -> list[sqlite3.Row]:
        """Administrators and teachers, by name."""
        return (
            self.db.read()
            .execute(f"{PERSON} WHERE role IN ('admin', 'teacher') ORDER BY role, display_name, username")
            .fetchall()
        )

    def all_classes(self) -> list[sqlite3.Row]:
        """Every class but the removed (archived) ones."""
        return (
            self.db.read()
            .execute("SELECT * FROM classes WHERE removed_at IS NULL ORDER BY grade, name COLLATE NOCASE, id")
            .fetchall()
        )

    def classes_taught_by(self, account_id: int) -> list[sqlite3.Row]:
        return (
            self.db.read()
            .execute(
                "SELECT classes.* FROM classes JOIN class_teachers ON class_teachers.class_id = classes.id "
                "WHERE class_teachers.account_id = ? AND removed_at IS NULL ORDER BY grade, name COLLATE NOCASE, id",
                (account_id,),
            )
            .fetchall()
        )

    def classes_of_student(self, account_id: int) -> list[sqlite3.Row]:
        return (
            self.db.read()
            .execute(
                "SELECT classes.* FROM classes JOIN enrolments ON enrolments.class_id = classes.id "
                "WHERE enrolments.account_id = ? AND removed_at IS NULL ORDER BY grade, name COLLATE NOCASE, id",
                (account_id,),
            )
            .fetchall()
        )

    def class_by_id(self, class_id: int) -> sqlite3.Row | None:
        """The class, or None when there is none or it was removed (archived)."""
        return (
            self.db.read().execute("SELECT * FROM classes WHERE id = ? AND removed_at IS NULL", (class_id,)).fetchone()
        )

    @staticmethod
    def class_names(conn: sqlite3.Connection) -> list[sqlite3.Row]:
        """Every class's id, name and sourcedId, read in the caller's transaction (names are checked as written). A
        removed (archived) class's name is free again: only a OneRoster import (by sourcedId) can bring it back."""
        return conn.execute("SELECT id, name, source_id FROM classes WHERE removed_at IS NULL ORDER BY id").fetchall()

    def teachers_of(self, class_id: int) -> list[sqlite3.Row]:
        return (
            self.db.read()
            .execute(
                f"{PERSON} WHERE id IN (SELECT account_id FROM class_teachers WHERE class_id = ?) "
                "ORDER BY display_name, username",
                (class_id,),
            )
            .fetchall()
        )

    def students_of(self, class_id: int) -> list[sqlite3.Row]:
        """The students of a class by id: pages and files list them through services/people/name_order.py."""
        return (
            self.db.read()
            .execute(
                f"{PERSON} WHERE role = 'student' AND id IN (SELECT account_id FROM enrolments WHERE class_id = ?) "
                "ORDER BY id",
                (class_id,),
            )
            .fetchall()
        )

    def teaches(self, account_id: int, class_id: int) -> bool:
        return (
            self.db.read()
            .execute("SELECT 1 FROM class_teachers WHERE account_id = ? AND class_id = ?", (account_id, class_id))
            .fetchone()
            is not None
        )

    def enrolled(self, account_id: int, class_id: int) -> bool:
        return (
            self.db.read()
            .execute("SELECT 1 FROM enrolments WHERE account_id = ? AND class_id = ?", (account_id, class_id))
            .fetchone()
            is not None
        )

    def records_in_class(self, class_id: int, account_id: int | None = None) -> dict[str, int]:
        """What a class holds (or, with `account_id`, one student's part of it): its students, lessons, quizzes,
        hand-ins, quiz attempts and the parents' messages and signs (已阅); what its removal page says stays on the
        kit."""
        student = "" if account_id is None else " AND account_id = :student"
        counts = {
            "students": "SELECT count(*) FROM enrolments WHERE class_id = :class" + student,
            "lessons": "SELECT count(*) FROM lessons WHERE class_id = :class",
            "quizzes": "SELECT count(*) FROM quizzes WHERE class_id = :class",
            "handins": "SELECT count(*) FROM handins WHERE lesson_id IN (SELECT id FROM lessons WHERE class_id = :class)"
            + student,
            "attempts": "SELECT count(*) FROM quiz_attempts WHERE quiz_id IN "
            "(SELECT id FROM quizzes WHERE class_id = :class)" + student,
            "family": "SELECT (SELECT count(*) FROM family_messages WHERE class_id = :class" + student + ") + "
            "(SELECT count(*) FROM family_signs WHERE class_id = :class" + student + ")",
        }
        conn = self.db.read()
        values = {"class": class_id, "student": account_id}
        return {what: conn.execute(sql, values).fetchone()[0] for what, sql in counts.items()}

    def count(self, table: str) -> int:
        """Rows of one of this module's tables (for import summaries and tests)."""
        if table not in ("orgs", "classes", "class_teachers", "enrolments"):
            raise ValueError(table)
        return self.db.read().execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    # --- writes --------------------------------------------------------------------------------

    def transaction(self):
        """A write transaction for the methods below that take `conn`."""
        return self.db.transaction()

    @staticmethod
    def find_account(conn: sqlite3.Connection, column: str, value: str) -> sqlite3.Row | None:
        if column not in ("username", "student_number", "source_id"):
            raise ValueError(column)
        return conn.execute(f"{PERSON} WHERE {column} = ?", (value,)).fetchone()

    @staticmethod
    def add_person(
        conn: sqlite3.Connection,
        *,
        username: str,
        role: str,
        display_name: str,
        pseudonym: str,
        password_hash: str = NO_CREDENTIAL,
        must_change_password: bool = False,
        student_number: str | None = None,
        source_id: str | None = None,
        printed_pin: str | None = None,
    ) -> int:
        """Insert an account; sqlite3.IntegrityError when the username, student number or sourcedId is taken."""
        return inserted_id(
            conn.execute(
                "INSERT INTO accounts (username, role, display_name, pseudonym, password_hash, must_change_password, "
                "student_number, source_id, printed_pin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    username,
                    role,
                    display_name,
                    pseudonym,
                    password_hash,
                    int(must_change_password),
                    student_number,
                    source_id,
                    printed_pin,
                ),
            )
        )

    @staticmethod
    def update_person(conn: sqlite3.Connection, account_id: int, **columns) -> None:
        allowed = {"display_name", "username", "student_number", "password_hash", "must_change_password", "printed_pin"}
        if not columns or set(columns) - allowed:
            raise ValueError(columns)
        assignments = ", ".join(f"{name} = ?" for name in columns)
        conn.execute(f"UPDATE accounts SET {assignments} WHERE id = ?", (*columns.values(), account_id))
        if "password_hash" in columns:  # a new password or PIN ends the sessions the old one opened
            if "printed_pin" not in columns:  # a PIN set without its printed copy: the old copy is wrong now
                conn.execute("UPDATE accounts SET printed_pin = NULL WHERE id = ?", (account_id,))
            conn.execute("DELETE FROM sessions WHERE account_id = ?", (account_id,))

    @staticmethod
    def upsert_org(conn: sqlite3.Connection, source_id: str, name: str, org_type: str) -> int:
        conn.execute(
            "INSERT INTO orgs (source_id, name, type) VALUES (?, ?, ?) ON CONFLICT(source_id) "
            "DO UPDATE SET name = excluded.name, type = excluded.type",
            (source_id, name, org_type),
        )
        return conn.execute("SELECT id FROM orgs WHERE source_id = ?", (source_id,)).fetchone()[0]

    @staticmethod
    def add_class(
        conn: sqlite3.Connection,
        name: str,
        grade: str = "",
        *,
        org_id: int | None = None,
        course: str = "",
        term: str = "",
        source_id: str | None = None,
    ) -> int:
        """Insert a class, or update the one with this sourcedId; return its id."""
        if source_id is None:
            return inserted_id(
                conn.execute(
                    "INSERT INTO classes (name, grade, org_id, course, term) VALUES (?, ?, ?, ?, ?)",
                    (name, grade, org_id, course, term),
                )
            )
        conn.execute(
            "INSERT INTO classes (name, grade, org_id, course, term, source_id) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(source_id) DO UPDATE SET name = excluded.name, grade = excluded.grade, "
            "org_id = excluded.org_id, course = excluded.course, term = excluded.term",
            (name, grade, org_id, course, term, source_id),
        )
        return conn.execute("SELECT id FROM classes WHERE source_id = ?", (source_id,)).fetchone()[0]

    @staticmethod
    def add_teacher(conn: sqlite3.Connection, class_id: int, account_id: int) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO class_teachers (class_id, account_id) VALUES (?, ?)", (class_id, account_id)
        )

    @staticmethod
    def enrol(conn: sqlite3.Connection, class_id: int, account_id: int, source_id: str | None = None) -> None:
        conn.execute(
            "INSERT INTO enrolments (class_id, account_id, source_id) VALUES (?, ?, ?) "
            "ON CONFLICT(class_id, account_id) DO UPDATE SET source_id = coalesce(excluded.source_id, "
            "enrolments.source_id)",
            (class_id, account_id, source_id),
        )

    @staticmethod
    def drop_enrolment(conn: sqlite3.Connection, source_id: str) -> None:
        conn.execute("DELETE FROM enrolments WHERE source_id = ?", (source_id,))

    @staticmethod
    def leave_class(conn: sqlite3.Connection, class_id: int, account_id: int) -> bool:
        """The student is no longer in the class (their hand-ins, attempts and records stay); True when they are
        still in another class."""
        conn.execute("DELETE FROM enrolments WHERE class_id = ? AND account_id = ?", (class_id, account_id))
        return conn.execute("SELECT 1 FROM enrolments WHERE account_id = ?", (account_id,)).fetchone() is not None

    @staticmethod
    def end_sessions(conn: sqlite3.Connection, account_id: int) -> None:
        conn.execute("DELETE FROM sessions WHERE account_id = ?", (account_id,))

    @staticmethod
    def clear_credential(conn: sqlite3.Connection, account_id: int) -> None:
        """No PIN or picture code (and no printed copy) until the teacher gives one; the account's sessions end."""
        conn.execute("UPDATE accounts SET password_hash = '!', printed_pin = NULL WHERE id = ?", (account_id,))
        conn.execute("DELETE FROM sessions WHERE account_id = ?", (account_id,))

    @staticmethod
    def rename_class(conn: sqlite3.Connection, class_id: int, name: str, grade: str) -> None:
        conn.execute("UPDATE classes SET name = ?, grade = ? WHERE id = ?", (name, grade, class_id))

    @staticmethod
    def archive_class(conn: sqlite3.Connection, class_id: int, at: str) -> None:
        """The class leaves every list and the sign-in page; its lessons, quizzes, hand-ins and enrolments stay."""
        conn.execute("UPDATE classes SET removed_at = ? WHERE id = ? AND removed_at IS NULL", (at, class_id))

    @staticmethod
    def set_teachers(conn: sqlite3.Connection, class_id: int, account_ids: list[int]) -> None:
        """The class's teachers are exactly `account_ids`."""
        conn.execute("DELETE FROM class_teachers WHERE class_id = ?", (class_id,))
        conn.executemany(
            "INSERT INTO class_teachers (class_id, account_id) VALUES (?, ?)", [(class_id, a) for a in account_ids]
        )

    def set_signin_kind(self, class_id: int, kind: str) -> bool:
        """'pin' or 'pictures': how the class's students sign in. When it changes, their credentials are cleared
        ('!'), since a PIN cannot be typed on the pictures page nor the reverse; True when it changed."""
        with self.db.transaction() as conn:
            changed = (
                conn.execute(
                    "UPDATE classes SET signin_kind = ? WHERE id = ? AND signin_kind != ?", (kind, class_id, kind)
                ).rowcount
                == 1
            )
            if changed:
                conn.execute(
                    "UPDATE accounts SET password_hash = '!', printed_pin = NULL WHERE role = 'student' AND id IN "
                    "(SELECT account_id FROM enrolments WHERE class_id = ?)",
                    (class_id,),
                )
        return changed

    def set_credentials(self, hashes: dict[int, str], printed: dict[int, str] | None = None) -> None:
        """Replace the PIN or password hash of each account, in one transaction, with the PIN as printed on its card
        (`printed`, students only; none kept when absent); their sessions end."""
        printed = printed or {}
        with self.db.transaction() as conn:
            conn.executemany(
                "UPDATE accounts SET password_hash = ?, printed_pin = ? WHERE id = ?",
                [(digest, printed.get(account_id), account_id) for account_id, digest in hashes.items()],
            )
            conn.executemany("DELETE FROM sessions WHERE account_id = ?", [(account_id,) for account_id in hashes])
