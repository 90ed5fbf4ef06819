"""A picture in a quiz question (issue 16, "Quizzes in minutes"): chosen on the quiz form, stored through the kit's
upload checks (kind by its first bytes, size as sent, free space on the data disk) and scaled down by Pillow
(edges/images: upright, no EXIF location); shown to the class's teachers on the form and to its students on the quiz.

Must not import web or cli. A question's picture is an id in the draft (`qN-picture`); `take` stores new files and
drops any id that is not a picture of the quiz's class, so a hand-made form cannot show another class's picture.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from appliance.errors import NotVisibleError, UploadRefusedError
from appliance.services.learning import quiz_drafts, quizzes, quotas, uploads
from appliance.services.people import access as people
from appliance.typed_numbers import whole_number

if TYPE_CHECKING:
    from pathlib import Path

    from appliance.services.kit import Kit
    from appliance.services.people.access import Viewer

# A question's picture fills a phone's width (360–412 CSS px at 2–3 device pixels each) and a projector's half:
# 1024 px on the longer edge is sharp on both and ~100–200 KB as JPEG for 40 phones on one access point.
PICTURE_EDGE_PX = 1024
FOLDER = "quiz_pictures"
PICTURES_PER_POST = 10  # pictures chosen at once before "save": the form's body limit is this many photos
# A picture chosen on a quiz form that was never saved, or taken off its question, is removed when the class's quiz
# form is next sent, once it is this old: a teacher may still be on a form she opened earlier that names it.
UNUSED_KEPT_S = 24 * 3600


def post_limit_bytes(kit: Kit) -> int:
    """The most a quiz form may send: PICTURES_PER_POST photos of handin_photo_max_mb (what a phone's camera makes)."""
    return PICTURES_PER_POST * kit.settings.handin_photo_max_mb * 1024 * 1024


def take(kit: Kit, viewer: Viewer, class_id: int, draft: quiz_drafts.Draft, form) -> None:
    """Apply the form's pictures to the draft: each question's new file (`qN-picture-file`) stored, a ticked
    `qN-picture-remove` dropped, an id that is not a picture of the class forgotten. A file the upload checks refuse
    becomes that question's problem (field "picture"); the rest of the draft stays as typed. The class's pictures
    no question names and older than UNUSED_KEPT_S are removed first."""
    forget_unused(kit, class_id)
    for n, question in enumerate(draft.questions):
        if form.get(f"q{n}-picture-remove"):
            question.picture = ""
        upload = form.get(f"q{n}-picture-file")
        if upload is not None and not isinstance(upload, str) and upload.filename:
            try:
                question.picture = str(_store(kit, viewer, class_id, upload.file, upload.filename))
            except UploadRefusedError as exc:
                question.error, question.fix, question.field = exc.message, exc.fix, "picture"
        elif question.picture and not _of_class(kit, question.picture, class_id):
            question.picture = ""


def _store(kit: Kit, viewer: Viewer, class_id: int, source, filename: str, shrink: bool = True) -> int:
    quotas.check_free_space(kit, [(source, filename)])
    folder = kit.paths.uploads_dir / FOLDER
    stored = uploads.store(
        source,
        filename,
        folder,
        uploads.PHOTO_KINDS,
        kit.settings.handin_photo_max_mb * 1024 * 1024,
        shrink_edge_px=PICTURE_EDGE_PX if shrink else None,
    )
    try:
        return kit.quizzes.add_picture(
            class_id=class_id,
            author_id=viewer["id"],
            stored_name=stored.name,
            media_type=stored.media_type,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
        )
    except BaseException:
        (folder / stored.name).unlink(missing_ok=True)
        raise


def store_for_class(kit: Kit, viewer: Viewer, class_id: int, source, filename: str) -> int:
    """A picture from elsewhere (a shared lesson a book carries) stored as one of `class_id`'s, made small like one
    chosen on the quiz form; its id. UploadRefusedError when it is not a picture."""
    return _store(kit, viewer, class_id, source, filename)


def forget_unused(kit: Kit, class_id: int, now: dt.datetime | None = None) -> int:
    """Remove the class's pictures that no question names and that are older than UNUSED_KEPT_S (rows, then files);
    how many."""
    before = (now or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(seconds=UNUSED_KEPT_S)
    unused = kit.quizzes.unused_pictures(class_id, before.strftime("%Y-%m-%dT%H:%M:%SZ"))
    kit.quizzes.remove_pictures([row["id"] for row in unused])
    for row in unused:
        (kit.paths.uploads_dir / FOLDER / row["stored_name"]).unlink(missing_ok=True)
    return len(unused)


def for_class(kit: Kit, viewer: Viewer, questions: list[dict[str, Any]], class_id: int) -> list[dict[str, Any]]:
    """`questions` (as storage reads them) for a copy of their quiz in `class_id`: each picture of another class
    stored again as one of `class_id` (its own file, the same bytes: a picture is seen by the class it belongs to),
    its id changed in the question. A picture whose row or file is gone is left out of the copy."""
    copied: dict[int, int | None] = {}
    result = []
    for question in questions:
        picture = _picture_id(question)
        if picture is None:
            result.append(question)
            continue
        if picture not in copied:
            copied[picture] = _copy(kit, viewer, picture, class_id)
        changed = {k: v for k, v in question.items() if k != "picture"}
        if copied[picture] is not None:
            changed["picture"] = copied[picture]
        result.append(changed)
    return result


def _copy(kit: Kit, viewer: Viewer, picture_id: int, class_id: int) -> int | None:
    row = kit.quizzes.picture(picture_id)
    if row is None:
        return None
    if row["class_id"] == class_id:
        return picture_id
    path = kit.paths.uploads_dir / FOLDER / row["stored_name"]
    try:
        with open(path, "rb") as handle:
            return _store(kit, viewer, class_id, handle, row["stored_name"], shrink=False)  # made small already
    except FileNotFoundError:  # a card restored without its uploads: the copy has no picture, as the quiz shows none
        return None


def _of_class(kit: Kit, picture: str, class_id: int) -> bool:
    number = whole_number(picture)
    row = kit.quizzes.picture(number) if number is not None else None
    return row is not None and row["class_id"] == class_id


def question_pictures(kit: Kit, viewer: Viewer, quiz_id: int) -> list[int | None]:
    """The picture id of each question of a quiz of the student's classes, in order (None: no picture)."""
    quizzes.student_quiz(kit, viewer, quiz_id)
    return [_picture_id(q) for q in kit.quizzes.questions(quiz_id)]


def _picture_id(stored: dict[str, Any]) -> int | None:
    picture = stored.get("picture")
    return picture if isinstance(picture, int) and not isinstance(picture, bool) else None


def picture_file(kit: Kit, viewer: Viewer | None, picture_id: int) -> tuple[Any, Path]:
    """(row, path) of a question's picture, for a teacher of its class or a student in it; NotVisibleError (as if
    absent) for anyone else signed in, and when its file is gone (a card restored without its uploads)."""
    viewer = people.require(viewer, "student", *people.STAFF)
    row = kit.quizzes.picture(picture_id)
    path = kit.paths.uploads_dir / FOLDER / (row["stored_name"] if row else "")
    if row is None or not _may_see(kit, viewer, row["class_id"]) or not path.is_file():
        raise NotVisibleError(f"There is no picture {picture_id}.", fix="Open the quiz from its class page.")
    return row, path


def _may_see(kit: Kit, viewer: Viewer, class_id: int) -> bool:
    if viewer["role"] == "student":
        return kit.people.enrolled(viewer["id"], class_id)
    try:
        people.staff_class(kit.people, viewer, class_id)
    except NotVisibleError:
        return False
    return True
