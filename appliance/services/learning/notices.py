"""Class notices (通知): a teacher writes a short notice to the whole class or to one child; the children see it at
the top of My space until they acknowledge it; the teacher sees who has read it ("已读 12/30"). No HTTP here.

Must not import web or cli. Every function takes the signed-in `viewer`: only a teacher of the class (or an
administrator) posts, lists or removes its notices; a child sees only notices to their own classes that are for the
whole class or for them, and another class's notice is not found, as if it did not exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appliance.errors import LessonError, NotVisibleError
from appliance.services.people import access as people, name_order

if TYPE_CHECKING:
    from appliance.services.kit import Kit
    from appliance.services.people.access import Viewer

NOTICE_MAX_CHARS = 500  # a few lines a child reads on a phone: "明天带尺子", not a letter
TEACHER_SHOWN = 20  # the class page lists the newest notices only
STUDENT_SHOWN = 30  # unread ones first on My space, then the newest read ones
READ_SHOWN = 5


def _body(text: str) -> str:
    body = text.replace("\r\n", "\n").strip()
    if not body:
        raise LessonError(
            "The notice is empty.", code="notice.empty", fix="Write what the class should know.", field="body"
        )
    if len(body) > NOTICE_MAX_CHARS:
        raise LessonError(
            f"The notice has {len(body)} characters; at most {NOTICE_MAX_CHARS} fit.",
            code="notice.too_long",
            fix="Shorten the notice, or put the details in a lesson.",
            field="body",
        )
    return body


def post(kit: Kit, viewer: Viewer | None, class_id: int, body: str, student_id: int | None) -> int:
    """A teacher of the class (or an administrator) posts a notice to the class, or to one child of it
    (NotVisibleError for a child not in the class); LessonError (beside `body`) when it is empty or too long."""
    klass = people.staff_class(kit.people, viewer, class_id)
    if student_id is not None:
        people.class_student(kit.people, viewer, class_id, student_id)
    assert viewer is not None  # staff_class let a signed-in teacher or administrator through
    return kit.notices.add(klass["id"], student_id, viewer["id"], _body(body))


def _shown(row) -> dict[str, Any]:
    """A notice as pages show it: `at` is its stored UTC time, which the `when` filter shows in the kit's zone."""
    return {**dict(row), "at": row["created_at"], "teacher": row["teacher_name"] or row["teacher_username"]}


def of_class(kit: Kit, viewer: Viewer | None, class_id: int) -> list[dict[str, Any]]:
    """The class's newest notices for its teacher, each with `read` and `unread`: the children it is for (the class's
    children today, or the one child) who have and have not acknowledged it, in class-list order."""
    klass = people.staff_class(kit.people, viewer, class_id)
    students = name_order.students_of(kit.people, klass["id"])
    rows = kit.notices.of_class(klass["id"], TEACHER_SHOWN)
    readers = kit.notices.readers([row["id"] for row in rows])
    found = []
    for row in rows:
        meant = [s for s in students if row["student_id"] in (None, s["id"])]
        found.append(
            {
                **_shown(row),
                "read": [s for s in meant if s["id"] in readers[row["id"]]],
                "unread": [s for s in meant if s["id"] not in readers[row["id"]]],
            }
        )
    return found


def remove(kit: Kit, viewer: Viewer | None, notice_id: int) -> int:
    """A teacher of the notice's class (or an administrator) takes it back; returns the class id."""
    row = kit.notices.notice(notice_id)
    if row is None:
        raise _not_found(notice_id)
    people.staff_class(kit.people, viewer, row["class_id"])
    kit.notices.remove(notice_id)
    return row["class_id"]


def for_student(kit: Kit, viewer: Viewer | None) -> dict[str, list[dict[str, Any]]]:
    """My space's notices: `unread` (all, newest first) and the newest READ_SHOWN `read` ones; `all`: the newest
    STUDENT_SHOWN (the family page's)."""
    viewer = people.require(viewer, "student")
    rows = [_shown(row) for row in kit.notices.for_student(viewer["id"], STUDENT_SHOWN)]
    return {
        "all": rows,
        "unread": [row for row in rows if row["read_at"] is None],
        "read": [row for row in rows if row["read_at"] is not None][:READ_SHOWN],
    }


def meant_for(kit: Kit, viewer: Viewer | None, notice_id: int):
    """A notice to one of the child's classes, for the whole class or for them; any other is not found."""
    viewer = people.require(viewer, "student")
    row = kit.notices.notice(notice_id)
    classes = {c["id"] for c in kit.people.classes_of_student(viewer["id"])}
    if row is None or row["class_id"] not in classes or row["student_id"] not in (None, viewer["id"]):
        raise _not_found(notice_id)
    return row


def mark_read(kit: Kit, viewer: Viewer | None, notice_id: int) -> None:
    """The child acknowledges a notice meant for them ("知道了"); any other notice is not found."""
    meant_for(kit, viewer, notice_id)
    assert viewer is not None  # meant_for let a signed-in child through
    kit.notices.mark_read(notice_id, viewer["id"])


def _not_found(notice_id: int) -> NotVisibleError:
    return NotVisibleError(
        f"There is no notice {notice_id} for you.",
        code="notice.not_found",
        fix="Open My space or the class page again.",
    )
