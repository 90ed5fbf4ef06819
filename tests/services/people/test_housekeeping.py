"""Renaming, moving and removing children and classes on a real kit database: records follow the child, nothing a
child made is deleted, the confirmation counts what stays, and a teacher of another class is refused."""

from __future__ import annotations

import pytest

from appliance.errors import AccessDeniedError, NotVisibleError, PeopleError
from appliance.services.people import access, class_roster, housekeeping
from appliance.services.people.access import CONSOLE
from tests.roster_data import two_classes

NOW = "2026-12-06T01:00:00Z"


@pytest.fixture
def school(kit):
    ids = two_classes(kit, names_a=("Wang Fang", "李小明"), names_b=("Zhou Bo",))
    teachers = {tag: kit.people.person(ids[tag]["teacher"]) for tag in ("a", "b")}
    return kit, ids, teachers


def _work(kit, class_id: int, teacher_id: int, student_id: int) -> None:
    """A hand-in and a handed-in quiz attempt of the student in the class."""
    lesson = kit.lessons.add_lesson(class_id, teacher_id, "作文", "", True, None, [])
    kit.lessons.add_handin(lesson, student_id, "我的作文", NOW, False, [])
    with kit.quizzes.transaction() as conn:
        quiz = kit.quizzes.add_quiz(
            conn,
            class_id=class_id,
            author_id=teacher_id,
            title="口算",
            attempts_allowed=2,
            due_at=None,
            pass_mark=0.6,
            questions=[{"kind": "number", "prompt": "1+1", "answer": 2, "tolerance": 0, "points": 1}],
        )
        attempt, _ = kit.quizzes.start_attempt(conn, quiz, student_id, NOW, 2)
        kit.quizzes.hand_in(conn, attempt, NOW, 1, 1, [(0, "2", "2", 1, True)])


def test_housekeeping_rename_student_and_refusals(school):
    kit, ids, t = school
    wang, li = ids["a"]["students"]
    cls = ids["a"]["class"]
    housekeeping.rename_student(kit.people, t["a"], cls, wang, "  王芳 ", "20140001")
    assert kit.people.person(wang)["display_name"] == "王芳" and kit.people.person(wang)["student_number"] == "20140001"
    with pytest.raises(PeopleError) as same:
        housekeeping.rename_student(kit.people, t["a"], cls, li, "王芳", "")
    assert same.value.code == "people.same_name_in_class" and same.value.field == "name"
    with pytest.raises(PeopleError) as taken:
        housekeeping.rename_student(kit.people, t["a"], cls, li, "李小明", "20140001")
    assert taken.value.code == "people.student_number_taken" and taken.value.field == "student_number"
    housekeeping.rename_student(kit.people, t["a"], cls, wang, "王芳", "")  # no 学号: none kept
    assert kit.people.person(wang)["student_number"] is None
    with pytest.raises(NotVisibleError):  # the teacher of class B cannot rename a child of class A
        housekeeping.rename_student(kit.people, t["b"], cls, wang, "Somebody", "")
    assert kit.people.person(wang)["display_name"] == "王芳"


def test_housekeeping_move_student_keeps_account_pin_and_records(school):
    kit, ids, t = school
    wang = ids["a"]["students"][0]
    a, b = ids["a"]["class"], ids["b"]["class"]
    _work(kit, a, ids["a"]["teacher"], wang)
    with pytest.raises(NotVisibleError):  # teacher A does not teach class B
        housekeeping.move_student(kit.people, t["a"], a, wang, b)
    with pytest.raises(NotVisibleError):  # teacher B does not teach class A
        housekeeping.move_student(kit.people, t["b"], a, wang, b)
    with kit.people.transaction() as conn:  # the administrator makes A's teacher a teacher of B too
        kit.people.add_teacher(conn, b, ids["a"]["teacher"])
    assert [c["id"] for c in housekeeping.move_targets(kit.people, t["a"], a)] == [b]
    target = housekeeping.move_student(kit.people, t["a"], a, wang, b)
    assert target["id"] == b
    assert not kit.people.enrolled(wang, a) and kit.people.enrolled(wang, b)
    # the same account: the PIN still opens it, in the new class
    token = access.student_sign_in(kit, kit.people.class_by_id(b), kit.people.person(wang), ids["a"]["pins"][wang], "x")
    assert token
    # what the child made stays theirs, where it was made
    assert kit.people.records_in_class(a, wang) == {
        "students": 0,
        "lessons": 1,
        "quizzes": 1,
        "handins": 1,
        "attempts": 1,
        "family": 0,
    }
    with pytest.raises(PeopleError) as same:
        housekeeping.move_student(kit.people, t["a"], b, wang, b)
    assert same.value.code == "people.same_class"


def test_housekeeping_move_to_a_picture_class_clears_the_pin(school):
    kit, ids, t = school
    wang = ids["a"]["students"][0]
    a, b = ids["a"]["class"], ids["b"]["class"]
    access.set_signin_kind(kit.people, t["b"], b, "pictures")
    housekeeping.move_student(kit.people, CONSOLE, a, wang, b)
    assert not kit.people.person(wang)["has_credential"]  # the class page offers a picture code


def test_housekeeping_remove_student_confirms_counts_and_keeps_records(school):
    kit, ids, t = school
    wang, li = ids["a"]["students"]
    a = ids["a"]["class"]
    _work(kit, a, ids["a"]["teacher"], wang)
    with pytest.raises(NotVisibleError):
        housekeeping.student_removal(kit.people, t["b"], a, wang)
    found = housekeeping.student_removal(kit.people, t["a"], a, wang)
    assert found["student"]["id"] == wang and found["counts"]["handins"] == 1 and found["counts"]["attempts"] == 1
    with pytest.raises(NotVisibleError):
        housekeeping.remove_student(kit.people, t["b"], a, wang)
    housekeeping.remove_student(kit.people, t["a"], a, wang)
    assert [s["id"] for s in kit.people.students_of(a)] == [li]
    assert kit.people.person(wang) is not None and not kit.people.person(wang)["has_credential"]
    assert kit.people.records_in_class(a, wang)["handins"] == 1  # kept on the kit


def test_housekeeping_rename_and_remove_class(school):
    kit, ids, t = school
    a, b = ids["a"]["class"], ids["b"]["class"]
    _work(kit, a, ids["a"]["teacher"], ids["a"]["students"][0])
    housekeeping.rename_class(kit.people, t["a"], a, "三年级一班", "3")
    assert kit.people.class_by_id(a)["name"] == "三年级一班" and kit.people.class_by_id(a)["grade"] == "3"
    housekeeping.rename_class(kit.people, t["a"], a, "三年级一班", "3")  # its own name is not "taken"
    with pytest.raises(PeopleError) as taken:
        housekeeping.rename_class(kit.people, t["b"], b, "三年级一班", "")
    assert taken.value.code == "people.class_name_taken" and taken.value.field == "class_name"
    with pytest.raises(NotVisibleError):
        housekeeping.class_removal(kit.people, t["b"], a)
    counts = housekeeping.class_removal(kit.people, t["a"], a)["counts"]
    assert counts == {"students": 2, "lessons": 1, "quizzes": 1, "handins": 1, "attempts": 1, "family": 0}
    with pytest.raises(NotVisibleError):
        housekeeping.remove_class(kit.people, t["b"], a)
    housekeeping.remove_class(kit.people, t["a"], a)
    assert kit.people.class_by_id(a) is None and a not in [c["id"] for c in kit.people.all_classes()]
    assert access.classes_for(kit.people, t["a"]) == []
    assert kit.people.records_in_class(a) == counts  # archived, not deleted
    with pytest.raises(NotVisibleError):  # gone from the teacher's pages
        access.staff_class(kit.people, t["a"], a)
    # the name is free for next year's class
    csv = "name\n王小二\n".encode()
    result = class_roster.import_file(kit.people, t["a"], csv, "new.csv", "三年级一班")
    assert result.class_id != a


def test_housekeeping_only_the_administrator_sets_teachers(school):
    kit, ids, t = school
    a = ids["a"]["class"]
    with pytest.raises(AccessDeniedError):
        housekeeping.set_teachers(kit.people, t["a"], a, [ids["b"]["teacher"]])
    housekeeping.set_teachers(kit.people, CONSOLE, a, [ids["b"]["teacher"]])
    assert [p["id"] for p in kit.people.teachers_of(a)] == [ids["b"]["teacher"]]
    with pytest.raises(NotVisibleError):  # teacher A no longer teaches it
        access.staff_class(kit.people, t["a"], a)
    with pytest.raises(PeopleError) as wrong:
        housekeeping.set_teachers(kit.people, CONSOLE, a, [ids["a"]["students"][0]])
    assert wrong.value.code == "people.no_such_teacher"
    chosen = housekeeping.class_teachers(kit.people, CONSOLE, a)
    assert chosen["chosen"] == {ids["b"]["teacher"]} and len(chosen["all_teachers"]) == 2
    assert housekeeping.class_teachers(kit.people, t["b"], a)["all_teachers"] == []
