"""The counties' roster: a OneRoster 1.1 bulk CSV set (manifest, orgs, users, classes, courses,
academicSessions, enrollments), from a folder or a .zip. Idempotent on sourcedId; one transaction.

Must not import web or cli. Only students and teachers are imported (a county administrator in
users.csv never becomes an administrator of the kit); disabled users and rows marked `tobedeleted` are
skipped, and an enrolment marked `tobedeleted` is removed.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from appliance.errors import RosterError
from appliance.services.people import auth, class_names
from appliance.services.people.access import NAME_MAX_CHARS, new_pseudonym, require
from appliance.services.people.class_roster import ImportResult
from appliance.services.people.roster_reading import Problems, Row, decode, duplicates, read_rows
from appliance.storage.people import People

if TYPE_CHECKING:
    from appliance.services.people.access import Viewer

# The columns tpkit reads from each file (OneRoster 1.1 names more; extra columns are allowed).
COLUMNS = {
    "manifest.csv": ("propertyName", "value"),
    "orgs.csv": ("sourcedId", "name", "type"),
    "users.csv": ("sourcedId", "enabledUser", "role", "username", "givenName", "familyName"),
    "classes.csv": ("sourcedId", "title", "courseSourcedId", "schoolSourcedId", "termSourcedIds"),
    "courses.csv": ("sourcedId", "title"),
    "academicSessions.csv": ("sourcedId", "title", "type"),
    "enrollments.csv": ("sourcedId", "classSourcedId", "userSourcedId", "role"),
}
FILES = tuple(COLUMNS)
NEEDED = ("manifest.csv", "orgs.csv", "users.csv", "classes.csv", "enrollments.csv")
ROLES = ("student", "teacher")


def parse(files: dict[str, bytes]) -> dict[str, list[Row]]:
    """Checked rows of every file of the set; one RosterError listing every problem with file, line, column."""
    problems = Problems()
    for name in NEEDED:
        if name not in files:
            problems.append(_nowhere(name, "missing from the set (a OneRoster 1.1 bulk export has it)"))
    tables = {
        name: read_rows(decode(files[name], name), name, COLUMNS[name], None, problems)
        for name in FILES
        if name in files
    }
    problems.raise_if_any("The OneRoster set cannot be imported")  # rows make no sense under wrong headers
    _check_manifest(tables.get("manifest.csv", []), problems)
    for name, rows in tables.items():
        if name != "manifest.csv":
            duplicates(rows, "sourcedId", problems, "sourcedId")
            for row in rows:
                if not row.get("sourcedId"):
                    problems.append(row.problem("sourcedId", "empty sourcedId"))
    _check_users(tables.get("users.csv", []), problems)
    _check_references(tables, problems)
    _check_roles(tables, problems)
    problems.raise_if_any("The OneRoster set cannot be imported")
    return tables


def _nowhere(file: str, message: str):
    return Row(file, 0, {}, {}).problem("", message)


def _check_manifest(rows: list[Row], problems: Problems) -> None:
    version = {row.get("propertyName"): row for row in rows}.get("oneroster.version")
    if rows and (version is None or version.get("value") != "1.1"):
        where = (
            version.problem("value", f"oneroster.version is {version.get('value')!r}")
            if version
            else _nowhere("manifest.csv", "no oneroster.version row")
        )
        problems.append(type(where)(where.file, where.line, where.column, where.message + "; tpkit reads version 1.1"))


def _active(row: Row) -> bool:
    return row.get("status").lower() != "tobedeleted"


def _check_users(rows: list[Row], problems: Problems) -> None:
    for row in rows:
        if row.get("role") in ROLES and _active(row):
            name = display_name(row)
            if not name or len(name) > NAME_MAX_CHARS:
                problems.append(row.problem("givenName", f"the name must have 1 to {NAME_MAX_CHARS} characters"))
            if row.get("role") == "teacher" and not row.get("username"):
                problems.append(row.problem("username", "a teacher needs a username to sign in with"))
    duplicates([r for r in rows if r.get("role") == "teacher"], "username", problems, "username")


def _check_references(tables: dict[str, list[Row]], problems: Problems) -> None:
    ids = {name: {row.get("sourcedId") for row in rows} for name, rows in tables.items()}
    refs = [
        ("classes.csv", "schoolSourcedId", "orgs.csv"),
        ("classes.csv", "courseSourcedId", "courses.csv"),
        ("classes.csv", "termSourcedIds", "academicSessions.csv"),
        ("enrollments.csv", "classSourcedId", "classes.csv"),
        ("enrollments.csv", "userSourcedId", "users.csv"),
    ]
    for file, column, target in refs:
        if target not in ids:
            continue  # a file the manifest marks absent: nothing to check against
        for row in tables.get(file, []):
            for value in filter(None, (v.strip() for v in row.get(column).split(","))):
                if value not in ids[target]:
                    problems.append(row.problem(column, f"{value!r} is not a sourcedId in {target}"))


def _check_roles(tables: dict[str, list[Row]], problems: Problems) -> None:
    """A student enrolled as a class's teacher would see every classmate: refuse the set."""
    roles = {row.get("sourcedId"): row.get("role") for row in tables.get("users.csv", [])}
    for row in tables.get("enrollments.csv", []):
        user_role = roles.get(row.get("userSourcedId"))
        if row.get("role") in ROLES and user_role in ROLES and row.get("role") != user_role:
            problems.append(row.problem("role", f"enrolled as {row.get('role')} but users.csv says {user_role}"))


def display_name(row: Row) -> str:
    """'Given Family' for names in Latin script, 'FamilyGiven' (王小明) when both are Chinese."""
    given, family = " ".join(row.get("givenName").split()), " ".join(row.get("familyName").split())
    if given and family and all(_cjk(ch) for ch in given + family):
        return family + given
    return " ".join(part for part in (given, family) if part)


def _cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def import_set(people: People, viewer: Viewer | None, files: dict[str, bytes]) -> ImportResult:
    """Import a OneRoster set in one transaction (administrators only); nothing is kept when any row fails."""
    viewer = require(viewer, "admin")
    tables = parse(files)
    result = ImportResult(counts=dict.fromkeys(("orgs", "classes", "teachers", "students", "enrolments", "skipped"), 0))
    problems = Problems()
    try:
        with people.transaction() as conn:
            orgs = _orgs(people, conn, tables, result)
            users = _users(people, conn, tables["users.csv"], result, problems)
            classes = _classes(people, conn, tables, orgs, result)
            _enrolments(people, conn, tables["enrollments.csv"], users, classes, result)
            problems.raise_if_any("The OneRoster set cannot be imported")
    except sqlite3.IntegrityError as exc:
        raise RosterError(
            f"The OneRoster set clashes with people already on the kit: {exc}.",
            fix="Check usernames and identifiers against the kit's people; nothing was imported.",
        ) from exc
    return result


def _orgs(people: People, conn, tables, result: ImportResult) -> dict[str, int]:
    found = {}
    for row in tables["orgs.csv"]:
        if _active(row):
            found[row.get("sourcedId")] = people.upsert_org(
                conn, row.get("sourcedId"), row.get("name"), row.get("type")
            )
            result.counts["orgs"] += 1
    return found


def _users(people: People, conn, rows: list[Row], result: ImportResult, problems: Problems) -> dict[str, int]:
    found = {}
    for row in rows:
        role, source_id = row.get("role"), row.get("sourcedId")
        if role not in ROLES or not _active(row) or row.get("enabledUser").lower() == "false":
            result.counts["skipped"] += 1
            continue
        username = auth.normal_username(row.get("username") or f"or-{source_id}")  # as sign-in compares it
        number = row.get("identifier") or None if role == "student" else None
        known = people.find_account(conn, "source_id", source_id)
        for column, value in (("username", username), ("student_number", number)):
            other = people.find_account(conn, column, value) if value else None
            if other is not None and (known is None or other["id"] != known["id"]):
                problems.append(
                    row.problem(
                        "identifier" if column == "student_number" else column,
                        f"{value!r} is already used by another account on the kit",
                    )
                )
        if problems:
            continue
        if known is None:
            found[source_id] = people.add_person(
                conn,
                username=username,
                role=role,
                display_name=display_name(row),
                pseudonym=new_pseudonym(),
                student_number=number,
                source_id=source_id,
            )
        else:
            people.update_person(
                conn,
                known["id"],
                display_name=display_name(row),
                username=username,
                **({"student_number": number} if number else {}),
            )
            found[source_id] = known["id"]
        result.counts["teachers" if role == "teacher" else "students"] += 1
    return found


def _classes(people: People, conn, tables, orgs: dict[str, int], result: ImportResult) -> dict[str, int]:
    courses = {row.get("sourcedId"): row for row in tables.get("courses.csv", [])}
    terms = {row.get("sourcedId"): row.get("title") for row in tables.get("academicSessions.csv", [])}
    found = {}
    for row in tables["classes.csv"]:
        if not _active(row):
            continue
        course = courses.get(row.get("courseSourcedId"))
        grade = row.get("grades") or (course.get("grades") if course else "")
        term = ", ".join(terms.get(t.strip(), "") for t in row.get("termSourcedIds").split(",") if t.strip())
        found[row.get("sourcedId")] = people.add_class(
            conn,
            _unique_title(conn, row),
            grade,
            org_id=orgs.get(row.get("schoolSourcedId")),
            course=course.get("title") if course else "",
            term=term,
            source_id=row.get("sourcedId"),
        )
        result.counts["classes"] += 1
    return found


def _unique_title(conn, row: Row) -> str:
    """The class's title, or `title (2)`… when another class's name reads the same: a school's system may repeat
    titles across schools or terms, and the kit keeps its /learn buttons distinct rather than refuse the set."""
    return class_names.free_name(conn, row.get("title"), row.get("sourcedId"))


def _enrolments(people: People, conn, rows: list[Row], users, classes, result: ImportResult) -> None:
    for row in rows:
        user, klass = users.get(row.get("userSourcedId")), classes.get(row.get("classSourcedId"))
        if not _active(row):
            people.drop_enrolment(conn, row.get("sourcedId"))
        elif user is None or klass is None or row.get("role") not in ROLES:
            result.counts["skipped"] += 1
        elif row.get("role") == "teacher":
            people.add_teacher(conn, klass, user)
            result.counts["enrolments"] += 1
        else:
            people.enrol(conn, klass, user, row.get("sourcedId"))
            result.counts["enrolments"] += 1
