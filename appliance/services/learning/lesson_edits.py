"""Changing and deleting lessons and quizzes after they were made: only by the teacher who made them, or an
administrator. No HTTP here.

Must not import web or cli. Deleting archives (the row stays with `archived_at` set): students' hand-ins, photos,
quiz attempts and learning records are kept. A quiz that students have started may change only in ways that keep
their attempts meaningful: the quiz's own fields, the wording of its questions, and new questions at the end.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from appliance.errors import AccessDeniedError, NotVisibleError
from appliance.services.learning import clock, lessons, quiz_drafts, quizzes

if TYPE_CHECKING:
    from appliance.services.kit import Kit
    from appliance.services.people.access import Viewer

# What a question may not change once students have started the quiz: it would re-mark their answers.
GRADED_PARTS = ("kind", "options", "answer", "tolerance", "points")


def _require_owner(viewer: Viewer, owner_id: int | None, what: str, code: str) -> None:
    if viewer["role"] != "admin" and viewer["id"] != owner_id:
        raise AccessDeniedError(
            f"Only the teacher who made this {what}, or an administrator, may change it.",
            code=code,
            fix=f"Ask that teacher or the administrator; you can still open the {what}.",
        )


# --- lessons --------------------------------------------------------------------------------------------------


def owned_lesson(kit: Kit, viewer: Viewer, lesson_id: int):
    """(class, lesson) when the viewer made the lesson or is an administrator; NotVisibleError for a lesson of
    another teacher's class, AccessDeniedError for one of a shared class made by a colleague."""
    klass, lesson = lessons.staff_lesson(kit.people, kit.lessons, viewer, lesson_id)
    _require_owner(viewer, lesson["teacher_id"], "lesson", code="lesson.not_owner")
    return klass, lesson


def edit_lesson(
    kit: Kit,
    viewer: Viewer,
    lesson_id: int,
    title: str,
    instructions: str,
    homework: bool,
    due: str,
    student_ids: list[int],
) -> None:
    """Change the title, instructions, homework flag, due date and who the lesson is for ([] = whole class)."""
    klass, _ = owned_lesson(kit, viewer, lesson_id)
    title = lessons.checked_title(title)
    instructions = lessons.checked_text(instructions, "instructions")
    chosen = lessons.checked_students(kit.people, klass["id"], student_ids)
    kit.lessons.update_lesson(lesson_id, title, instructions, homework, lessons.parse_due(due), chosen)


def remove_item(kit: Kit, viewer: Viewer, lesson_id: int, item_id: int) -> None:
    """Take an item off the lesson; a teacher's uploaded file is deleted after the row is gone."""
    owned_lesson(kit, viewer, lesson_id)
    item = kit.lessons.item(item_id)
    if item is None or item["lesson_id"] != lesson_id:
        raise NotVisibleError(
            f"The lesson has no item {item_id}.", code="lesson.not_found", fix="Open the lesson's edit page again."
        )
    kit.lessons.remove_item(item_id)
    if item["kind"] == "upload" and item["stored_name"]:
        (kit.paths.uploads_dir / "lessons" / item["stored_name"]).unlink(missing_ok=True)


def delete_lesson(kit: Kit, viewer: Viewer, lesson_id: int) -> int:
    """Archive the lesson (hand-ins, their photos and records stay); the class id, to go back to."""
    klass, _ = owned_lesson(kit, viewer, lesson_id)
    kit.lessons.archive(lesson_id, clock.stamp(kit.settings))
    return klass["id"]


# --- quizzes --------------------------------------------------------------------------------------------------


def owned_quiz(kit: Kit, viewer: Viewer, quiz_id: int):
    """(quiz, class) when the viewer wrote the quiz or is an administrator (see owned_lesson)."""
    quiz, klass = quizzes.staff_quiz(kit, viewer, quiz_id)
    _require_owner(viewer, quiz["author_id"], "quiz", code="quiz.not_owner")
    return quiz, klass


def assign_quiz(kit: Kit, viewer: Viewer, quiz_id: int, student_ids: list[int]) -> None:
    """Make the quiz for the chosen students of its class only ([] = the whole class), as a lesson can be; the
    others no longer see it (their attempts stay). NotVisibleError for a student not in the class."""
    _, klass = owned_quiz(kit, viewer, quiz_id)
    chosen = lessons.checked_students(kit.people, klass["id"], student_ids)
    with kit.quizzes.transaction() as conn:
        kit.quizzes.assign(conn, quiz_id, chosen)


def draft_of(kit: Kit, quiz) -> quiz_drafts.Draft:
    """The stored quiz as the form shows it, to edit."""
    percent = round(quiz["pass_mark"] * 100, 2)
    return quiz_drafts.Draft(
        quiz["title"],
        str(quiz["attempts_allowed"]),
        (quiz["due_at"] or "")[:10],
        f"{percent:g}",
        [_draft_question(q) for q in kit.quizzes.questions(quiz["id"])],
    )


def _draft_question(stored: dict) -> quiz_drafts.DraftQuestion:
    kind, answer = stored["kind"], stored["answer"]
    # the stored options, then blank boxes up to the form's usual count (more options can be typed in them)
    options = list(stored["options"]) + [""] * max(0, quiz_drafts.OPTION_FIELDS - len(stored["options"]))
    right = set(answer if kind == "multiple" else [answer] if kind == "single" else [])
    return quiz_drafts.DraftQuestion(
        kind,
        stored["prompt"],
        options,
        right,
        tf=("true" if answer else "false") if kind == "true_false" else "",
        accepted="\n".join(answer) if kind == "short" else "",
        number=f"{answer:g}" if kind == "numeric" else "",
        tolerance=f"{stored['tolerance']:g}" if kind == "numeric" else "",
        points=f"{stored['points']:g}",
        picture=str(stored.get("picture") or ""),
    )


def quiz_started(kit: Kit, quiz_id: int) -> bool:
    """Whether students have started the quiz (then only wording, its own fields and new questions may change)."""
    return kit.quizzes.started(quiz_id)


def edit_quiz(kit: Kit, viewer: Viewer, quiz_id: int, draft: quiz_drafts.Draft) -> bool:
    """Save the edited draft over the quiz; False (problems written into the draft) when it has any, including a
    change that would re-mark answers already given (see GRADED_PARTS) once any student started an attempt."""
    quiz, _ = owned_quiz(kit, viewer, quiz_id)
    checked = quiz_drafts.check(draft)
    if checked is None:
        return False
    edited = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with kit.quizzes.transaction() as conn:
        if kit.quizzes.has_attempts(conn, quiz_id) and not _keeps_attempts(kit, quiz_id, draft, checked):
            return False
        kit.quizzes.update_quiz(conn, quiz_id, edited_at=edited, **checked)
    return True


def _keeps_attempts(kit: Kit, quiz_id: int, draft: quiz_drafts.Draft, checked: dict) -> bool:
    before = kit.quizzes.questions(quiz_id)
    if len(checked["questions"]) < len(before):
        draft.errors.append(
            f"Students have started this quiz: its {len(before)} questions stay (you may add more "
            "at the end). Delete the quiz and make a new one to start again."
        )
        draft.fields.append("questions_stay")  # quiz.problem.questions_stay, in the page's language
        return False
    ok = True
    for number, (old, new) in enumerate(zip(before, checked["questions"]), start=1):
        changed = [part for part in GRADED_PARTS if _comparable(old, part) != _comparable(new, part)]
        if changed:
            question = draft.questions[number - 1]
            question.error = (
                f"Students have already answered question {number}: its {', '.join(changed)} cannot change now."
            )
            question.fix = "Change only its wording, or add a new question at the end."
            question.field = "answered"  # quiz.problem.answered, in the page's language
            ok = False
    return ok


def _comparable(question: dict, part: str):
    value = question[part]
    return list(value) if isinstance(value, (list, tuple)) else value


def delete_quiz(kit: Kit, viewer: Viewer, quiz_id: int) -> int:
    """Archive the quiz (attempts, answers and records stay); the class id, to go back to."""
    _, klass = owned_quiz(kit, viewer, quiz_id)
    kit.quizzes.archive(quiz_id, dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return klass["id"]
