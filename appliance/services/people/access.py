"""Who may see and change which people and classes: roles, teachers, classes, PINs. No HTTP here.

Must not import web or cli. Every function that shows or changes people takes the signed-in `viewer`
(an accounts row, or None) and checks its role first: a student sees only themself, a teacher only
their classes and their students, an administrator everything.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import sqlite3
import uuid
from typing import TYPE_CHECKING, Any, Protocol

from appliance.errors import AccessDeniedError, BadRequestError, NotVisibleError, PeopleError, SignInError
from appliance.services.people import auth, class_names, name_order, picture_codes
from appliance.storage.attendance import Attendance, utc_text
from appliance.storage.people import People
from appliance.storage.signin_failures import SigninFailures

if TYPE_CHECKING:
    from appliance.services.kit import Kit

NAME_MAX_CHARS = 80
# 2 to 32 letters (Chinese characters too: 李丽), digits, dots, dashes or underscores, beginning with a letter or
# digit; compared and stored in lower case (auth.normal_username), and the form says so beside the field.
USERNAME_PATTERN = re.compile(r"[^\W_][\w.-]{1,31}")
PIN_PATTERN = re.compile(r"[0-9]{4,6}")
MIN_PASSWORD_CHARS = 10
STAFF = ("admin", "teacher")
# The operator at the kit's console (`tpkit people import`): may do what an administrator may.
CONSOLE = {"id": None, "role": "admin", "username": "console"}


class Viewer(Protocol):
    """The signed-in account as services read it, by column name: an accounts row (`id`, `role`, `username`,
    `display_name`, `must_change_password`…) from storage, or CONSOLE for the operator at the kit's console."""

    def __getitem__(self, key: str, /) -> Any: ...


def require(viewer: Viewer | None, *roles: str) -> Viewer:
    """The viewer, checked: SignInError when nobody is signed in; AccessDeniedError when their role is not in
    `roles`."""
    if viewer is None:
        raise SignInError("Sign in first.", fix="Open /admin/signin (staff) or /learn (students).")
    if viewer["role"] not in roles:
        raise AccessDeniedError(
            f"A {viewer['role']} account cannot open this page.",
            fix="Go back to your own pages; ask the administrator if you need more.",
        )
    return viewer


def clean_name(value: str, what: str) -> str:
    """A person's or class's name: trimmed, 1 to NAME_MAX_CHARS characters, no control characters."""
    name = " ".join(value.split())
    if not name or len(name) > NAME_MAX_CHARS or any(ord(ch) < 32 for ch in name):
        raise PeopleError(
            f"The {what} {value!r} cannot be used: it must have 1 to {NAME_MAX_CHARS} characters.",
            fix=f"Type the {what} again.",
            code="people.name_invalid",
            field="class_name" if what == "class name" else "name",
        )
    return name


def make_pin(digits: int) -> str:
    """A random PIN of `digits` digits that is not one a child would guess first (1111, 1234, 4321)."""
    while True:
        pin = "".join(str(secrets.randbelow(10)) for _ in range(digits))
        steps = {int(b) - int(a) for a, b in zip(pin, pin[1:])}
        if len(steps) > 1 or steps.isdisjoint({-1, 0, 1}):
            return pin


def new_pseudonym() -> str:
    """The id learning records will carry instead of a name (xAPI actor account name, issue 4)."""
    return str(uuid.uuid4())


def create_teacher(people: People, viewer: Viewer | None, display_name: str, username: str, password: str) -> int:
    """An administrator adds a teacher whose first password must be changed at the first sign-in."""
    viewer = require(viewer, "admin")
    name = clean_name(display_name, "name")
    username = check_username(username)
    if len(password) < MIN_PASSWORD_CHARS:
        raise PeopleError(
            f"The first password has {len(password)} characters; at least {MIN_PASSWORD_CHARS} are needed.",
            fix="Choose a longer first password; the teacher replaces it at the first sign-in.",
            code="people.password_too_short",
            field="password",
        )
    digest = auth.hash_password(password)
    try:
        with people.transaction() as conn:
            return people.add_person(
                conn,
                username=username,
                role="teacher",
                display_name=name,
                pseudonym=new_pseudonym(),
                password_hash=digest,
                must_change_password=True,
            )
    except sqlite3.IntegrityError:
        raise PeopleError(
            f"The user name {username!r} is taken.",
            fix="Choose another user name.",
            code="people.username_taken",
            field="username",
        ) from None


def check_username(typed: str) -> str:
    """The user name as stored (auth.normal_username: NFKC, lower case); PeopleError stating the rule otherwise."""
    username = auth.normal_username(typed)
    if not USERNAME_PATTERN.fullmatch(username):
        raise PeopleError(
            f"The user name {typed.strip()!r} cannot be used.",
            fix="Use 2 to 32 letters (Chinese characters too), digits, dots, dashes or underscores, beginning with a "
            "letter or digit, e.g. li.wei or 李丽.",
            code="people.username_invalid",
            field="username",
        )
    return username


def reset_staff_password(people: People, viewer: Viewer | None, account_id: int, password: str) -> None:
    """An administrator sets a teacher's one-time password (a new teacher from OneRoster, a forgotten one)."""
    viewer = require(viewer, "admin")
    person = people.person(account_id)
    if person is None or person["role"] != "teacher":
        raise NotVisibleError(f"There is no teacher with id {account_id}.", fix="Pick a teacher from the list.")
    if len(password) < MIN_PASSWORD_CHARS:
        raise PeopleError(
            f"The password has {len(password)} characters; at least {MIN_PASSWORD_CHARS} are needed.",
            fix="Choose a longer one-time password.",
            code="people.password_too_short",
            field="password",
        )
    digest = auth.hash_password(password)
    with people.transaction() as conn:
        people.update_person(conn, account_id, password_hash=digest, must_change_password=1)


def create_class(people: People, viewer: Viewer | None, name: str, grade: str, teacher_usernames: list[str]) -> int:
    """A class with its teachers: a teacher who creates one teaches it and may name no other teacher (an
    administrator names any). PeopleError (people.class_name_taken) when another class's name reads the same."""
    viewer = require(viewer, *STAFF)
    name, grade = clean_name(name, "class name"), " ".join(grade.split())[:20]
    usernames = [auth.normal_username(u) for u in teacher_usernames if u.strip()]
    if viewer["role"] == "teacher" and set(usernames) - {viewer["username"]}:
        raise AccessDeniedError(
            "A teacher's new class has that teacher alone as its teacher.",
            fix="Create the class, then ask the administrator to add other teachers to it.",
        )
    with people.transaction() as conn:
        class_names.check_free(conn, name)
        teacher_ids = [viewer["id"]] if viewer["role"] == "teacher" else []
        for username in usernames:
            teacher = people.find_account(conn, "username", username)
            if teacher is None or teacher["role"] != "teacher":
                raise PeopleError(
                    f"There is no teacher with the user name {username!r}.",
                    fix="Create the teacher first, or correct the user name.",
                    code="people.no_such_teacher",
                )
            teacher_ids.append(teacher["id"])
        class_id = people.add_class(conn, name, grade)
        for teacher_id in teacher_ids:
            people.add_teacher(conn, class_id, teacher_id)
    return class_id


def classes_for(people: People, viewer: Viewer | None) -> list:
    """The classes the viewer may see: all for an administrator, their own for a teacher or a student."""
    viewer = require(viewer, "admin", "teacher", "student")
    if viewer["role"] == "admin":
        return people.all_classes()
    if viewer["role"] == "teacher":
        return people.classes_taught_by(viewer["id"])
    return people.classes_of_student(viewer["id"])


def staff_class(people: People, viewer: Viewer | None, class_id: int):
    """A class an administrator or one of its teachers opens; NotVisibleError otherwise, as if absent."""
    viewer = require(viewer, *STAFF)
    found = people.class_by_id(class_id)
    if found is None or (viewer["role"] == "teacher" and not people.teaches(viewer["id"], class_id)):
        raise NotVisibleError(
            f"There is no class {class_id} among your classes.", fix="Open one of your classes from the list."
        )
    return found


def class_student(people: People, viewer: Viewer | None, class_id: int, student_id: int):
    """(class, student) for a teacher of the class or an administrator; NotVisibleError when not in the class."""
    klass = staff_class(people, viewer, class_id)
    for student in people.students_of(class_id):
        if student["id"] == student_id:
            return klass, student
    raise NotVisibleError(f"There is no student {student_id} in this class.", fix="Pick a name from the list.")


def sign_in_cards(people: People, viewer: Viewer | None, class_id: int) -> tuple:
    """(class, [(name, PIN or picture code or None when not kept, student id)]): the class's sign-in cards, for its
    teachers and administrators only (docs/security.md, "PINs kept for the cards")."""
    klass = staff_class(people, viewer, class_id)
    return klass, [(s["display_name"], s["printed_pin"], s["id"]) for s in people.students_of(class_id)]


def give_pins(
    people: People,
    viewer: Viewer | None,
    class_id: int,
    digits: int,
    student_id: int | None = None,
    failures: SigninFailures | None = None,
) -> list[tuple]:
    """New PINs (or picture codes, in a class that signs in with pictures) for one student of the class, or for
    every student without one; [(student, pin or code)]. Each is kept beside its hash for the sign-in cards, which
    print it again (docs/security.md); each one's wrong-PIN count starts again."""
    klass = staff_class(people, viewer, class_id)
    students = name_order.students_of(people, class_id)
    if student_id is not None:
        chosen = [s for s in students if s["id"] == student_id]
        if not chosen:
            raise NotVisibleError(f"There is no student {student_id} in this class.", fix="Pick a name from the list.")
    else:
        chosen = [s for s in students if not s["has_credential"]]
    make = picture_codes.make_code if klass["signin_kind"] == "pictures" else lambda: make_pin(digits)
    pins = [(student, make()) for student in chosen]
    people.set_credentials(
        {student["id"]: auth.hash_pin(pin) for student, pin in pins}, {student["id"]: pin for student, pin in pins}
    )
    if failures is not None:
        for student, _ in pins:
            failures.clear(f"pin:{student['id']}")
    return pins


def set_signin_kind(people: People, viewer: Viewer | None, class_id: int, kind: str) -> None:
    """A teacher of the class (or an administrator) chooses PINs or picture codes for its students. A change clears
    the students' old PINs or codes: the teacher then gives and prints new ones (the class page offers it)."""
    staff_class(people, viewer, class_id)
    if kind not in picture_codes.KINDS:
        raise PeopleError(
            f"The sign-in kind {kind!r} is not one of {', '.join(picture_codes.KINDS)}.",
            fix="Use the buttons on the class page.",
        )
    people.set_signin_kind(class_id, kind)


def sign_in_classes(people: People) -> list:
    """Classes offered on the sign-in page (every class with a student in it)."""
    return [c for c in people.all_classes() if people.students_of(c["id"])]


def sign_in_names(people: People, class_id: int) -> tuple:
    """(class, its students) for the names page; NotVisibleError for an unknown class."""
    found = people.class_by_id(class_id)
    if found is None:
        raise NotVisibleError(f"There is no class {class_id}.", fix="Pick your class from the list.")
    return found, name_order.students_of(people, class_id)


def pin_student(people: People, class_id: int, student_id: int) -> tuple:
    """(class, student) for the PIN page, when that student is enrolled in that class."""
    found = people.class_by_id(class_id)
    student = people.person(student_id)
    if found is None or student is None or student["role"] != "student" or not people.enrolled(student_id, class_id):
        raise NotVisibleError(
            f"There is no student {student_id} in class {class_id}.", fix="Go back and pick your class, then your name."
        )
    return found, student


def student_sign_in(kit: Kit, klass, student, secret: str, client: str, now: dt.datetime | None = None) -> str:
    """A session token when `secret` is the student's PIN or picture code (throttled per account, device and
    class, as auth.sign_in_pin says); SignInError or TooManyAttemptsError otherwise. The sign-in is kept for the
    class page (last sign-in, who came today: services/people/attendance.py)."""
    moment = now or dt.datetime.now(dt.UTC)
    credential = {"id": student["id"], "password_hash": kit.people.credential(student["id"])}
    token = auth.sign_in_pin(
        kit.accounts, kit.signin_failures, credential, klass["id"], secret, client, moment.timestamp()
    )
    Attendance(kit.db).add_signin(student["id"], klass["id"], utc_text(moment))
    return token


def change_own_password(
    kit: Kit, viewer: Viewer | None, current: str, password: str, token: str | None = None, client: str = ""
) -> None:
    """A signed-in staff account chooses its own password (at least MIN_PASSWORD_CHARS characters), which also
    ends the first password's may-only-change-it state. It must give its current (or one-time) password; every
    other session of the account ends, the one with `token` (the one changing it) stays."""
    viewer = require(viewer, *STAFF)
    assert viewer is not None  # require let a signed-in account through
    if len(password) < MIN_PASSWORD_CHARS:
        raise BadRequestError(
            f"The new password has {len(password)} characters; at least {MIN_PASSWORD_CHARS} are needed.",
            fix="Go back and choose a longer password (a short sentence works well).",
            code="auth.short_password",
        )
    auth.change_own_password(kit.accounts, kit.signin_failures, viewer, current, password, token, client)


def resume_class_signin(kit: Kit, viewer: Viewer | None, class_id: int) -> None:
    """A teacher of the class (or an administrator) clears the class's wrong-PIN count that pauses sign-in."""
    staff_class(kit.people, viewer, class_id)
    auth.clear_class_pause(kit.signin_failures, class_id)
