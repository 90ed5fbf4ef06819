"""Quizzes in the class overview, its CSV and the parent summary (docs/learning-space.md, "Class overview"): per
student and quiz, its state and best score; and who is behind, counting homework and quizzes. No HTTP, no SQL.

Must not import web or cli.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from appliance.services.kit import Kit

DONE_LESSON_STATES = ("handed_in", "late", "graded", "returned")  # what counts as done for a lesson with homework


@dataclasses.dataclass
class QuizCell:
    """One student at one quiz: not started, in progress (an open attempt, none handed in) or handed in; the best
    handed-in score (the one My space shows) and the number of attempts handed in."""

    state: str  # not_started, in_progress or handed_in (messages quiz_state.*)
    best: float | None
    out_of: float | None
    attempts: int


def quiz_cells(kit: Kit, quizzes: Sequence[Any], students: Sequence[Any]) -> dict[tuple[int, int], QuizCell]:
    """(quiz id, student id) → QuizCell for every quiz and each student of the class it is for (a quiz for some
    students only has no cell for the others, as a lesson for some has none), from two queries."""
    attempts: dict[tuple[int, int], list[Any]] = {}
    for attempt in kit.quizzes.attempts_of_quizzes([q["id"] for q in quizzes]):
        attempts.setdefault((attempt["quiz_id"], attempt["account_id"]), []).append(attempt)
    chosen = kit.quizzes.assigned_to_quizzes([q["id"] for q in quizzes])
    cells = {}
    for quiz in quizzes:
        for student in students:
            if quiz["id"] in chosen and student["id"] not in chosen[quiz["id"]]:
                continue
            own = attempts.get((quiz["id"], student["id"]), [])
            handed = [a for a in own if a["handed_in_at"] is not None]
            best = max(handed, key=lambda a: a["score"]) if handed else None
            state = "handed_in" if handed else "in_progress" if own else "not_started"
            cells[(quiz["id"], student["id"])] = QuizCell(
                state, best["score"] if best else None, best["out_of"] if best else None, len(handed)
            )
    return cells


def behind(table: dict) -> dict[int, int]:
    """Per student, how much is not done: homework not handed in plus quizzes not handed in (lessons without
    homework ask nothing to hand in, so they do not count; nor do lessons and quizzes for other students)."""
    missing = {student["id"]: 0 for student in table["students"]}
    homework = {lesson["id"] for lesson in table["lessons"] if lesson["homework"]}
    for (lesson_id, student_id), cell in table["cells"].items():
        if lesson_id in homework and cell.state not in DONE_LESSON_STATES and student_id in missing:
            missing[student_id] += 1
    for (_, student_id), quiz_cell in table["quiz_cells"].items():
        if quiz_cell.state != "handed_in" and student_id in missing:
            missing[student_id] += 1
    return missing
