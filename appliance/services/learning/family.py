"""Parents take part (issue 18, docs/learning-space.md "Parents"): inside the child's own sign-in a parent reads the
child's homework (handed in or not, mark, comment), quiz marks and class notices; signs (已阅) a notice or a marked
homework; and leaves a short message for the teacher. The teacher sees, per child, the messages (made and arrived)
and what was signed, and marks a message read. No HTTP here.

Every delivery carries a `client_id` (made by the page, or by the phone's outbox): the same (child, client_id) twice
stores once and answers what the first answered. `made_at` (the phone's clock, ISO 8601) is kept clamped to
[earliest, arrival] beside the kit's own arrival time. Must not import web or cli. Every function takes the
signed-in `viewer`: a child sees and signs only their own things; a teacher only their class's children.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from appliance.errors import BadRequestError, LessonError, NotVisibleError
from appliance.services.learning import clock, deliveries, notices
from appliance.services.people import access as people

if TYPE_CHECKING:
    from appliance.services.kit import Kit
    from appliance.services.people.access import Viewer

MESSAGE_MAX_CHARS = 300  # a parent's note on a phone ("孩子这周生病了，作业晚交"), not a letter
MESSAGES_SHOWN = 20  # the newest messages on the parent's page and the teacher's child page
# The oldest a made_at posted with the child's cookie may claim for a message: a phone pass lives 30 days (issue 18
# contract). A delivery with a phone pass is not older than the pass: its issue time is the lower bound instead.
MADE_AT_WINDOW = dt.timedelta(days=30)
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")  # a UUID (with or without dashes) or the page's token_urlsafe


@dataclasses.dataclass(frozen=True)
class Delivery:
    """What a delivery stored (or had stored the first time): a sign of a `notice` or `handin`, or a `message`;
    `thing_id` is the notice's, hand-in's or message's id. Pages answer the same for the same delivery."""

    kind: str
    thing_id: int


def checked_client_id(value: str) -> str:
    """The delivery's client id; BadRequestError when it is missing or not one the page or a phone makes."""
    if not CLIENT_ID.fullmatch(value):
        raise BadRequestError(
            "The form carries no delivery id, or one the kit does not make.",
            code="family.client_id",
            fix="Open the family page again and send it from there.",
        )
    return value


def clamped_made_at(kit: Kit, made_at: str, earliest: dt.datetime, arrived: dt.datetime) -> str:
    """The phone's `made_at` (ISO 8601; naive: the kit's wall time) as UTC text, clamped to [earliest, arrived];
    the arrival when it is absent or no time at all (a phone's clock is a hint, never a reason to refuse)."""
    return clock.utc_text(kit.settings, deliveries.made_at(made_at, earliest, arrived, clock.zone(kit.settings)))


def _moment(kit: Kit, stored: str) -> dt.datetime:
    """A stored time (UTC '…Z', or the learning space's wall time) as an aware moment."""
    moment = dt.datetime.fromisoformat(stored)
    return moment if moment.tzinfo else moment.replace(tzinfo=clock.zone(kit.settings))


def _earlier(kit: Kit, viewer: Viewer, client_id: str) -> Delivery | None:
    found = kit.family.delivered(viewer["id"], client_id)
    if found is None:
        return None
    kind, row = found
    if kind == "message":
        return Delivery("message", row["id"])
    return Delivery("notice", row["notice_id"]) if row["notice_id"] else Delivery("handin", row["handin_id"])


def _not_found(what: str, thing_id: int) -> NotVisibleError:
    return NotVisibleError(
        f"There is no {what} {thing_id} of this child to sign.",
        code="family.not_found",
        fix="Open the family page again.",
    )


def _pass_issued(pass_made_at: float) -> dt.datetime:
    """When a phone's pass was issued (epoch seconds): nothing it delivers was made before the phone took it home."""
    return dt.datetime.fromtimestamp(pass_made_at, dt.UTC)


def sign(
    kit: Kit,
    viewer: Viewer | None,
    what: str,
    thing_id: int,
    client_id: str,
    made_at: str = "",
    now=None,
    pass_made_at: float | None = None,
) -> Delivery:
    """A parent signs (已阅) a notice meant for the child (`what` 'notice') or the child's marked homework
    ('handin'), once per (child, thing): signing again, or the same delivery again, keeps the first sign; a phone's
    delivery gives `pass_made_at`, when its pass was issued. NotVisibleError (family.not_found) for anything not the
    child's, as if absent."""
    viewer = people.require(viewer, "student")
    client_id = checked_client_id(client_id)
    earlier = _earlier(kit, viewer, client_id)
    if earlier is not None:
        return earlier
    arrived = now or dt.datetime.now(dt.UTC)
    if what == "notice":
        try:
            row = notices.meant_for(kit, viewer, thing_id)
        except NotVisibleError:
            raise _not_found(what, thing_id) from None
        class_id, since = row["class_id"], _moment(kit, row["created_at"])
    elif what == "handin":
        handin = kit.lessons.handin(thing_id)
        lesson = kit.lessons.lesson(handin["lesson_id"]) if handin is not None else None
        if handin is None or lesson is None or handin["account_id"] != viewer["id"] or handin["state"] != "graded":
            raise _not_found(what, thing_id)
        class_id, since = lesson["class_id"], _moment(kit, handin["graded_at"])
    else:
        raise BadRequestError(f"{what!r} cannot be signed.", fix="Use the 已阅 buttons on the family page.")
    if pass_made_at is not None:
        since = max(since, _pass_issued(pass_made_at))
    made = clamped_made_at(kit, made_at, min(since, arrived), arrived)
    kit.family.sign(viewer["id"], class_id, what, thing_id, client_id, made, clock.utc_text(kit.settings, arrived))
    return Delivery(what, thing_id)


def _body(text: str) -> str:
    body = text.replace("\r\n", "\n").strip()
    if not body:
        raise LessonError(
            "The message is empty.",
            code="family.message_empty",
            fix="Write what the teacher should know.",
            field="body",
        )
    if len(body) > MESSAGE_MAX_CHARS:
        raise LessonError(
            f"The message has {len(body)} characters; at most {MESSAGE_MAX_CHARS} fit.",
            code="family.message_too_long",
            fix="Shorten the message, or ask the teacher to call.",
            field="body",
        )
    return body


def send_message(
    kit: Kit,
    viewer: Viewer | None,
    class_id: int,
    body: str,
    client_id: str,
    made_at: str = "",
    now=None,
    pass_made_at: float | None = None,
) -> Delivery:
    """A parent's short message to the teachers of one of the child's classes; the same delivery again stores
    nothing new; a phone's delivery gives `pass_made_at`, when its pass was issued (the oldest made_at it may claim,
    instead of MADE_AT_WINDOW). LessonError (beside `body`) when it is empty or too long; NotVisibleError for
    another class."""
    viewer = people.require(viewer, "student")
    client_id = checked_client_id(client_id)
    earlier = _earlier(kit, viewer, client_id)
    if earlier is not None:
        return earlier
    if class_id not in {c["id"] for c in kit.people.classes_of_student(viewer["id"])}:
        raise NotVisibleError(
            f"The child is not in class {class_id}.", code="family.not_found", fix="Open the family page again."
        )
    text = _body(body)
    arrived = now or dt.datetime.now(dt.UTC)
    earliest = arrived - MADE_AT_WINDOW if pass_made_at is None else _pass_issued(pass_made_at)
    made = clamped_made_at(kit, made_at, min(earliest, arrived), arrived)
    row = kit.family.add_message(viewer["id"], class_id, text, client_id, made, clock.utc_text(kit.settings, arrived))
    return Delivery("message", row["id"])


def parent_page(kit: Kit, viewer: Viewer | None) -> dict[str, Any]:
    """The family page of the signed-in child, and of nobody else: their homework (each lesson with homework, its
    newest hand-in, the sign), quiz marks, class notices (each with the sign) and the messages sent."""
    viewer = people.require(viewer, "student")
    signs = kit.family.signs_of(viewer["id"])
    by_notice = {s["notice_id"]: s for s in signs if s["notice_id"]}
    by_handin = {s["handin_id"]: s for s in signs if s["handin_id"]}
    lessons = [lesson for lesson in kit.lessons.for_student(viewer["id"]) if lesson["homework"]]
    handins = kit.lessons.latest_handins([lesson["id"] for lesson in lessons], viewer["id"])
    homework = []
    for lesson in lessons:
        handin = handins.get((lesson["id"], viewer["id"]))
        signed = by_handin.get(handin["id"]) if handin is not None else None
        homework.append({"lesson": lesson, "handin": handin, "signed": signed})
    return {
        "student": kit.people.person(viewer["id"]),
        "classes": people.classes_for(kit.people, viewer),
        "homework": homework,
        "quizzes": kit.quizzes.for_student(viewer["id"]),
        "notices": [
            {**notice, "signed": by_notice.get(notice["id"])} for notice in notices.for_student(kit, viewer)["all"]
        ],
        "messages": kit.family.messages_of(viewer["id"], None, MESSAGES_SHOWN),
        "message_max": MESSAGE_MAX_CHARS,
    }


def class_counts(kit: Kit, viewer: Viewer | None, class_id: int) -> dict[int, dict[str, Any]]:
    """For the class page: {child id: {'messages': unread, 'signs': not yet seen}} of the viewer's class."""
    klass = people.staff_class(kit.people, viewer, class_id)
    return kit.family.new_counts(klass["id"])


def child_page(kit: Kit, viewer: Viewer | None, class_id: int, student_id: int, now=None) -> dict[str, Any]:
    """A teacher's page of one child of their class: the parent's messages to the class (made and arrived, read or
    not) and the signs of the class's notices and homework, those new to the class's teachers marked `new` (and
    seen from now on)."""
    klass, student = people.class_student(kit.people, viewer, class_id, student_id)
    signs = [{**s, "new": s["seen_at"] is None} for s in kit.family.signs_of(student["id"], klass["id"])]
    if any(s["new"] for s in signs):
        kit.family.mark_signs_seen(student["id"], klass["id"], clock.utc_text(kit.settings, now))
    return {
        "klass": klass,
        "student": student,
        "messages": kit.family.messages_of(student["id"], klass["id"], MESSAGES_SHOWN),
        "signs": signs,
    }


def mark_read(kit: Kit, viewer: Viewer | None, class_id: int, message_id: int, now=None) -> int:
    """A teacher of the class marks a parent's message read; the child's id. NotVisibleError for a message of
    another class, as if absent."""
    klass = people.staff_class(kit.people, viewer, class_id)
    row = kit.family.message(message_id)
    if row is None or row["class_id"] != klass["id"]:
        raise NotVisibleError(
            f"There is no message {message_id} in this class.",
            code="family.not_found",
            fix="Open the child's family page again.",
        )
    assert viewer is not None  # staff_class let a signed-in teacher or administrator through
    kit.family.mark_message_read(message_id, viewer["id"], clock.utc_text(kit.settings, now))
    return row["account_id"]
