"""The teachers' roster: one class per CSV or .xlsx file, a `name` column, optional `student_number` and `pin`,
each known by its Chinese and English headings (SYNONYMS); other columns (性别, 出生日期…) are left out and listed.

Must not import web or cli. Importing the same file again updates names and PINs instead of adding
children twice (matched by student number, else by name within the class).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from appliance.errors import PeopleError, RosterError
from appliance.services.people import auth, class_names, picture_codes
from appliance.services.people.access import PIN_PATTERN, clean_name, make_pin, new_pseudonym, require
from appliance.services.people.roster_reading import ClassTable, Problems, Row, duplicates, read_class_table
from appliance.storage.people import NO_CREDENTIAL, People

if TYPE_CHECKING:
    from appliance.services.people.access import Viewer

# The headings each column is known by (compared after roster_reading.header_key: NFKC, no spaces, any case).
# 序号 is not among them: in a Chinese list it counts rows (1, 2, 3…) and is renumbered when a row is added, so
# it would match a child to another child's account; it is left out and listed like any other column.
SYNONYMS = {
    **dict.fromkeys(("name", "姓名", "学生姓名", "学生", "名字", "student", "student name", "full name"), "name"),
    **dict.fromkeys(
        (
            "student_number",
            "学号",
            "学籍号",
            "全国学籍号",
            "学生学号",
            "学生编号",
            "编号",
            "student number",
            "student id",
            "student no",
        ),
        "student_number",
    ),
    **dict.fromkeys(("pin", "密码", "登录密码", "PIN码"), "pin"),
}
STUDENT_NUMBER_MAX_CHARS = 32


@dataclasses.dataclass
class ImportResult:
    """What an import did; `pins` [(name, student number, PIN)] given or changed (all are on the class's cards)."""

    class_id: int | None = None
    class_name: str = ""
    added: int = 0
    updated: int = 0
    pins: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    ignored: list[str] = dataclasses.field(default_factory=list)  # headings of the columns left out
    counts: dict[str, int] = dataclasses.field(default_factory=dict)


def parse(data: bytes, file: str) -> ClassTable:
    """Checked rows of a class list (CSV or .xlsx) and the columns left out; RosterError listing every problem
    with its row (as numbered in the sheet) and column."""
    problems = Problems()
    table = read_class_table(data, file, SYNONYMS, "name", problems)
    problems.raise_if_any(f"{file} cannot be imported")  # rows make no sense under a wrong header
    rows = table.rows
    for row in rows:
        try:
            clean_name(row.get("name"), "name")
        except PeopleError:
            problems.append(
                row.problem("name", f"the name {row.get('name')!r} is empty or longer than 80 characters", "bad_name")
            )
        if len(row.get("student_number")) > STUDENT_NUMBER_MAX_CHARS:
            problems.append(
                row.problem(
                    "student_number",
                    f"longer than {STUDENT_NUMBER_MAX_CHARS} characters",
                    "long_number",
                    most=STUDENT_NUMBER_MAX_CHARS,
                )
            )
        if row.get("pin") and not PIN_PATTERN.fullmatch(row.get("pin")):
            problems.append(
                row.problem("pin", f"the PIN {row.get('pin')!r} must be 4 to 6 digits", "bad_pin", pin=row.get("pin"))
            )
    duplicates(rows, "student_number", problems, "student number")
    _same_names(rows, problems)
    if not rows and not problems:
        problems.append(Row(file, 1, {}, {}).problem("name", "no students below the header", "no_students"))
    problems.raise_if_any(f"{file} cannot be imported")
    return table


def _same_names(rows: list[Row], problems: Problems) -> None:
    """Two children with one name would get two identical buttons on the sign-in page."""
    first: dict[str, int] = {}
    for row in rows:
        name = " ".join(row.get("name").split())
        if name and name in first:
            problems.append(
                row.problem(
                    "name",
                    f"{name!r} is also on line {first[name]}; add something to tell "
                    "them apart, e.g. {name} A / {name} B".replace("{name}", name),
                    "same_name",
                    name=name,
                    other=first[name],
                )
            )
        first.setdefault(name, row.line)


def import_file(
    people: People,
    viewer: Viewer | None,
    data: bytes,
    file: str,
    class_name: str,
    teacher_username: str = "",
    pin_digits: int = 4,
) -> ImportResult:
    """Import one class's students into the class named `class_name` (created when the viewer has none of
    that name), in one transaction. A teacher imports only into their own classes; PeopleError
    (people.class_name_taken) when a new class's name reads as another teacher's class's."""
    viewer = require(viewer, "admin", "teacher")
    if viewer["role"] == "teacher":
        teacher_username = ""  # a teacher imports into classes they teach, never on another's behalf
    table = parse(data, file)
    rows = table.rows
    class_name = clean_name(class_name, "class name")
    existing = _existing(people, viewer, class_name)
    # a class whose teacher chose picture codes gets codes for new students (a `pin` column still sets PINs)
    pictures = any(c["signin_kind"] == "pictures" for c in _classes_named(people, viewer, class_name))
    plans = []
    for row in rows:
        known = existing.get(("number", row.get("student_number"))) or existing.get(
            ("name", clean_name(row.get("name"), "name"))
        )
        fresh = picture_codes.make_code() if pictures else make_pin(pin_digits)
        pin = row.get("pin") or ("" if known and known["has_credential"] else fresh)
        plans.append((row, known, pin, auth.hash_pin(pin) if pin else None))
    result = _apply(people, viewer, class_name, teacher_username, plans)
    result.ignored = table.ignored
    return result


def _existing(people: People, viewer: Viewer, class_name: str) -> dict:
    """Students already in the class of that name, by ("number", n) and ("name", name)."""
    found: dict = {}
    for klass in _classes_named(people, viewer, class_name):
        for student in people.students_of(klass["id"]):
            if student["student_number"]:
                found[("number", student["student_number"])] = student
            found.setdefault(("name", student["display_name"]), student)
    return found


def _classes_named(people: People, viewer: Viewer, class_name: str) -> list:
    """The viewer's classes (a teacher's own, an administrator's all) whose name reads as `class_name`."""
    key = class_names.name_key(class_name)
    classes = people.classes_taught_by(viewer["id"]) if viewer["role"] == "teacher" else people.all_classes()
    return [c for c in classes if class_names.name_key(c["name"]) == key]


def _apply(people: People, viewer: Viewer, class_name: str, teacher_username: str, plans: list) -> ImportResult:
    result = ImportResult(class_name=class_name)
    with people.transaction() as conn:
        result.class_id = _target_class(people, conn, viewer, class_name, teacher_username)
        for row, known, pin, digest in plans:
            name, number = clean_name(row.get("name"), "name"), row.get("student_number") or None
            account_id = known["id"] if known else _by_number(people, conn, viewer, row, number)
            if account_id is None:
                account_id = people.add_person(
                    conn,
                    username=f"s-{new_pseudonym()[:13]}",
                    role="student",
                    display_name=name,
                    pseudonym=new_pseudonym(),
                    password_hash=digest or NO_CREDENTIAL,
                    student_number=number,
                    printed_pin=pin or None,
                )
                result.added += 1
            else:
                columns = {
                    "display_name": name,
                    **({"student_number": number} if number else {}),
                    **({"password_hash": digest, "printed_pin": pin} if digest else {}),
                }
                people.update_person(conn, account_id, **columns)
                result.updated += 1
            people.enrol(conn, result.class_id, account_id)
            if pin:
                result.pins.append((name, number or "", pin))
    return result


def _by_number(people: People, conn, viewer: Viewer, row: Row, number: str | None) -> int | None:
    """A student already on the kit with this student number (moving class, or in two classes). A teacher
    may take in only a student of one of their own classes: else any teacher could reset anyone's PIN."""
    if not number:
        return None
    other = people.find_account(conn, "student_number", number)
    if other is None:
        return None
    mine = viewer["role"] == "admin" or any(
        people.teaches(viewer["id"], c["id"]) for c in people.classes_of_student(other["id"])
    )
    if other["role"] != "student" or not mine:
        raise RosterError(
            f"{row.file} cannot be imported: student number {number!r} belongs to someone outside your classes.",
            problems=[row.problem("student_number", "used by another class", "number_elsewhere", value=number)],
            fix="Check the student number, or ask the administrator to enrol this student.",
        )
    return other["id"]


def _target_class(people: People, conn, viewer: Viewer, class_name: str, teacher_username: str) -> int:
    classes = _classes_named(people, viewer, class_name)
    if len(classes) > 1:
        raise RosterError(
            f"{len(classes)} classes are named {class_name!r}; the import cannot tell which.",
            fix="Rename one of them, or import into a class with a unique name.",
        )
    if not classes:  # a new class: its name must not read as another teacher's class's
        class_names.check_free(conn, class_name)
    class_id = classes[0]["id"] if classes else people.add_class(conn, class_name)
    teachers = [viewer["id"]] if viewer["role"] == "teacher" else []
    if teacher_username:
        teacher = people.find_account(conn, "username", auth.normal_username(teacher_username))
        if teacher is None or teacher["role"] != "teacher":
            raise RosterError(
                f"There is no teacher with the user name {teacher_username!r}.",
                fix="Create the teacher on /admin/people first, or correct --teacher.",
            )
        teachers.append(teacher["id"])
    for teacher_id in teachers:
        people.add_teacher(conn, class_id, teacher_id)
    return class_id
