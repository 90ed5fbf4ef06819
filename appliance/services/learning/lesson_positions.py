"""Lessons by textbook unit (issue 17): a teacher places a lesson in the textbook, finds their lessons under a unit
on "按课本找", and adds a unit's item or book to one of their lessons from there. No HTTP here.

Must not import web or cli. Adding goes through lessons.add_library_item, the path the lesson page's search uses:
only staff of the lesson's class may add (a child is refused, another teacher's lesson is as if absent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appliance.content.textbook import ID, RANGES
from appliance.errors import BadRequestError
from appliance.services.learning import lesson_edits, lessons
from appliance.services.library import units
from appliance.services.people import access as people
from appliance.typed_numbers import whole_number

if TYPE_CHECKING:
    from appliance.services.kit import Kit
    from appliance.services.people.access import Viewer


def _refuse(field: str, value: str) -> BadRequestError:
    return BadRequestError(
        f"The textbook place's {field} {value!r} cannot be used.",
        fix="Pick the edition, grade, volume and subject from the lists; unit and lesson are numbers from 1 to 99.",
        code="lesson.position_invalid",
        field=f"pos_{field}",
    )


def checked_position(typed: dict[str, str]) -> dict[str, str | int | None]:
    """A position from the lesson page's form (`edition`, `grade`, …, each '' when not chosen): {} when no edition
    was chosen (the lesson is taken out of the textbook); edition, grade, volume and subject are needed together,
    a lesson needs its unit. BadRequestError names the first part that cannot be used."""
    edition = typed.get("edition", "").strip()
    if not edition:
        return {}
    if not ID.fullmatch(edition):
        raise _refuse("edition", edition)
    subject = typed.get("subject", "").strip()
    if not ID.fullmatch(subject):
        raise _refuse("subject", subject)
    position: dict[str, str | int | None] = {"edition": edition, "subject": subject}
    for key, (low, high) in RANGES.items():
        value = typed.get(key, "").strip()
        if not value and key in ("unit", "lesson"):
            position[key] = None
            continue
        number = whole_number(value, max_digits=2)
        if number is None or not low <= number <= high:
            raise _refuse(key, value)
        position[key] = number
    if position["lesson"] is not None and position["unit"] is None:
        raise _refuse("unit", "")
    return position


def set_position(kit: Kit, viewer: Viewer, lesson_id: int, typed: dict[str, str]) -> None:
    """Place the viewer's lesson (they made it, or they are an administrator) in the textbook, or take it out."""
    lesson_edits.owned_lesson(kit, viewer, lesson_id)
    kit.lessons.set_position(lesson_id, checked_position(typed))


def choices(kit: Kit) -> dict[str, Any]:
    """What the position form offers: the common editions and subjects and those the library's books and maps name
    (`editions`, `subjects`), and the maps' `names`."""
    found = units.index(kit.load_library())
    return {
        "editions": units.known_ids(found, "editions", units.DEFAULT_EDITIONS),
        "subjects": units.known_ids(found, "subjects", units.DEFAULT_SUBJECTS),
        "names": found.names,
    }


def for_unit(kit: Kit, viewer: Viewer | None, key: units.UnitKey | None, from_lesson: int | None) -> dict[str, Any]:
    """A teacher's side of a unit's page: their lessons placed in the unit (`key`; None above a subject), the lessons
    they may add to (newest first), the lesson they came from (`from_lesson`, one of theirs) and their classes (to
    copy a shared lesson into). Nothing for a child or a visitor."""
    if viewer is None or viewer["role"] not in people.STAFF:
        return {"placed": [], "choosable": [], "came_from": None, "classes": []}
    classes = people.classes_for(kit.people, viewer)
    class_ids = [c["id"] for c in classes]
    choosable = [lesson for cid in class_ids for lesson in kit.lessons.of_class(cid)]
    came_from = None
    if from_lesson is not None:
        came_from = lessons.staff_lesson(kit.people, kit.lessons, viewer, from_lesson)[1]
    return {
        "placed": kit.lessons.at_unit(class_ids, key) if class_ids and key else [],
        "choosable": sorted(choosable, key=lambda lesson: -lesson["id"]),
        "came_from": came_from,
        "classes": classes,  # where a shared lesson of the unit may be copied (services/learning/shared_copies)
    }


def add_to_lesson(kit: Kit, viewer: Viewer | None, lesson_id: int, book: str, path: str) -> int:
    """Add a unit's book (no path) or item to a lesson of the viewer's classes, as the lesson page's search adds."""
    viewer = people.require(viewer, *people.STAFF)
    return lessons.add_library_item(kit.people, kit.lessons, kit.load_library(), viewer, lesson_id, book, path)


def unit_page(kit: Kit, viewer: Viewer | None, chosen: dict[str, str], from_lesson: int | None) -> dict[str, Any]:
    """The "按课本找" page at the level `chosen` reaches (units.drill), the names the maps give, and a teacher's side:
    their lessons placed at that subject or unit, the lessons they may add to and the one they came from."""
    found = units.index(kit.load_library())
    level = units.drill(found, chosen)
    at = level["at"]
    key = None
    if "subject" in at:
        key = (at["edition"], at["grade"], at["volume"], at["subject"], at.get("unit"))
    teacher = for_unit(kit, viewer, key, from_lesson)
    return {**level, **teacher, "names": found.names, "from_lesson": from_lesson}
