"""Grading hand-ins as a primary-school teacher does: one hand-in per page, a level (优/良/合格/待合格), points or
both, and "next" through the lesson's hand-ins still to grade in the class's name order. No HTTP here.

Must not import web or cli. Every function checks the viewer first (a teacher of the lesson's class or an
administrator), through services/learning/lessons; anything else is NotVisibleError.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appliance.errors import BadRequestError, LessonError, NotVisibleError
from appliance.services.learning import clock, lessons, records, rubrics, scores, thumbnails, xapi
from appliance.services.people import name_order
from appliance.typed_numbers import parse_number

if TYPE_CHECKING:
    from appliance.services.kit import Kit
    from appliance.services.people.access import Viewer

LEVELS = scores.LEVELS
TO_GRADE = "handed_in"  # a hand-in's state while it waits for its teacher
DEFAULT_OUT_OF = 100


def graded_lesson(kit: Kit, viewer: Viewer, handin_id: int):
    """(class, hand-in, lesson) of a hand-in of one of the viewer's classes; NotVisibleError otherwise."""
    handin = kit.lessons.handin(handin_id)
    if handin is None:
        raise NotVisibleError(
            f"There is no hand-in {handin_id}.", code="lesson.not_found", fix="Open it from the lesson."
        )
    klass, lesson = lessons.staff_lesson(kit.people, kit.lessons, viewer, handin["lesson_id"])
    return klass, handin, lesson


def grade(
    kit: Kit,
    viewer: Viewer,
    handin_id: int,
    action: str,
    score: str,
    out_of: str,
    level: str,
    comment: str,
    rubric: list[str] | None = None,
) -> dict:
    """Grade a hand-in with a level, a score out of a maximum, or both, a comment and the levels on its lesson's
    rubric (`rubric`: in the criteria's order, '' for none); or return it for redo (with a comment). The hand-in
    row as saved. LessonError (naming the field) when neither a level nor a score is given, the score is not a
    number (a level typed there included) or not between 0 and the maximum."""
    _, handin, lesson = graded_lesson(kit, viewer, handin_id)
    comment = lessons.checked_text(comment, "comment")
    if action == "return":
        kit.lessons.grade(handin_id, "returned", None, None, comment, clock.stamp(kit.settings))
        return dict(kit.lessons.handin(handin_id) or {})
    chosen, on_rubric = _level(level), rubrics.checked_levels(lesson, rubric or [])
    points, maximum = _points(score, out_of, required=chosen is None)
    when = clock.stamp(kit.settings)
    kit.lessons.grade(handin_id, "graded", points, maximum, comment, when, chosen, on_rubric)
    result = xapi.score_result(points, maximum) if points is not None and maximum is not None else None
    records.record(kit, handin["account_id"], "scored", "homework", str(lesson["id"]), lesson["title"], result=result)
    return dict(kit.lessons.handin(handin_id) or {})


def _level(level: str) -> str | None:
    if not level:
        return None
    if level not in LEVELS:  # the form offers only these: anything else was made by hand
        raise BadRequestError(f"{level!r} is not a level.", fix=f"Use one of {', '.join(LEVELS)}.")
    return level


def _points(score: str, out_of: str, required: bool) -> tuple[float | None, float | None]:
    if not score.strip():
        if required:
            raise LessonError(
                "Neither a level nor a score was given.",
                fix="Choose a level, type a score, or both.",
                code="lesson.grade_missing",
                field="score",
            )
        return None, None
    points = parse_number(score)
    if points is None:  # "优" or "A+" typed into the score box: the levels have their own buttons
        raise LessonError(
            f"The score {score!r} is not a number.",
            fix="Type the score as a number, e.g. 8; for a level (Excellent, Good, Pass, Not yet) tap its button.",
            code="lesson.score_not_a_number",
            field="score",
        )
    maximum = parse_number(out_of or str(DEFAULT_OUT_OF))
    if maximum is None:
        raise LessonError(
            f"The maximum {out_of!r} is not a number.",
            fix="Type the maximum as a number, e.g. 10.",
            code="lesson.not_a_number",
            field="out_of",
        )
    if maximum <= 0 or not 0 <= points <= maximum:
        raise LessonError(
            f"The score {score} is not between 0 and {out_of or DEFAULT_OUT_OF}.",
            fix="Type a score from 0 to the maximum.",
            code="lesson.score_out_of_range",
            field="score" if maximum > 0 else "out_of",
        )
    return points, maximum


def lesson_handins(kit: Kit, klass, lesson) -> dict[str, Any]:
    """A homework's hand-ins for its page: the newest hand-in of each student it is for, in the class's name order
    (student, hand-in row), who has not handed in, how many of how many handed in, and the first still to grade."""
    students = name_order.students_of(kit.people, klass["id"])
    chosen = set(kit.lessons.assigned_to(lesson["id"]))
    assigned = [s for s in students if not chosen or s["id"] in chosen]
    latest = {account_id: h for (_, account_id), h in kit.lessons.latest_handins([lesson["id"]]).items()}
    rows = [(s, dict(latest[s["id"]])) for s in students if s["id"] in latest]
    missing = [s for s in assigned if s["id"] not in latest]
    to_grade = [h for _, h in rows if h["state"] == TO_GRADE]
    return {
        "criteria": rubrics.criteria(lesson),
        "rows": rows,
        "missing": missing,
        "handed_in": len(assigned) - len(missing),
        "assigned_count": len(assigned),
        "to_grade": len(to_grade),
        "first_to_grade": to_grade[0]["id"] if to_grade else None,
    }


def handin_page(kit: Kit, viewer: Viewer, handin_id: int) -> dict[str, Any]:
    """One hand-in to grade: its class, lesson, student, files (thumbnails), where it is among the lesson's
    hand-ins (name order) with the previous and next one, and how many are still to grade."""
    klass, handin, lesson = graded_lesson(kit, viewer, handin_id)
    found = lesson_handins(kit, klass, lesson)
    order = [h["id"] for _, h in found["rows"]]
    place = order.index(handin_id) if handin_id in order else None
    return {
        "klass": klass,
        "lesson": lesson,
        "student": kit.people.person(handin["account_id"]),
        "handin": dict(handin),
        "files": kit.lessons.handin_files(handin_id),
        "latest": place is not None,  # an older hand-in (a redo came since) is shown, but the newest counts
        "place": (place or 0) + 1,
        "count": len(order),
        "previous": order[place - 1] if place else None,
        "following": order[place + 1] if place is not None and place + 1 < len(order) else None,
        "to_grade": found["to_grade"],
        "levels": LEVELS,
        "rubric": rubrics.levels_of(handin, lesson),
    }


def next_to_grade(kit: Kit, viewer: Viewer, handin_id: int) -> tuple[int, int | None]:
    """(lesson id, the lesson's next hand-in still to grade after `handin_id` in the class's name order, wrapping
    round to the start; None when every hand-in is graded or returned)."""
    klass, _, lesson = graded_lesson(kit, viewer, handin_id)
    rows = lesson_handins(kit, klass, lesson)["rows"]
    order = [h for _, h in rows]
    start = next((n for n, h in enumerate(order) if h["id"] == handin_id), -1) + 1
    waiting = [h["id"] for h in order[start:] + order[:start] if h["state"] == TO_GRADE and h["id"] != handin_id]
    return lesson["id"], (waiting[0] if waiting else None)


def thumbnail_file(kit: Kit, viewer: Viewer | None, file_id: int):
    """(media type, path, ETag key) of a hand-in photo's thumbnail, for whoever may open the photo
    (lessons.handin_file); made now for a photo stored before thumbnails, the photo itself if it cannot be."""
    row, photo = lessons.handin_file(kit, viewer, file_id)
    path = thumbnails.ensure(photo, thumbnails.folder(kit))
    if path is None:
        return row["media_type"], photo, row["sha256"]
    return thumbnails.MEDIA_TYPE, path, f"thumb-{thumbnails.THUMB_EDGE_PX}-{row['sha256']}"
