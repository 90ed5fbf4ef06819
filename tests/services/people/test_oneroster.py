"""The counties' OneRoster 1.1 CSV set on a real SQLite file: idempotent on sourcedId, all-or-nothing."""

from __future__ import annotations

import pytest

from appliance.errors import AccessDeniedError, RosterError
from appliance.services.people import access as people, name_order, oneroster
from appliance.services.people.access import CONSOLE
from appliance.services.people.roster_reading import read_set
from tests.roster_data import ENROLLMENTS, USERS, oneroster_files, write_folder, zipped


def _tables(kit) -> dict[str, int]:
    return {name: kit.people.count(name) for name in ("orgs", "classes", "class_teachers", "enrolments")} | {
        "students": kit.accounts.count("student"),
        "teachers": kit.accounts.count("teacher"),
    }


def _locations(caught) -> list[tuple[str, int, int]]:
    return [(p.file, p.line, p.column) for p in caught.value.problems]


def test_oneroster_imports_a_folder_set(kit, tmp_path):
    folder = write_folder(tmp_path / "county", oneroster_files())
    result = oneroster.import_set(kit.people, CONSOLE, read_set(folder, oneroster.FILES))
    assert result.counts == {"orgs": 1, "classes": 1, "teachers": 1, "students": 2, "enrolments": 3, "skipped": 3}
    klass = kit.people.all_classes()[0]
    assert (klass["name"], klass["grade"], klass["course"], klass["term"]) == (
        "三年级一班",
        "03",
        "Grade 3",
        "2026 autumn",
    )
    students = name_order.students_of(kit.people, klass["id"])
    assert [(s["display_name"], s["student_number"], s["has_credential"]) for s in students] == [
        ("王小明", "2026001", 0),
        ("Anna Li", "2026002", 0),
    ]  # no PIN until the teacher gives them; by 学号 (OneRoster's identifier)
    teacher = kit.accounts.by_username("zhang.li")
    assert teacher["role"] == "teacher" and kit.people.teaches(teacher["id"], klass["id"])
    assert kit.accounts.by_username("county.admin") is None  # a county administrator is not the kit's


def test_oneroster_reimport_is_idempotent_and_applies_changes(kit):
    oneroster.import_set(kit.people, CONSOLE, oneroster_files())
    before = _tables(kit)
    pseudonyms = {s["pseudonym"] for s in kit.people.students_of(kit.people.all_classes()[0]["id"])}
    oneroster.import_set(kit.people, CONSOLE, oneroster_files())
    assert _tables(kit) == before
    renamed = USERS.replace("s-2,,,true,org-1,student,,,Anna,Li", "s-2,,,true,org-1,student,,,Annie,Li")
    dropped = ENROLLMENTS.replace("e-2,,,", "e-2,tobedeleted,,")
    oneroster.import_set(kit.people, CONSOLE, oneroster_files(users=renamed, enrollments=dropped))
    students = kit.people.students_of(kit.people.all_classes()[0]["id"])
    assert [s["display_name"] for s in students] == ["Annie Li"]
    assert students[0]["pseudonym"] in pseudonyms  # the same person keeps the same pseudonymous id


def test_oneroster_reads_a_zip_with_a_top_folder(kit, tmp_path):
    archive = tmp_path / "county.zip"
    archive.write_bytes(zipped(oneroster_files(), inner="export-2026/"))
    oneroster.import_set(kit.people, CONSOLE, read_set(archive, oneroster.FILES))
    assert kit.accounts.count("student") == 2


def test_oneroster_missing_file_and_column_are_named(kit):
    users = USERS.replace("givenName", "firstName")
    with pytest.raises(RosterError) as caught:
        oneroster.import_set(kit.people, CONSOLE, oneroster_files(users=users, orgs=None))
    assert _locations(caught) == [("orgs.csv", 0, 0), ("users.csv", 1, 0)]
    assert "givenName" in caught.value.problems[1].message
    assert _tables(kit)["students"] == 0


def test_oneroster_bad_rows_are_listed_with_line_and_column(kit):
    users = USERS + "s-1,,,true,org-1,student,,,Dup,Id,,2026009,,,,,03,\n"
    enrollments = ENROLLMENTS + "e-9,,,c-404,org-1,s-2,student,false,,\ne-10,,,c-1,org-1,s-2,teacher,false,,\n"
    with pytest.raises(RosterError) as caught:
        oneroster.import_set(kit.people, CONSOLE, oneroster_files(users=users, enrollments=enrollments))
    assert _locations(caught) == [("users.csv", 7, 1), ("enrollments.csv", 6, 4), ("enrollments.csv", 7, 7)]
    assert "'c-404' is not a sourcedId in classes.csv" in caught.value.problems[1].message
    assert "enrolled as teacher but users.csv says student" in caught.value.problems[2].message


def test_oneroster_clash_with_the_kit_rolls_back_everything(kit):
    people.create_teacher(kit.people, CONSOLE, "Local", "zhang.li", "a long password")
    with pytest.raises(RosterError) as caught:
        oneroster.import_set(kit.people, CONSOLE, oneroster_files())
    assert _locations(caught) == [("users.csv", 2, 7)]
    assert _tables(kit) == {"orgs": 0, "classes": 0, "class_teachers": 0, "enrolments": 0, "students": 0, "teachers": 1}


def test_oneroster_gbk_manifest_and_wrong_version(kit):
    manifest = "propertyName,value\noneroster.version,1.0\nsource.systemName,县教育局\n"
    files = oneroster_files(manifest=manifest)
    files["manifest.csv"] = manifest.encode("gbk")
    with pytest.raises(RosterError) as caught:
        oneroster.import_set(kit.people, CONSOLE, files)
    assert _locations(caught) == [("manifest.csv", 2, 2)]


def test_oneroster_only_administrators_import(kit):
    teacher = kit.people.person(people.create_teacher(kit.people, CONSOLE, "T", "teacher-t", "a long password"))
    with pytest.raises(AccessDeniedError):
        oneroster.import_set(kit.people, teacher, oneroster_files())
