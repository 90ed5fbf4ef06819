"""Work a phone made away from the kit and delivers on a later classroom visit (issue 18): each delivery names its
child and carries the phone's id for it (`client_id`), so a repeated delivery stores nothing new and answers as the
first did; when the phone says it was made is clamped to what the kit can believe. No HTTP here.

Must not import web or cli. The kit's own rules apply on arrival: lessons.hand_in checks the lesson, the quota and
every photo.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO

from appliance.errors import BadRequestError, WrongChildError
from appliance.services.learning import clock, lessons, quizzes
from appliance.services.people import access as people

if TYPE_CHECKING:
    from appliance.services.kit import Kit

# crypto.randomUUID() on the phone, or its fallback (static/phone_store.js): 36 characters; a little room either way.
CLIENT_ID = re.compile(r"[A-Za-z0-9-]{16,64}")


def client_id(value: str) -> str:
    """A phone's id for one piece of work, checked; BadRequestError for anything else."""
    if not CLIENT_ID.fullmatch(value):
        raise BadRequestError(
            f"{value[:80]!r} is not a phone's id for a piece of work.", fix="Send it again from the phone."
        )
    return value


def made_at(text: str, earliest: dt.datetime, arrived: dt.datetime, naive: dt.tzinfo = dt.timezone.utc) -> dt.datetime:
    """When the phone says the work was made (ISO 8601, a time without a zone read in `naive`; the phone's clock may
    be wrong), clamped to [earliest, arrived]; arrived when missing or unreadable."""
    try:
        said = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return arrived
    if said.tzinfo is None:
        said = said.replace(tzinfo=naive)
    return min(max(said, earliest), arrived)


def _earliest(published_at: str | None, pass_made_at: float | None) -> dt.datetime:
    """Work was not made before its lesson or quiz was published (ISO 8601 UTC), nor before the phone took its pass
    home."""
    published = dt.datetime.fromisoformat(str(published_at or "1970-01-01T00:00:00Z").replace("Z", "+00:00"))
    if pass_made_at is None:
        return published
    return max(published, dt.datetime.fromtimestamp(pass_made_at, dt.timezone.utc))


def check_child(student: people.Viewer, named: str) -> None:
    """A queued item names the child it was made for; it is never accepted as another child's (WrongChildError)."""
    if named.strip() != str(student["id"]):
        raise WrongChildError(
            "This work was made for another child on this phone.",
            cause="Two children share the phone; the work waits for its own child's pass.",
            fix="Let the child who made it sign in on the phone in class; it is sent then.",
        )


def _arrived_before(
    student: people.Viewer, delivery: dict[str, str], stored: Callable[[int, str], sqlite3.Row | None]
) -> tuple[str, int | None]:
    """(the delivery's client id, the id of what it stored when it arrived before, else None), once the item is
    checked to be this child's."""
    check_child(student, delivery.get("student", ""))
    wanted = client_id(delivery.get("client_id", ""))
    first = stored(student["id"], wanted)
    return wanted, None if first is None else first["id"]


def hand_in(
    kit: Kit,
    student: people.Viewer,
    pass_made_at: float | None,
    delivery: dict[str, str],
    photos: list[tuple[BinaryIO, str]],
    now: dt.datetime | None = None,
) -> tuple[int, bool]:
    """Deliver a hand-in made on the phone (`delivery`: student, client_id, made_at, lesson, body): (its hand-in id,
    whether it had already arrived). Refused as lessons.hand_in refuses; for another child, PhonePassError."""
    wanted, first = _arrived_before(student, delivery, kit.lessons.handin_of_client)
    if first is not None:
        return first, True
    arrived = now or dt.datetime.now(dt.timezone.utc)
    lesson_id = _number(delivery.get("lesson", ""), "lesson")
    lesson = lessons.student_lesson(kit.lessons, student, lesson_id)
    made = made_at(delivery.get("made_at", ""), _earliest(lesson["publish_at"], pass_made_at), arrived)
    try:
        handin_id = lessons.hand_in(
            kit, student, lesson_id, delivery.get("body", ""), photos, when=made, delivery=(wanted, arrived)
        )
    except sqlite3.IntegrityError:  # the same item delivered twice at once: the other one stored it
        again = kit.lessons.handin_of_client(student["id"], wanted)
        if again is None:
            raise
        return again["id"], True
    return handin_id, False


def quiz(
    kit: Kit,
    student: people.Viewer,
    pass_made_at: float | None,
    delivery: dict[str, str],
    answers,
    now: dt.datetime | None = None,
) -> tuple[int, bool]:
    """Deliver a quiz's answers made on the phone (`delivery`: student, client_id, made_at, quiz; `answers`: the form
    with a<N> as the quiz page sends them): (the attempt id, whether it had already arrived). The answers go into the
    child's open attempt or a new one while attempts are left (QuizError otherwise), graded as on the kit."""
    wanted, first = _arrived_before(student, delivery, kit.quizzes.attempt_of_client)
    if first is not None:
        return first, True
    arrived = now or dt.datetime.now(dt.timezone.utc)
    quiz_id = _number(delivery.get("quiz", ""), "quiz")
    found = quizzes.student_quiz(kit, student, quiz_id)
    made = made_at(delivery.get("made_at", ""), _earliest(found["created_at"], pass_made_at), arrived)
    attempt_id = quizzes.start(kit, student, quiz_id)
    try:  # claimed before the answers are stored: a repeat arriving meanwhile finds this attempt
        kit.quizzes.claim_for_phone(
            attempt_id, wanted, clock.stamp(kit.settings, made), clock.stamp(kit.settings, arrived)
        )
    except sqlite3.IntegrityError:
        again = kit.quizzes.attempt_of_client(student["id"], wanted)
        if again is None:
            raise
        return again["id"], True
    quizzes.hand_in(kit, student, quiz_id, attempt_id, answers)
    return attempt_id, False


def _number(value: str, what: str) -> int:
    if not value.strip().isdigit():
        raise BadRequestError(f"{value[:40]!r} is not a {what}.", fix=f"Send it again from the {what}'s page.")
    return int(value)
