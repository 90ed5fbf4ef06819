"""A simple rubric (评分标准) for a homework, optional: a few criteria ("书写工整", "答案正确"), each given a level
(优/良/合格/待合格) on each hand-in beside its overall grade. No HTTP here.

Must not import web or cli. Who may set a lesson's rubric is checked through services/learning/lessons.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from appliance.errors import BadRequestError, LessonError
from appliance.services.learning import lessons, scores

if TYPE_CHECKING:
    from appliance.services.kit import Kit
    from appliance.services.people.access import Viewer

CRITERIA_MAX = 6  # a rubric a child can read on a phone, a teacher can fill in a few taps
CRITERION_MAX_CHARS = 30


def criteria(lesson) -> list[str]:
    """A lesson's criteria, in order ([] when it has no rubric)."""
    return [line for line in (lesson["rubric"] or "").split("\n") if line]


def set_rubric(kit: Kit, viewer: Viewer, lesson_id: int, text: str) -> None:
    """Set a homework's criteria from `text`, one per line (blank lines dropped; '' removes the rubric); LessonError
    for more than CRITERIA_MAX criteria or one longer than CRITERION_MAX_CHARS."""
    lessons.staff_lesson(kit.people, kit.lessons, viewer, lesson_id)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    chosen = [line for line in lines if line]
    if len(chosen) > CRITERIA_MAX or any(len(line) > CRITERION_MAX_CHARS for line in chosen):
        raise LessonError(
            f"A rubric of {len(chosen)} criteria, the longest {max(map(len, chosen))} characters.",
            fix=f"Keep at most {CRITERIA_MAX} criteria of at most {CRITERION_MAX_CHARS} characters each.",
            code="lesson.rubric_too_long",
            field="rubric",
        )
    kit.lessons.set_rubric(lesson_id, "\n".join(chosen))


def checked_levels(lesson, given: list[str]) -> str:
    """The levels given on the lesson's criteria (form values in the criteria's order, '' for none) as stored: a
    JSON list with null for none. BadRequestError for a value that is not a level (the form offers only those)."""
    levels = []
    for value in given[: len(criteria(lesson))]:
        if value and value not in scores.LEVELS:
            raise BadRequestError(f"{value!r} is not a level.", fix=f"Use one of {', '.join(scores.LEVELS)}.")
        levels.append(value or None)
    return json.dumps(levels)


def levels_of(handin, lesson) -> list[tuple[str, str | None]]:
    """(criterion, level or None) for each of the lesson's criteria, as given on this hand-in."""
    stored = json.loads(handin["rubric_levels"] or "[]")
    return [(name, stored[n] if n < len(stored) else None) for n, name in enumerate(criteria(lesson))]
