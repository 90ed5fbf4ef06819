"""Lessons, their items, who opened what, hand-ins and their files in SQLite. Access rules live in services.

Must not import content, edges, services or web. Writes are single transactions; files are written by the
caller before the row that names them is committed (services/lessons).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from appliance.storage.database import Database, inserted_id

ITEM_COLUMNS = ("kind", "title", "book", "path", "stored_name", "media_type", "size_bytes", "sha256", "quiz_id")
# A lesson children see: published (publish_at set, ISO UTC) and its time come. `?` is now, as ISO UTC.
PUBLISHED = (
    "lessons.publish_at IS NOT NULL AND lessons.publish_at <= coalesce(?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))"
)


# A lesson's place in the textbook (migration 0032): `pos_<key>` columns.
POSITION_KEYS = ("edition", "grade", "volume", "subject", "unit", "lesson")


class Lessons:
    """The `lessons`, `lesson_students`, `lesson_items`, `lesson_opens`, `handins`, `handin_files` tables."""

    def __init__(self, db: Database, wall_clock: Callable[[], str] | None = None) -> None:
        """`wall_clock`: now as a lesson's `created_at` ('YYYY-MM-DD HH:MM', the kit's wall time: services/kit.py
        passes services/learning/clock.py's); None: the column's default, SQLite's idea of local time."""
        self.db = db
        self.wall_clock = wall_clock

    # --- reads ---------------------------------------------------------------------------------

    def lesson(self, lesson_id: int) -> sqlite3.Row | None:
        return self.db.read().execute("SELECT * FROM lessons WHERE id = ?", (lesson_id,)).fetchone()

    def of_class(self, class_id: int) -> list[sqlite3.Row]:
        """The class's lessons, drafts included, newest first."""
        return (
            self.db.read()
            .execute("SELECT * FROM lessons WHERE class_id = ? AND archived_at IS NULL ORDER BY id DESC", (class_id,))
            .fetchall()
        )

    def at_unit(self, class_ids: list[int], unit: tuple[str, int, int, str, int | None]) -> list[sqlite3.Row]:
        """The classes' lessons placed in `unit` (edition, grade, volume, subject, unit; None: the whole subject),
        not archived, by lesson number then newest first."""
        marks = ",".join("?" * len(class_ids))
        return (
            self.db.read()
            .execute(
                f"SELECT * FROM lessons WHERE class_id IN ({marks}) AND archived_at IS NULL AND pos_edition = ? "
                "AND pos_grade = ? AND pos_volume = ? AND pos_subject = ? AND pos_unit IS ? "
                "ORDER BY pos_lesson IS NULL, pos_lesson, id DESC",
                (*class_ids, *unit),
            )
            .fetchall()
        )

    def published_of_class(self, class_id: int, now: str | None = None) -> list[sqlite3.Row]:
        """The class's lessons its children see at `now` (ISO UTC; None: the clock), newest first."""
        return (
            self.db.read()
            .execute(
                f"SELECT * FROM lessons WHERE class_id = ? AND archived_at IS NULL AND {PUBLISHED} ORDER BY id DESC",
                (class_id, now),
            )
            .fetchall()
        )

    def for_student(self, account_id: int, now: str | None = None) -> list[sqlite3.Row]:
        """Lessons of the student's classes assigned to the whole class or to them and published at `now` (ISO UTC;
        None: the clock), newest first."""
        return (
            self.db.read()
            .execute(
                "SELECT lessons.*, classes.name AS class_name FROM lessons JOIN classes ON classes.id = lessons.class_id "
                "WHERE class_id IN (SELECT class_id FROM enrolments WHERE account_id = ?) AND archived_at IS NULL "
                f"AND {PUBLISHED} "
                "AND classes.removed_at IS NULL "
                "AND (NOT EXISTS (SELECT 1 FROM lesson_students s WHERE s.lesson_id = lessons.id) "
                "     OR EXISTS (SELECT 1 FROM lesson_students s WHERE s.lesson_id = lessons.id AND s.account_id = ?)) "
                "ORDER BY lessons.id DESC",
                (account_id, now, account_id),
            )
            .fetchall()
        )

    def assigned_to(self, lesson_id: int) -> list[int]:
        """The chosen students' ids; [] when the lesson is for the whole class."""
        return [
            r[0]
            for r in self.db.read().execute("SELECT account_id FROM lesson_students WHERE lesson_id = ?", (lesson_id,))
        ]

    def items(self, lesson_id: int) -> list[sqlite3.Row]:
        """The lesson's items in the order added; a quiz item also has `quiz_archived_at` (its quiz was deleted)."""
        return (
            self.db.read()
            .execute(
                "SELECT lesson_items.*, quizzes.archived_at AS quiz_archived_at FROM lesson_items "
                "LEFT JOIN quizzes ON quizzes.id = lesson_items.quiz_id WHERE lesson_id = ? ORDER BY lesson_items.id",
                (lesson_id,),
            )
            .fetchall()
        )

    def item(self, item_id: int) -> sqlite3.Row | None:
        return self.db.read().execute("SELECT * FROM lesson_items WHERE id = ?", (item_id,)).fetchone()

    def opens(self, lesson_ids: list[int]) -> dict[tuple[int, int], str]:
        """{(lesson id, student id): first time the student opened the lesson or one of its items}."""
        if not lesson_ids:
            return {}
        marks = ",".join("?" * len(lesson_ids))
        rows = self.db.read().execute(
            f"SELECT lesson_id, account_id, min(first_at) FROM lesson_opens WHERE lesson_id IN ({marks}) "
            "GROUP BY lesson_id, account_id",
            lesson_ids,
        )
        return {(r[0], r[1]): r[2] for r in rows}

    def history(self, account_id: int, limit: int = 50) -> list[sqlite3.Row]:
        """What the student opened, newest first: lesson title and the item's title (NULL for the lesson page)."""
        return (
            self.db.read()
            .execute(
                "SELECT o.lesson_id, o.item_id, o.first_at, o.last_at, lessons.title AS lesson_title, "
                "lesson_items.title AS item_title, lesson_items.kind AS item_kind, lesson_items.book AS item_book, "
                "lesson_items.path AS item_path FROM lesson_opens o JOIN lessons ON lessons.id = o.lesson_id "
                "LEFT JOIN lesson_items ON lesson_items.id = o.item_id WHERE o.account_id = ? "
                "ORDER BY o.last_at DESC LIMIT ?",
                (account_id, limit),
            )
            .fetchall()
        )

    def item_progress(self, lesson_ids: list[int], account_id: int) -> dict[int, tuple[int, int]]:
        """{lesson id: (items the student opened, items)} for lessons that have items."""
        if not lesson_ids:
            return {}
        marks = ",".join("?" * len(lesson_ids))
        rows = self.db.read().execute(
            "SELECT i.lesson_id, count(o.item_id), count(*) FROM lesson_items i LEFT JOIN lesson_opens o "
            f"ON o.lesson_id = i.lesson_id AND o.item_id = i.id AND o.account_id = ? WHERE i.lesson_id IN ({marks}) "
            "GROUP BY i.lesson_id",
            [account_id, *lesson_ids],
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    def latest_handins(
        self, lesson_ids: list[int], account_id: int | None = None
    ) -> dict[tuple[int, int], sqlite3.Row]:
        """{(lesson id, student id): the newest hand-in}, for some lessons (and one student when given)."""
        if not lesson_ids:
            return {}
        marks = ",".join("?" * len(lesson_ids))
        extra, args = ("AND account_id = ?", [account_id]) if account_id is not None else ("", [])
        rows = (
            self.db.read()
            .execute(
                f"SELECT * FROM handins WHERE id IN (SELECT max(id) FROM handins WHERE lesson_id IN ({marks}) {extra} "
                "GROUP BY lesson_id, account_id)",
                [*lesson_ids, *args],
            )
            .fetchall()
        )
        return {(r["lesson_id"], r["account_id"]): r for r in rows}

    def handins_of(self, lesson_id: int, account_id: int) -> list[sqlite3.Row]:
        """One student's hand-ins for a lesson, newest first."""
        return (
            self.db.read()
            .execute(
                "SELECT * FROM handins WHERE lesson_id = ? AND account_id = ? ORDER BY id DESC", (lesson_id, account_id)
            )
            .fetchall()
        )

    def handin_of_client(self, account_id: int, client_id: str) -> sqlite3.Row | None:
        """The child's hand-in a phone delivered with this client id, if any."""
        return (
            self.db.read()
            .execute("SELECT * FROM handins WHERE account_id = ? AND client_id = ?", (account_id, client_id))
            .fetchone()
        )

    def handin(self, handin_id: int) -> sqlite3.Row | None:
        return self.db.read().execute("SELECT * FROM handins WHERE id = ?", (handin_id,)).fetchone()

    def handin_files(self, handin_id: int) -> list[sqlite3.Row]:
        return (
            self.db.read()
            .execute("SELECT * FROM handin_files WHERE handin_id = ? ORDER BY id", (handin_id,))
            .fetchall()
        )

    def handin_file(self, file_id: int) -> sqlite3.Row | None:
        return self.db.read().execute("SELECT * FROM handin_files WHERE id = ?", (file_id,)).fetchone()

    def photo_made(self, stored_name: str, size_bytes: int, sha256: str) -> bool:
        """A waiting hand-in photo made small (services/learning/handin_photos): its size and digest as kept; False
        when no hand-in names it any more."""
        with self.db.transaction() as conn:
            return bool(
                conn.execute(
                    "UPDATE handin_files SET size_bytes = ?, sha256 = ? WHERE stored_name = ?",
                    (size_bytes, sha256, stored_name),
                ).rowcount
            )

    def handin_bytes(self, account_id: int) -> tuple[int, dict[int, int]]:
        """What one student's hand-in files hold on disk: (all lessons, {lesson id: bytes})."""
        rows = (
            self.db.read()
            .execute(
                "SELECT h.lesson_id, sum(f.size_bytes) FROM handin_files f JOIN handins h ON h.id = f.handin_id "
                "WHERE h.account_id = ? GROUP BY h.lesson_id",
                (account_id,),
            )
            .fetchall()
        )
        per_lesson = {lesson_id: int(size) for lesson_id, size in rows}
        return sum(per_lesson.values()), per_lesson

    # --- writes --------------------------------------------------------------------------------

    def add_lesson(
        self,
        class_id: int,
        teacher_id: int | None,
        title: str,
        instructions: str,
        homework: bool,
        due_at: str | None,
        students: list[int],
        publish_at: str | None = None,
        items: Sequence[dict] = (),
        position: dict[str, str | int | None] | None = None,
    ) -> int:
        """A lesson (a draft while `publish_at` is None), whom it is for ([] = the whole class), its `items`
        (ITEM_COLUMNS; uploads already complete on disk) and its place in the textbook (POSITION_KEYS), in one
        transaction."""
        created_at = self.wall_clock() if self.wall_clock is not None else None
        with self.db.transaction() as conn:
            lesson_id = inserted_id(
                conn.execute(
                    "INSERT INTO lessons (class_id, teacher_id, title, instructions, homework, due_at, publish_at, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
                    "coalesce(?, strftime('%Y-%m-%d %H:%M', 'now', 'localtime')))",
                    (class_id, teacher_id, title, instructions, int(homework), due_at, publish_at, created_at),
                )
            )
            conn.executemany(
                "INSERT INTO lesson_students (lesson_id, account_id) VALUES (?, ?)", [(lesson_id, s) for s in students]
            )
            for columns in items:
                _insert_item(conn, lesson_id, columns)
            if position:
                _set_position(conn, lesson_id, position)
        return lesson_id

    def set_publish_at(self, lesson_id: int, publish_at: str | None) -> None:
        """Publish at `publish_at` (ISO UTC), or make the lesson a draft again (None)."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE lessons SET publish_at = ? WHERE id = ?", (publish_at, lesson_id))

    def update_lesson(
        self, lesson_id: int, title: str, instructions: str, homework: bool, due_at: str | None, students: list[int]
    ) -> None:
        """Change a lesson's own fields and who it is for ([] = the whole class), in one transaction."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE lessons SET title = ?, instructions = ?, homework = ?, due_at = ? WHERE id = ?",
                (title, instructions, int(homework), due_at, lesson_id),
            )
            conn.execute("DELETE FROM lesson_students WHERE lesson_id = ?", (lesson_id,))
            conn.executemany(
                "INSERT INTO lesson_students (lesson_id, account_id) VALUES (?, ?)", [(lesson_id, s) for s in students]
            )

    def set_position(self, lesson_id: int, position: dict[str, str | int | None]) -> None:
        """Place the lesson in the textbook (POSITION_KEYS; None for a part not given), or take it out."""
        with self.db.transaction() as conn:
            _set_position(conn, lesson_id, position)

    def remove_item(self, item_id: int) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM lesson_items WHERE id = ?", (item_id,))

    def archive(self, lesson_id: int, when: str) -> None:
        """Take a lesson off every list; its items, opens and hand-ins stay."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE lessons SET archived_at = ? WHERE id = ? AND archived_at IS NULL", (when, lesson_id))

    def add_item(self, lesson_id: int, **columns) -> int:
        """Add an item; an upload's file must already be complete on disk."""
        with self.db.transaction() as conn:
            return _insert_item(conn, lesson_id, columns)

    def mark_opened(self, lesson_id: int, account_id: int, item_id: int, when: str) -> bool:
        """Record an open; True the first time this student opened this lesson page or item."""
        with self.db.transaction() as conn:
            first = (
                conn.execute(
                    "INSERT OR IGNORE INTO lesson_opens (lesson_id, account_id, item_id, first_at, last_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (lesson_id, account_id, item_id, when, when),
                ).rowcount
                == 1
            )
            if not first:
                conn.execute(
                    "UPDATE lesson_opens SET last_at = ? WHERE lesson_id = ? AND account_id = ? AND item_id = ?",
                    (when, lesson_id, account_id, item_id),
                )
        return first

    def add_handin(
        self,
        lesson_id: int,
        account_id: int,
        body: str,
        handed_at: str,
        late: bool,
        files: list[tuple[str, str, int, str]],
        delivery: tuple[str, str, str] | None = None,
    ) -> int:
        """One hand-in and its files [(stored name, media type, size, sha256)], already complete on disk; a phone's
        `delivery` is (client id, made at, arrived at). sqlite3.IntegrityError when the child's client id is taken."""
        client_id, made_at, arrived_at = delivery or (None, None, None)
        with self.db.transaction() as conn:
            handin_id = inserted_id(
                conn.execute(
                    "INSERT INTO handins (lesson_id, account_id, body, handed_at, late, client_id, made_at, arrived_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (lesson_id, account_id, body, handed_at, int(late), client_id, made_at, arrived_at),
                )
            )
            conn.executemany(
                "INSERT INTO handin_files (handin_id, stored_name, media_type, size_bytes, sha256) "
                "VALUES (?, ?, ?, ?, ?)",
                [(handin_id, *f) for f in files],
            )
        return handin_id

    def grade(
        self,
        handin_id: int,
        state: str,
        score: float | None,
        out_of: float | None,
        comment: str,
        when: str,
        level: str | None = None,
        rubric_levels: str = "[]",
    ) -> None:
        """Set a hand-in's state, score and maximum, level (one of grading.LEVELS or None), the levels on its
        lesson's rubric (a JSON list) and comment."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE handins SET state = ?, score = ?, out_of = ?, level = ?, rubric_levels = ?, comment = ?, "
                "graded_at = ? WHERE id = ?",
                (state, score, out_of, level, rubric_levels, comment, when, handin_id),
            )

    def set_rubric(self, lesson_id: int, rubric: str) -> None:
        """A homework's rubric: its criteria, one per line ('' for none)."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE lessons SET rubric = ? WHERE id = ?", (rubric, lesson_id))


def _set_position(conn: sqlite3.Connection, lesson_id: int, position: dict[str, str | int | None]) -> None:
    conn.execute(
        "UPDATE lessons SET pos_edition = ?, pos_grade = ?, pos_volume = ?, pos_subject = ?, pos_unit = ?, "
        "pos_lesson = ? WHERE id = ?",
        (*(position.get(key) for key in POSITION_KEYS), lesson_id),
    )


def _insert_item(conn: sqlite3.Connection, lesson_id: int, columns: dict) -> int:
    if set(columns) - set(ITEM_COLUMNS):
        raise ValueError(columns)
    names = ", ".join(["lesson_id", *columns])
    return inserted_id(
        conn.execute(
            f"INSERT INTO lesson_items ({names}) VALUES ({', '.join('?' * (len(columns) + 1))})",
            (lesson_id, *columns.values()),
        )
    )
