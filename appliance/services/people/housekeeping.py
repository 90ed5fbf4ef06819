"""Keeping a teacher's classes tidy: rename a child (name, 学号) or a class, move a child to another class, remove a
child from a class or a whole class, and (administrators) choose a class's teachers. No HTTP here.

Nothing a child made is deleted: a removed child leaves the class but keeps their account, hand-ins, quiz attempts
and learning records; a removed class is archived with all of it. Must not import web or cli.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import TYPE_CHECKING, Any

from appliance.errors import AccessDeniedError, PeopleError
from appliance.services.people import access, class_names
from appliance.services.people.access import clean_name, require
from appliance.services.people.class_roster import STUDENT_NUMBER_MAX_CHARS
from appliance.storage.people import People

if TYPE_CHECKING:
    from appliance.services.people.access import Viewer


def _same_name_in(people: People, class_id: int, name: str, except_id: int) -> None:
    """PeopleError when another child of the class has this name: two identical buttons on the sign-in page."""
    if any(s["display_name"] == name and s["id"] != except_id for s in people.students_of(class_id)):
        raise PeopleError(
            f"Another child of the class is named {name!r}.",
            cause="Two children with one name would be two identical buttons on the sign-in page.",
            fix=f"Add something to tell them apart, e.g. {name} A / {name} B.",
            code="people.same_name_in_class",
            field="name",
        )


def rename_student(
    people: People, viewer: Viewer | None, class_id: int, student_id: int, display_name: str, student_number: str
) -> None:
    """A teacher of the class (or an administrator) corrects a child's name and 学号 (empty: none)."""
    _, student = access.class_student(people, viewer, class_id, student_id)
    name = clean_name(display_name, "name")
    number = " ".join(student_number.split()) or None
    if number is not None and (len(number) > STUDENT_NUMBER_MAX_CHARS or any(ord(ch) < 32 for ch in number)):
        raise PeopleError(
            f"The student number {number!r} has more than {STUDENT_NUMBER_MAX_CHARS} characters, or control ones.",
            fix="Type the 学号 as the school writes it.",
            code="people.student_number_invalid",
            field="student_number",
        )
    _same_name_in(people, class_id, name, student["id"])
    try:
        with people.transaction() as conn:
            people.update_person(conn, student["id"], display_name=name, student_number=number)
    except sqlite3.IntegrityError:
        raise PeopleError(
            f"The student number {number!r} belongs to another child on the kit.",
            cause="学号 are unique on the kit: the same number would make an import match the wrong child.",
            fix="Check the number against the school's list.",
            code="people.student_number_taken",
            field="student_number",
        ) from None


def move_targets(people: People, viewer: Viewer | None, class_id: int) -> list:
    """The classes a child of `class_id` may be moved to by the viewer: their other classes (all, for an
    administrator)."""
    return [c for c in access.classes_for(people, viewer) if c["id"] != class_id]


def move_student(people: People, viewer: Viewer | None, class_id: int, student_id: int, to_class_id: int) -> Any:
    """The child leaves `class_id` for `to_class_id` (a class the viewer also teaches, any for an administrator),
    keeping their account: PIN, notebook, learning records, and the hand-ins and attempts they made. When the two
    classes sign in differently (PIN, pictures) the child needs a new one, which the new class's page offers. The
    new class."""
    klass, student = access.class_student(people, viewer, class_id, student_id)
    target = access.staff_class(people, viewer, to_class_id)
    if target["id"] == klass["id"]:
        raise PeopleError(
            "The child is already in this class.", fix="Choose another class.", code="people.same_class", field="to"
        )
    _same_name_in(people, target["id"], student["display_name"], student["id"])
    with people.transaction() as conn:
        people.leave_class(conn, klass["id"], student["id"])
        people.enrol(conn, target["id"], student["id"])
        if target["signin_kind"] != klass["signin_kind"]:
            people.clear_credential(conn, student["id"])
    return target


def student_removal(people: People, viewer: Viewer | None, class_id: int, student_id: int) -> dict[str, Any]:
    """What the confirmation page says before a child is removed from a class: the class, the child, and their
    hand-ins and quiz attempts in it (which stay on the kit)."""
    klass, student = access.class_student(people, viewer, class_id, student_id)
    return {"klass": klass, "student": student, "counts": people.records_in_class(klass["id"], student["id"])}


def remove_student(people: People, viewer: Viewer | None, class_id: int, student_id: int) -> None:
    """The child leaves the class (its page, sign-in page, overview); their account and everything they made
    stay. A child in no class any more loses their PIN and sessions: nobody can sign in as them."""
    klass, student = access.class_student(people, viewer, class_id, student_id)
    with people.transaction() as conn:
        if people.leave_class(conn, klass["id"], student["id"]):
            people.end_sessions(conn, student["id"])
        else:
            people.clear_credential(conn, student["id"])


def rename_class(people: People, viewer: Viewer | None, class_id: int, name: str, grade: str) -> None:
    """A teacher of the class (or an administrator) renames it; PeopleError (people.class_name_taken) when another
    class reads the same."""
    klass = access.staff_class(people, viewer, class_id)
    name, grade = clean_name(name, "class name"), " ".join(grade.split())[:20]
    with people.transaction() as conn:
        class_names.check_free(conn, name, klass["id"], field="class_name")
        people.rename_class(conn, klass["id"], name, grade)


def class_removal(people: People, viewer: Viewer | None, class_id: int) -> dict[str, Any]:
    """What the confirmation page says before a class is removed: its students, lessons, quizzes, hand-ins and
    attempts, which are archived with it."""
    klass = access.staff_class(people, viewer, class_id)
    return {"klass": klass, "counts": people.records_in_class(klass["id"])}


def remove_class(people: People, viewer: Viewer | None, class_id: int, now: dt.datetime | None = None) -> None:
    """Archive the class: it leaves every list and the sign-in page, its name is free again, and everything in it
    stays on the kit (records export, backups)."""
    klass = access.staff_class(people, viewer, class_id)
    moment = now or dt.datetime.now(dt.UTC)
    with people.transaction() as conn:
        people.archive_class(conn, klass["id"], moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def set_teachers(people: People, viewer: Viewer | None, class_id: int, teacher_ids: list[int]) -> None:
    """An administrator chooses who teaches the class (teachers' accounts only)."""
    if require(viewer, *access.STAFF)["role"] != "admin":
        raise AccessDeniedError(
            "Only the administrator chooses a class's teachers.",
            fix="Ask the administrator to add or remove a teacher of this class.",
        )
    klass = access.staff_class(people, viewer, class_id)
    teachers = {p["id"] for p in people.staff() if p["role"] == "teacher"}
    unknown = [t for t in teacher_ids if t not in teachers]
    if unknown:
        raise PeopleError(
            f"There is no teacher with id {unknown[0]}.",
            fix="Tick teachers from the list.",
            code="people.no_such_teacher",
            field="teachers",
        )
    with people.transaction() as conn:
        people.set_teachers(conn, klass["id"], sorted(set(teacher_ids)))


def class_teachers(people: People, viewer: Viewer | None, class_id: int) -> dict[str, Any]:
    """The class's teachers, and for an administrator every teacher to choose from (`all_teachers`, empty for a
    teacher, who cannot change them)."""
    klass = access.staff_class(people, viewer, class_id)
    assert viewer is not None  # staff_class let a staff account through
    mine = people.teachers_of(klass["id"])
    every = [p for p in people.staff() if p["role"] == "teacher"] if viewer["role"] == "admin" else []
    return {"teachers": mine, "all_teachers": every, "chosen": {p["id"] for p in mine}}
