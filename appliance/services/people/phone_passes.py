"""Phone passes (issue 18, docs/learning-space.md "The lesson goes home"): a signed-in child's phone takes a random
token home, the kit keeps its SHA-256; deliveries made later carry it and count as that child's, never another's.

Must not import web or cli. A teacher sees and ends the passes of their own classes' children only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from typing import TYPE_CHECKING

from appliance.errors import NotVisibleError, PhonePassError
from appliance.services.people import access
from appliance.storage.phone_passes import PhonePasses

if TYPE_CHECKING:
    import sqlite3

    from appliance.services.kit import Kit

PASS_LIFETIME_S = 30 * 86400  # a month of homework at home between classroom visits (the contract of issue 18)
# A phone delivers many items in one visit: its last use is written at most once a minute, not once a request.
TOUCH_EVERY_S = 60


def _store(kit: Kit) -> PhonePasses:
    return PhonePasses(kit.db)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(kit: Kit, viewer: access.Viewer | None, now: float | None = None) -> str:
    """A new pass for the signed-in student; the token, shown to the phone once (only its digest is kept)."""
    student = access.require(viewer, "student")
    now = time.time() if now is None else now
    token = secrets.token_urlsafe(32)
    _store(kit).add(_digest(token), student["id"], now, now + PASS_LIFETIME_S)
    return token


def pass_of(kit: Kit, token: str, now: float | None = None) -> sqlite3.Row:
    """The live pass of a token (its last use noted), or PhonePassError (401) when unknown, revoked or expired."""
    now = time.time() if now is None else now
    row = _store(kit).by_digest(_digest(token)) if token else None
    if row is None or row["revoked_at"] is not None:
        raise PhonePassError(
            "This phone's pass has ended.",
            cause="A teacher ended it on the class page, or the child signed out on the phone.",
            fix="Sign in again on the classroom Wi-Fi and tap Take home.",
        )
    if row["expires_at"] <= now:
        raise PhonePassError(
            "This phone's pass is more than 30 days old.",
            fix="Sign in again on the classroom Wi-Fi and tap Take home.",
            code="phone.pass_expired",
        )
    if row["last_used_at"] is None or now - row["last_used_at"] >= TOUCH_EVERY_S:
        _store(kit).touch(row["id"], now)
    return row


def holder(kit: Kit, token: str, now: float | None = None) -> tuple[sqlite3.Row, sqlite3.Row]:
    """(the student whose pass this is, the pass); PhonePassError as `pass_of`."""
    row = pass_of(kit, token, now)
    student = kit.people.person(row["account_id"])
    if student is None or student["role"] != "student":  # the child was removed since
        raise PhonePassError("This phone's pass has ended.", fix="Sign in again on the classroom Wi-Fi.")
    return student, row


def student_of(kit: Kit, token: str, now: float | None = None) -> sqlite3.Row:
    """The student (an accounts row) whose pass this is; PhonePassError as `pass_of`."""
    return holder(kit, token, now)[0]


def end_own(kit: Kit, token: str, now: float | None = None) -> None:
    """Sign-out on the phone: its pass ends (an unknown or already ended pass is left as it is)."""
    row = _store(kit).by_digest(_digest(token)) if token else None
    if row is not None:
        _store(kit).revoke(row["id"], time.time() if now is None else now)


def _moment(seconds: float | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


def of_class(kit: Kit, viewer: access.Viewer | None, class_id: int, now: float | None = None) -> dict[int, list]:
    """{student id: [its live passes, oldest first: id, made_at, last_used_at (aware or None)]} for a class's teacher
    or an administrator."""
    access.staff_class(kit.people, viewer, class_id)
    students = [s["id"] for s in kit.people.students_of(class_id)]
    passes: dict[int, list] = {}
    for row in _store(kit).live_of_students(students, time.time() if now is None else now) if students else []:
        passes.setdefault(row["account_id"], []).append(
            {"id": row["id"], "made_at": _moment(row["made_at"]), "last_used_at": _moment(row["last_used_at"])}
        )
    return passes


def end(kit: Kit, viewer: access.Viewer | None, class_id: int, pass_id: int, now: float | None = None) -> None:
    """A teacher ends a lost phone's pass; NotVisibleError when the pass is not of a child in their class."""
    access.staff_class(kit.people, viewer, class_id)
    row = _store(kit).by_id(pass_id)
    if row is None or row["account_id"] not in {s["id"] for s in kit.people.students_of(class_id)}:
        raise NotVisibleError(f"There is no phone {pass_id} in this class.", fix="Pick a phone from the class page.")
    _store(kit).revoke(pass_id, time.time() if now is None else now)
