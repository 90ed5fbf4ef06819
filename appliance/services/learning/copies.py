"""Copying a lesson or a quiz to another class the teacher teaches (issue 16): the copy belongs to the teacher who
copied it; a copied lesson is a draft. No HTTP here.

Must not import web or cli. A copied lesson's uploads are new files (removing an item deletes its file), written
completely before the one transaction that adds the lesson and its items; a quiz item brings a copy of its quiz
into the target class (a quiz of another class is not the children's to open). Quizzes have no drafts: the copied
quiz is in the target class's quiz list at once, as a new quiz is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appliance.errors import LessonError
from appliance.services.learning import lessons, quiz_pictures, quizzes, uploads
from appliance.services.people import access as people
from appliance.storage.lessons import POSITION_KEYS

if TYPE_CHECKING:
    from appliance.services.kit import Kit
    from appliance.services.people.access import Viewer

COPIED_COLUMNS = ("kind", "title", "book", "path", "media_type", "size_bytes", "sha256")


def targets(kit: Kit, viewer: Viewer) -> list[Any]:
    """The classes the viewer may copy into: those they teach (every class for an administrator)."""
    return people.classes_for(kit.people, people.require(viewer, *people.STAFF))


def copy_quiz(kit: Kit, viewer: Viewer, quiz_id: int, class_id: int) -> int:
    """A new quiz in `class_id` (one of the viewer's) with the quiz's fields and questions; its id. Attempts stay."""
    quiz, _ = quizzes.staff_quiz(kit, viewer, quiz_id)
    people.staff_class(kit.people, viewer, class_id)
    questions = quiz_pictures.for_class(kit, viewer, kit.quizzes.questions(quiz_id), class_id)
    with kit.quizzes.transaction() as conn:
        return kit.quizzes.add_quiz(
            conn,
            class_id=class_id,
            author_id=viewer["id"],
            title=quiz["title"],
            attempts_allowed=quiz["attempts_allowed"],
            due_at=quiz["due_at"],
            pass_mark=quiz["pass_mark"],
            questions=questions,
        )


def copy_lesson(kit: Kit, viewer: Viewer, lesson_id: int, class_id: int) -> tuple[int, int]:
    """A draft copy of the lesson (title, instructions, homework, due time, items and uploads, its place in the
    textbook) in `class_id`, for
    the whole class; (the new lesson's id, how many quizzes were copied with it). Hand-ins stay with the original."""
    _, lesson = lessons.staff_lesson(kit.people, kit.lessons, viewer, lesson_id)
    people.staff_class(kit.people, viewer, class_id)
    folder = kit.paths.uploads_dir / "lessons"
    written: list[str] = []
    items, copied_quizzes = [], 0
    try:
        for item in kit.lessons.items(lesson_id):
            columns = {name: item[name] for name in COPIED_COLUMNS}
            if item["kind"] == "upload":
                columns["stored_name"] = _copy_upload(kit, item)
                written.append(columns["stored_name"])
            elif item["kind"] == "quiz":
                if item["quiz_archived_at"]:
                    continue  # its quiz was deleted: children could not open it
                quiz_id = item["quiz_id"]
                if class_id != lesson["class_id"]:
                    quiz_id, copied_quizzes = copy_quiz(kit, viewer, quiz_id, class_id), copied_quizzes + 1
                columns["quiz_id"] = quiz_id
            items.append(columns)
        new_id = kit.lessons.add_lesson(
            class_id,
            viewer["id"],
            lesson["title"],
            lesson["instructions"],
            bool(lesson["homework"]),
            lesson["due_at"],
            [],
            publish_at=None,
            items=items,
            position={key: lesson[f"pos_{key}"] for key in POSITION_KEYS},
        )
    except BaseException:  # keep no file of a copy that was not made
        for name in written:
            (folder / name).unlink(missing_ok=True)
        raise
    return new_id, copied_quizzes


def _copy_upload(kit: Kit, item: Any) -> str:
    """A new file under uploads/lessons with the item's bytes, complete on disk; its name."""
    folder = kit.paths.uploads_dir / "lessons"
    source = folder / item["stored_name"]
    limit = max(item["size_bytes"], kit.settings.lesson_upload_max_mb * 1024 * 1024)  # kept before a lower limit
    try:
        with open(source, "rb") as handle:
            return uploads.store(handle, item["stored_name"], folder, uploads.LESSON_KINDS, limit).name
    except FileNotFoundError:
        raise LessonError(
            f"The file {item['title']!r} of this lesson is missing on the kit ({source}).",
            cause="It was deleted from the disk, or the disk was replaced without the uploads folder.",
            fix="Remove that item from the lesson (or upload the file again), then copy the lesson.",
            code="lesson.file_missing",
        ) from None
