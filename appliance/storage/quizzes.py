"""Quizzes, their questions, students' attempts and answers in SQLite. Grading and access rules live in services.

Must not import content, edges, services or web. Methods taking `conn` run inside the caller's transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from appliance import strict_json
from appliance.storage.database import Database, inserted_id


class Quizzes:
    """The `quizzes`, `quiz_questions`, `quiz_attempts`, `quiz_answers` and `quiz_pictures` tables; who a quiz is
    for (`quiz_students`) and its marking changed after the fact (`quiz_accepted`, `quiz_answer_credit`,
    `quiz_marking_changes`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- reads ---------------------------------------------------------------------------------

    def quiz(self, quiz_id: int) -> sqlite3.Row | None:
        return self.db.read().execute("SELECT * FROM quizzes WHERE id = ?", (quiz_id,)).fetchone()

    def of_class(self, class_id: int) -> list[sqlite3.Row]:
        return (
            self.db.read()
            .execute(
                "SELECT quizzes.*, (SELECT count(*) FROM quiz_questions WHERE quiz_id = quizzes.id) AS questions "
                "FROM quizzes WHERE class_id = ? AND archived_at IS NULL ORDER BY coalesce(due_at, created_at), id",
                (class_id,),
            )
            .fetchall()
        )

    def for_student(self, account_id: int) -> list[sqlite3.Row]:
        """Quizzes of the student's classes for the whole class or for them, with their attempts used and best
        score."""
        return (
            self.db.read()
            .execute(
                "SELECT quizzes.*, classes.name AS class_name, "
                "(SELECT count(*) FROM quiz_attempts a WHERE a.quiz_id = quizzes.id AND a.account_id = :me) AS used, "
                "(SELECT max(score) FROM quiz_attempts a WHERE a.quiz_id = quizzes.id AND a.account_id = :me "
                " AND handed_in_at IS NOT NULL) AS best, "
                "(SELECT out_of FROM quiz_attempts a WHERE a.quiz_id = quizzes.id AND a.account_id = :me "
                " AND handed_in_at IS NOT NULL LIMIT 1) AS out_of "
                "FROM quizzes JOIN classes ON classes.id = quizzes.class_id "
                "WHERE class_id IN (SELECT class_id FROM enrolments WHERE account_id = :me) AND archived_at IS NULL "
                "AND (NOT EXISTS (SELECT 1 FROM quiz_students s WHERE s.quiz_id = quizzes.id) "
                "     OR EXISTS (SELECT 1 FROM quiz_students s WHERE s.quiz_id = quizzes.id AND s.account_id = :me)) "
                "AND classes.removed_at IS NULL "
                "ORDER BY coalesce(due_at, quizzes.created_at), quizzes.id",
                {"me": account_id},
            )
            .fetchall()
        )

    def questions(self, quiz_id: int) -> list[dict[str, Any]]:
        """The questions in order, each {kind, prompt, options, answer, tolerance, points}."""
        rows = (
            self.db.read()
            .execute("SELECT kind, prompt, body FROM quiz_questions WHERE quiz_id = ? ORDER BY position", (quiz_id,))
            .fetchall()
        )
        return [{"kind": r["kind"], "prompt": r["prompt"], **json.loads(r["body"])} for r in rows]

    def attempt(self, attempt_id: int) -> sqlite3.Row | None:
        return self.db.read().execute("SELECT * FROM quiz_attempts WHERE id = ?", (attempt_id,)).fetchone()

    def attempt_of_client(self, account_id: int, client_id: str) -> sqlite3.Row | None:
        """The child's attempt whose answers a phone delivered with this client id, if any."""
        return (
            self.db.read()
            .execute("SELECT * FROM quiz_attempts WHERE account_id = ? AND client_id = ?", (account_id, client_id))
            .fetchone()
        )

    def claim_for_phone(self, attempt_id: int, client_id: str, made_at: str, arrived_at: str) -> None:
        """Mark an attempt as the one a phone's answers go into (an attempt already claimed keeps its id);
        sqlite3.IntegrityError when the child's client id names another attempt."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE quiz_attempts SET client_id = ?, made_at = ?, arrived_at = ? WHERE id = ? AND client_id IS NULL",
                (client_id, made_at, arrived_at, attempt_id),
            )

    def attempts_of(self, quiz_id: int, account_id: int) -> list[sqlite3.Row]:
        return (
            self.db.read()
            .execute(
                "SELECT * FROM quiz_attempts WHERE quiz_id = ? AND account_id = ? ORDER BY number",
                (quiz_id, account_id),
            )
            .fetchall()
        )

    def started(self, quiz_id: int) -> bool:
        """Whether any student started an attempt (open or handed in)."""
        return self.has_attempts(self.db.read(), quiz_id)

    def answers(self, attempt_id: int) -> list[sqlite3.Row]:
        return (
            self.db.read()
            .execute("SELECT * FROM quiz_answers WHERE attempt_id = ? ORDER BY position", (attempt_id,))
            .fetchall()
        )

    def attempts_of_quizzes(self, quiz_ids: list[int]) -> list[sqlite3.Row]:
        """Every attempt (open or handed in) at any of the quizzes, oldest first: the class overview in one query."""
        if not quiz_ids:
            return []
        marks = ", ".join("?" * len(quiz_ids))
        return (
            self.db.read()
            .execute(f"SELECT * FROM quiz_attempts WHERE quiz_id IN ({marks}) ORDER BY number, id", quiz_ids)
            .fetchall()
        )

    def handed_in(self, quiz_id: int) -> list[sqlite3.Row]:
        """Every handed-in attempt of the quiz, oldest first."""
        return (
            self.db.read()
            .execute(
                "SELECT * FROM quiz_attempts WHERE quiz_id = ? AND handed_in_at IS NOT NULL ORDER BY handed_in_at, id",
                (quiz_id,),
            )
            .fetchall()
        )

    def latest_answers(self, quiz_id: int) -> list[sqlite3.Row]:
        """The answers of each student's latest handed-in attempt."""
        return (
            self.db.read()
            .execute(
                "SELECT quiz_answers.* FROM quiz_answers JOIN quiz_attempts a ON a.id = quiz_answers.attempt_id "
                "WHERE a.quiz_id = ? AND a.handed_in_at IS NOT NULL AND a.number = (SELECT max(number) FROM "
                "quiz_attempts b WHERE b.quiz_id = a.quiz_id AND b.account_id = a.account_id AND b.handed_in_at "
                "IS NOT NULL)",
                (quiz_id,),
            )
            .fetchall()
        )

    def assigned_to(self, quiz_id: int) -> list[int]:
        """The chosen students' ids; [] when the quiz is for the whole class."""
        return list(self.assigned_to_quizzes([quiz_id]).get(quiz_id, ()))

    def assigned_to_quizzes(self, quiz_ids: list[int]) -> dict[int, set[int]]:
        """Quiz id → its chosen students, for the quizzes given that are for some students only (one query)."""
        marks = ", ".join("?" * len(quiz_ids))
        chosen: dict[int, set[int]] = {}
        for row in self.db.read().execute(
            f"SELECT quiz_id, account_id FROM quiz_students WHERE quiz_id IN ({marks})", quiz_ids
        ):
            chosen.setdefault(row[0], set()).add(row[1])
        return chosen

    def accepted(self, quiz_id: int) -> dict[int, dict[str, str]]:
        """Position → {answer key: the answer as people read it} of the answers accepted besides the key."""
        return self.accepted_in(self.db.read(), quiz_id)

    @staticmethod
    def accepted_in(conn: sqlite3.Connection, quiz_id: int) -> dict[int, dict[str, str]]:
        """As `accepted`, inside the caller's transaction."""
        found: dict[int, dict[str, str]] = {}
        for row in conn.execute(
            "SELECT position, answer_key, shown FROM quiz_accepted WHERE quiz_id = ? ORDER BY rowid", (quiz_id,)
        ):
            found.setdefault(row[0], {})[row[1]] = row[2]
        return found

    def credits(self, quiz_id: int) -> dict[tuple[int, int], int]:
        """(attempt id, position) → 1 (full credit) or 0 (none) for the answers a teacher marked by hand."""
        return self.credits_in(self.db.read(), quiz_id)

    @staticmethod
    def credits_in(conn: sqlite3.Connection, quiz_id: int) -> dict[tuple[int, int], int]:
        """As `credits`, inside the caller's transaction."""
        return {
            (row[0], row[1]): row[2]
            for row in conn.execute(
                "SELECT c.attempt_id, c.position, c.credit FROM quiz_answer_credit c "
                "JOIN quiz_attempts a ON a.id = c.attempt_id WHERE a.quiz_id = ?",
                (quiz_id,),
            )
        }

    def marking_changes(self, quiz_id: int) -> list[sqlite3.Row]:
        """The quiz's marking changes, newest first, with the teacher's and (for one child's answer) the child's
        display names."""
        return (
            self.db.read()
            .execute(
                "SELECT c.*, t.display_name AS teacher_name, t.username AS teacher_username, "
                "s.display_name AS student_name, a.number AS attempt_number FROM quiz_marking_changes c "
                "LEFT JOIN accounts t ON t.id = c.teacher_id LEFT JOIN quiz_attempts a ON a.id = c.attempt_id "
                "LEFT JOIN accounts s ON s.id = a.account_id WHERE c.quiz_id = ? ORDER BY c.id DESC",
                (quiz_id,),
            )
            .fetchall()
        )

    # --- writes --------------------------------------------------------------------------------

    def transaction(self):
        return self.db.transaction()

    @staticmethod
    def add_quiz(
        conn: sqlite3.Connection,
        *,
        class_id: int,
        author_id: int | None,
        title: str,
        attempts_allowed: int,
        due_at: str | None,
        pass_mark: float,
        questions: Sequence[dict[str, Any]],
    ) -> int:
        """Insert a quiz and its questions ({kind, prompt, options, answer, tolerance, points}); its id."""
        quiz_id = inserted_id(
            conn.execute(
                "INSERT INTO quizzes (class_id, author_id, title, attempts_allowed, due_at, pass_mark) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (class_id, author_id, title, attempts_allowed, due_at, pass_mark),
            )
        )
        _insert_questions(conn, quiz_id, questions)
        return quiz_id

    @staticmethod
    def update_quiz(
        conn: sqlite3.Connection,
        quiz_id: int,
        *,
        title: str,
        attempts_allowed: int,
        due_at: str | None,
        pass_mark: float,
        questions: Sequence[dict[str, Any]],
        edited_at: str,
    ) -> None:
        """Replace a quiz's own fields and all its questions (answers refer to questions by position)."""
        conn.execute(
            "UPDATE quizzes SET title = ?, attempts_allowed = ?, due_at = ?, pass_mark = ?, edited_at = ? WHERE id = ?",
            (title, attempts_allowed, due_at, pass_mark, edited_at, quiz_id),
        )
        conn.execute("DELETE FROM quiz_questions WHERE quiz_id = ?", (quiz_id,))
        _insert_questions(conn, quiz_id, questions)

    @staticmethod
    def has_attempts(conn: sqlite3.Connection, quiz_id: int) -> bool:
        """Whether any student started an attempt (open or handed in), inside the caller's transaction."""
        return conn.execute("SELECT 1 FROM quiz_attempts WHERE quiz_id = ? LIMIT 1", (quiz_id,)).fetchone() is not None

    def archive(self, quiz_id: int, when: str) -> None:
        """Take a quiz off every list; its questions, attempts and answers stay."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE quizzes SET archived_at = ? WHERE id = ? AND archived_at IS NULL", (when, quiz_id))

    @staticmethod
    def start_attempt(
        conn: sqlite3.Connection, quiz_id: int, account_id: int, now: str, limit: int
    ) -> tuple[int | None, bool]:
        """(attempt id, whether it is new): the student's open attempt, else a new one while fewer than `limit`
        were made, else (None, False). Checked and inserted in `conn`'s transaction, so two taps cannot race."""
        open_attempt = conn.execute(
            "SELECT id FROM quiz_attempts WHERE quiz_id = ? AND account_id = ? AND handed_in_at IS NULL",
            (quiz_id, account_id),
        ).fetchone()
        if open_attempt is not None:
            return open_attempt[0], False
        used = conn.execute(
            "SELECT count(*) FROM quiz_attempts WHERE quiz_id = ? AND account_id = ?", (quiz_id, account_id)
        ).fetchone()[0]
        if used >= limit:
            return None, False
        return conn.execute(
            "INSERT INTO quiz_attempts (quiz_id, account_id, number, started_at) VALUES (?, ?, ?, ?)",
            (quiz_id, account_id, used + 1, now),
        ).lastrowid, True

    @staticmethod
    def hand_in(
        conn: sqlite3.Connection,
        attempt_id: int,
        now: str,
        score: float,
        out_of: float,
        answers: Sequence[tuple[int, Any, str, float, bool]],
    ) -> bool:
        """Close an open attempt with its graded answers [(position, given, understood, score, correct)];
        False (and nothing written) when it was already handed in."""
        closed = conn.execute(
            "UPDATE quiz_attempts SET handed_in_at = ?, score = ?, out_of = ? WHERE id = ? AND handed_in_at IS NULL",
            (now, score, out_of, attempt_id),
        ).rowcount
        if not closed:
            return False
        conn.executemany(
            "INSERT INTO quiz_answers (attempt_id, position, given, understood, score, correct) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(attempt_id, p, strict_json.dumps(g, ensure_ascii=False), u, s, int(c)) for p, g, u, s, c in answers],
        )
        return True

    @staticmethod
    def assign(conn: sqlite3.Connection, quiz_id: int, students: Sequence[int]) -> None:
        """Make the quiz for these students only ([] = the whole class again)."""
        conn.execute("DELETE FROM quiz_students WHERE quiz_id = ?", (quiz_id,))
        conn.executemany(
            "INSERT INTO quiz_students (quiz_id, account_id) VALUES (?, ?)", [(quiz_id, s) for s in students]
        )

    @staticmethod
    def accept(conn: sqlite3.Connection, quiz_id: int, position: int, key: str, shown: str) -> bool:
        """Accept an answer besides the question's key; False when it already was."""
        return bool(
            conn.execute(
                "INSERT OR IGNORE INTO quiz_accepted (quiz_id, position, answer_key, shown) VALUES (?, ?, ?, ?)",
                (quiz_id, position, key, shown),
            ).rowcount
        )

    @staticmethod
    def unaccept(conn: sqlite3.Connection, quiz_id: int, position: int, key: str) -> str | None:
        """Stop accepting an answer: how people read it, or None when it was not accepted."""
        row = conn.execute(
            "DELETE FROM quiz_accepted WHERE quiz_id = ? AND position = ? AND answer_key = ? RETURNING shown",
            (quiz_id, position, key),
        ).fetchone()
        return None if row is None else row[0]

    @staticmethod
    def set_credit(conn: sqlite3.Connection, attempt_id: int, position: int, credit: int | None) -> None:
        """Give one answer full credit (1) or none (0) whatever grading says, or mark it as graded again (None)."""
        conn.execute("DELETE FROM quiz_answer_credit WHERE attempt_id = ? AND position = ?", (attempt_id, position))
        if credit is not None:
            conn.execute(
                "INSERT INTO quiz_answer_credit (attempt_id, position, credit) VALUES (?, ?, ?)",
                (attempt_id, position, credit),
            )

    @staticmethod
    def handed_in_answers(conn: sqlite3.Connection, quiz_id: int) -> list[sqlite3.Row]:
        """Every answer of every handed-in attempt at the quiz (what was sent, its score), in the transaction."""
        return conn.execute(
            "SELECT quiz_answers.* FROM quiz_answers JOIN quiz_attempts a ON a.id = quiz_answers.attempt_id "
            "WHERE a.quiz_id = ? AND a.handed_in_at IS NOT NULL ORDER BY quiz_answers.attempt_id, position",
            (quiz_id,),
        ).fetchall()

    @staticmethod
    def remark(conn: sqlite3.Connection, changed: Sequence[tuple[int, int, float, bool]], when: str) -> None:
        """Store answers marked again [(attempt id, position, score, correct)], stamped `when`, and each of their
        attempts' score again as the sum of its answers."""
        conn.executemany(
            "UPDATE quiz_answers SET score = ?, correct = ?, remarked_at = ? WHERE attempt_id = ? AND position = ?",
            [(score, int(correct), when, attempt_id, position) for attempt_id, position, score, correct in changed],
        )
        conn.executemany(
            "UPDATE quiz_attempts SET score = (SELECT round(sum(score), 4) FROM quiz_answers "
            "WHERE attempt_id = quiz_attempts.id) WHERE id = ?",
            [(attempt_id,) for attempt_id in sorted({c[0] for c in changed})],
        )

    @staticmethod
    def log_change(
        conn: sqlite3.Connection,
        quiz_id: int,
        position: int,
        change: str,
        *,
        teacher_id: int,
        when: str,
        attempt_id: int | None = None,
        answer: str = "",
    ) -> None:
        """Record who changed the marking of a question (of one attempt, or of all), when and how."""
        conn.execute(
            "INSERT INTO quiz_marking_changes (quiz_id, position, attempt_id, change, answer, teacher_id, changed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (quiz_id, position, attempt_id, change, answer, teacher_id, when),
        )

    # --- pictures in questions (0024) ---------------------------------------------------------------------

    def picture(self, picture_id: int) -> sqlite3.Row | None:
        return self.db.read().execute("SELECT * FROM quiz_pictures WHERE id = ?", (picture_id,)).fetchone()

    def add_picture(
        self, *, class_id: int, author_id: int, stored_name: str, media_type: str, size_bytes: int, sha256: str
    ) -> int:
        """Record a question's picture (its file already complete under uploads/quiz_pictures/); its id."""
        with self.db.transaction() as conn:
            return inserted_id(
                conn.execute(
                    "INSERT INTO quiz_pictures (class_id, author_id, stored_name, media_type, size_bytes, sha256) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (class_id, author_id, stored_name, media_type, size_bytes, sha256),
                )
            )

    def unused_pictures(self, class_id: int, made_before: str) -> list[sqlite3.Row]:
        """The class's pictures made before `made_before` (UTC 'YYYY-MM-DDTHH:MM:SSZ') that no question of any of its
        quizzes names (archived quizzes' included: their attempts are still shown)."""
        conn = self.db.read()
        used = {
            picture
            for (body,) in conn.execute(
                "SELECT q.body FROM quiz_questions q JOIN quizzes z ON z.id = q.quiz_id WHERE z.class_id = ?",
                (class_id,),
            )
            if isinstance(picture := json.loads(body).get("picture"), int)
        }
        rows = conn.execute(
            "SELECT * FROM quiz_pictures WHERE class_id = ? AND created_at < ? ORDER BY id", (class_id, made_before)
        ).fetchall()
        return [row for row in rows if row["id"] not in used]

    def remove_pictures(self, picture_ids: Sequence[int]) -> None:
        with self.db.transaction() as conn:
            conn.executemany("DELETE FROM quiz_pictures WHERE id = ?", [(i,) for i in picture_ids])


def _insert_questions(conn: sqlite3.Connection, quiz_id: int, questions: Sequence[dict[str, Any]]) -> None:
    conn.executemany(
        "INSERT INTO quiz_questions (quiz_id, position, kind, prompt, body) VALUES (?, ?, ?, ?, ?)",
        [
            (
                quiz_id,
                position,
                q["kind"],
                q["prompt"],
                strict_json.dumps({k: v for k, v in q.items() if k not in ("kind", "prompt")}, ensure_ascii=False),
            )
            for position, q in enumerate(questions)
        ],
    )
