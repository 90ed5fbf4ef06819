"""The teachers' class CSV on a real SQLite file: encodings, bad input with line and column, all-or-nothing."""

from __future__ import annotations

import pytest

from appliance.errors import AccessDeniedError, PeopleError, RosterError
from appliance.services.people import access as people, class_roster, name_order
from appliance.services.people.access import CONSOLE


def _import(kit, text: str | bytes, class_name: str = "Grade 3 A", viewer=CONSOLE, file: str = "class.csv"):
    data = text.encode() if isinstance(text, str) else text
    return class_roster.import_file(kit.people, viewer, data, file, class_name)


def _problems(caught) -> list[tuple[int, int]]:
    return [(p.line, p.column) for p in caught.value.problems]


def test_roster_simple_imports_names_and_makes_pins_shown_once(kit):
    result = _import(kit, "name,student_number\nWang Fang,S1\n李小明,S2\n")
    assert (result.added, result.updated) == (2, 0)
    assert [(n, s) for n, s, _ in result.pins] == [("Wang Fang", "S1"), ("李小明", "S2")]
    assert all(len(pin) == 4 and pin.isdigit() for _, _, pin in result.pins)
    students = name_order.students_of(kit.people, result.class_id)
    assert [s["display_name"] for s in students] == ["Wang Fang", "李小明"]
    for student, (_, _, pin) in zip(students, result.pins):
        stored = kit.people.credential(student["id"])
        assert stored.startswith("$argon2id$") and pin not in stored
        assert len(student["pseudonym"]) == 36  # a UUID for later learning records


def test_roster_simple_accepts_utf8_bom_and_gbk_and_chinese_headers(kit):
    bom = _import(kit, "\ufeffname,pin\n王芳,4821\n".encode("utf-8"), "BOM class")
    gbk = _import(kit, "姓名,学号\n张伟,G1\n".encode("gbk"), "GBK class")
    assert kit.people.students_of(bom.class_id)[0]["display_name"] == "王芳"
    assert [(n, s) for n, s, _ in gbk.pins] == [("张伟", "G1")]
    assert bom.pins == [("王芳", "", "4821")]


def test_roster_simple_broken_encoding_names_line_and_column(kit):
    data = b"name\nAnna\n" + b"Bo\xff\xfe\xff\n"
    with pytest.raises(RosterError) as caught:
        _import(kit, data)
    assert _problems(caught) == [(3, 3)]
    assert "UTF-8" in caught.value.fix and kit.people.count("classes") == 0


def test_roster_simple_without_a_name_column_is_refused(kit):
    with pytest.raises(RosterError) as caught:
        _import(kit, "学校,pin,pin\n一小,1234,1234\n")
    assert _problems(caught) == [(1, 0)]
    assert caught.value.problems[0].key == "no_header" and "name column (name, 姓名" in caught.value.problems[0].message


def test_roster_simple_reports_every_bad_row_and_imports_nothing(kit):
    text = "name,student_number,pin\nAnna,1,1234\n,2,\nBo,1,12\nAnna,3,\n" + "X" * 81 + ",4,\n"
    with pytest.raises(RosterError) as caught:
        _import(kit, text)
    assert sorted(_problems(caught)) == [(3, 1), (4, 2), (4, 3), (5, 1), (6, 1)]
    assert kit.people.count("classes") == 0 and kit.accounts.count("student") == 0


def test_roster_simple_reimport_updates_instead_of_duplicating(kit):
    first = _import(kit, "name,student_number\nWang Fang,S1\nBo,\n")
    again = _import(kit, "name,student_number,pin\nWang Fang (3A),S1,\nBo,,9090\nCai,,\n")
    assert again.class_id == first.class_id
    assert (again.added, again.updated) == (1, 2)
    assert [n for n, _, _ in again.pins] == ["Bo", "Cai"]  # Wang Fang keeps the PIN she has
    names = [s["display_name"] for s in name_order.students_of(kit.people, first.class_id)]
    assert names == ["Wang Fang (3A)", "Bo", "Cai"]  # by 学号, then those without one by name


def test_roster_simple_teacher_imports_only_into_own_classes(kit):
    teacher_a = kit.people.person(people.create_teacher(kit.people, CONSOLE, "A", "teacher-a", "long password a"))
    teacher_b = kit.people.person(people.create_teacher(kit.people, CONSOLE, "B", "teacher-b", "long password b"))
    a = _import(kit, "name,student_number\nAnna,S9\n", "Shared name", viewer=teacher_a)
    with pytest.raises(PeopleError) as taken:  # A's class's name: B gets no second class of it (nor A's class)
        _import(kit, "name\nBo\n", "shared NAME", viewer=teacher_b)
    assert taken.value.code == "people.class_name_taken"
    b = _import(kit, "name\nBo\n", "B's class", viewer=teacher_b)
    assert a.class_id != b.class_id
    assert kit.people.teaches(teacher_b["id"], b.class_id) and not kit.people.teaches(teacher_b["id"], a.class_id)
    with pytest.raises(RosterError) as caught:  # taking A's student (and setting her PIN) by student number
        _import(kit, "name,student_number,pin\nAnna,S9,1111\n", "B's other class", viewer=teacher_b)
    assert _problems(caught) == [(2, 2)]
    assert [c["name"] for c in kit.people.classes_taught_by(teacher_b["id"])] == ["B's class"]


def test_roster_simple_students_cannot_import(kit):
    result = _import(kit, "name\nAnna\n")
    student = kit.people.students_of(result.class_id)[0]
    with pytest.raises(AccessDeniedError):
        _import(kit, "name\nMallory\n", viewer=student)
