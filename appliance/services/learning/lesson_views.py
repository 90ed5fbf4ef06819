"""What the lesson pages show: the teacher's new-lesson, lesson and edit forms; the student's My space and a
lesson's page. No HTTP here.

Must not import web or cli. Each function checks the viewer first, as services/learning/lessons does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appliance.services.learning import (
    grading,
    handin_photos,
    lesson_edits,
    lesson_library,
    lesson_positions,
    lessons,
    notebook,
    notices,
    offline_bundle,
    publishing,
    rubrics,
    sharing,
)
from appliance.services.people import access as people, name_order

if TYPE_CHECKING:
    from appliance.services.kit import Kit
    from appliance.services.people.access import Viewer

SEARCH_RESULTS = 10  # library suggestions on the teacher's lesson page


def new_lesson(kit: Kit, viewer: Viewer, class_id: int) -> dict[str, Any]:
    """The class (one of the viewer's) and its students, to choose whom a new lesson is for."""
    klass = people.staff_class(kit.people, viewer, class_id)
    return {"klass": klass, "students": name_order.students_of(kit.people, klass["id"])}


def teacher_lesson(kit: Kit, viewer: Viewer, lesson_id: int, query: str) -> dict[str, Any]:
    """A lesson of the viewer's classes: its items, whether children see it yet (publishing.state) and the publish
    form's day and time, books and articles matching `query` to add (services/learning/lesson_library), the class's
    quizzes not in it yet, its newest share with the county (services/learning/sharing), the editions and subjects its textbook place may name
    (lesson_positions.choices), its hand-ins (counts, the newest of each student, who has not handed in:
    services/learning/grading), whom it is assigned to, and whether the viewer may edit it."""
    klass, lesson = lessons.staff_lesson(kit.people, kit.lessons, viewer, lesson_id)
    books, found = lesson_library.find(kit.load_library(), query, SEARCH_RESULTS) if query else ([], [])
    items = kit.lessons.items(lesson["id"])
    in_lesson = {i["quiz_id"] for i in items if i["kind"] == "quiz"}
    students = {s["id"]: s for s in name_order.students_of(kit.people, klass["id"])}
    return {
        "klass": klass,
        "lesson": lesson,
        "items": items,
        "publish_state": publishing.state(lesson),
        "publish_parts": publishing.local_parts(kit.settings, lesson["publish_at"]),
        "quizzes": [q for q in kit.quizzes.of_class(klass["id"]) if q["id"] not in in_lesson],
        "query": query,
        "found": found,
        "books": books,
        "handins": grading.lesson_handins(kit, klass, lesson),
        "assigned": [s for s in students.values() if s["id"] in set(kit.lessons.assigned_to(lesson["id"]))],
        "may_edit": viewer["role"] == "admin" or viewer["id"] == lesson["teacher_id"],
        "share": sharing.state(kit, lesson["id"]),
        "offline_bytes": offline_bundle.lesson_bytes(kit, lesson["id"]),
        **lesson_positions.choices(kit),
    }


def edit_lesson(kit: Kit, viewer: Viewer, lesson_id: int) -> dict[str, Any]:
    """A lesson the viewer may edit, with its class's students, those it is assigned to, and its items."""
    klass, lesson = lesson_edits.owned_lesson(kit, viewer, lesson_id)
    return {
        "klass": klass,
        "lesson": lesson,
        "students": name_order.students_of(kit.people, klass["id"]),
        "assigned": set(kit.lessons.assigned_to(lesson["id"])),
        "items": kit.lessons.items(lesson["id"]),
    }


def my_space(kit: Kit, viewer: Viewer) -> dict[str, Any]:
    """A student's own page: their notices, who they are, their classes, lessons (lessons.my_space, each entry with
    `seen` of `item_count` opened), quizzes, notebook and one history (notebook.history)."""
    viewer = people.require(viewer, "student")
    space = lessons.my_space(kit, viewer)
    entries = [entry for part in ("due", "new", "feedback", "other") for entry in space[part]]
    progress = kit.lessons.item_progress(list({e["lesson"]["id"] for e in entries}), viewer["id"])
    for entry in entries:
        entry["seen"], entry["item_count"] = progress.get(entry["lesson"]["id"], (0, 0))
    return {
        "notices": notices.for_student(kit, viewer),
        "student": kit.people.person(viewer["id"]),
        "classes": people.classes_for(kit.people, viewer),
        "space": space,
        "quizzes": kit.quizzes.for_student(viewer["id"]),
        "notebook": notebook.space(kit, viewer),
    }


def my_lesson(kit: Kit, viewer: Viewer, lesson_id: int, record: bool = True) -> dict[str, Any]:
    """A student opens one of their lessons (recorded, as lessons.open_lesson says): its items, their hand-ins
    with files, whether they may hand in (again), their note on it and which articles they bookmarked."""
    lesson, _ = lessons.open_lesson(kit, viewer, lesson_id, record=record)
    assert viewer is not None  # open_lesson let a signed-in student through
    handins = kit.lessons.handins_of(lesson["id"], viewer["id"])
    latest = handins[0] if handins else None
    return {
        "lesson": lesson,
        "items": [i for i in kit.lessons.items(lesson["id"]) if not i["quiz_archived_at"]],
        "handins": [(h, kit.lessons.handin_files(h["id"])) for h in handins],
        # photos handed in a moment ago, still being made small: said so, not made now for this page (at the bell,
        # forty children's pages would each wait for the photo thread: services/learning/handin_photos)
        "waiting": handin_photos.waiting(kit),
        "rubric": {h["id"]: rubrics.levels_of(h, lesson) for h in handins},
        "may_hand_in": bool(lesson["homework"]) and (latest is None or latest["state"] != "graded"),
        "note": notebook.lesson_note(kit, viewer, lesson["id"]),
        "note_max": notebook.NOTE_MAX_CHARS,
        "bookmarked": {(b["book"], b["path"]) for b in kit.notebook.bookmarks(viewer["id"])},
    }


def read_item(kit: Kit, viewer: Viewer, lesson_id: int, item_id: int, record: bool = True) -> dict[str, Any]:
    """A student opens an item of one of their lessons (recorded, as lessons.open_lesson says): the lesson, the item,
    and whether the article is among their bookmarks."""
    lesson, item = lessons.open_lesson(kit, viewer, lesson_id, item_id, record=record)
    assert viewer is not None and item is not None  # open_lesson let a student through to an item of the lesson
    bookmarked = item["kind"] == "article" and kit.notebook.is_bookmarked(viewer["id"], item["book"], item["path"])
    return {"lesson": lesson, "item": item, "bookmarked": bookmarked}
