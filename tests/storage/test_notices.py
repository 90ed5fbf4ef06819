"""The notices and notice_reads tables on a real SQLite file: a child sees notices to their classes meant for the
class or for them, newest first, with their own read mark; read marks are kept once; taking a notice back takes its
marks with it."""

from __future__ import annotations

import pytest

from appliance.storage.database import Database
from appliance.storage.notices import Notices
from appliance.storage.people import People


@pytest.fixture
def school(tmp_path):
    db = Database(tmp_path / "kit.sqlite3")
    db.migrate()
    people = People(db)
    with people.transaction() as conn:
        ids = {
            name: people.add_person(conn, username=name, role=role, display_name=name, pseudonym=f"p-{name}")
            for name, role in (("teacher", "teacher"), ("wang", "student"), ("li", "student"), ("zhou", "student"))
        }
        class_a, class_b = people.add_class(conn, "A"), people.add_class(conn, "B")
        for name, klass in (("wang", class_a), ("li", class_a), ("zhou", class_b)):
            people.enrol(conn, klass, ids[name])
    yield Notices(db), ids, class_a, class_b
    db.close()


def test_notices_a_child_sees_their_classes_notices_for_the_class_or_them(school):
    notices, ids, class_a, class_b = school
    to_class = notices.add(class_a, None, ids["teacher"], "Bring a ruler")
    to_li = notices.add(class_a, ids["li"], ids["teacher"], "Li, come and see me")
    notices.add(class_b, None, ids["teacher"], "Class B only")
    assert [n["id"] for n in notices.for_student(ids["wang"], 10)] == [to_class]
    assert [n["id"] for n in notices.for_student(ids["li"], 10)] == [to_li, to_class]
    assert [n["body"] for n in notices.for_student(ids["zhou"], 10)] == ["Class B only"]
    row = notices.notice(to_li)
    assert row["teacher_name"] == "teacher" and row["student_name"] == "li" and row["created_at"].endswith("Z")
    assert [n["id"] for n in notices.of_class(class_a, 10)] == [to_li, to_class]


def test_notices_read_marks_are_kept_once_and_go_with_their_notice(school):
    notices, ids, class_a, _ = school
    notice_id = notices.add(class_a, None, ids["teacher"], "Bring a ruler")
    notices.mark_read(notice_id, ids["wang"])
    first = notices.for_student(ids["wang"], 10)[0]["read_at"]
    notices.mark_read(notice_id, ids["wang"])
    assert notices.for_student(ids["wang"], 10)[0]["read_at"] == first is not None
    assert notices.for_student(ids["li"], 10)[0]["read_at"] is None
    assert notices.readers([notice_id]) == {notice_id: {ids["wang"]}}
    notices.remove(notice_id)
    assert notices.notice(notice_id) is None and notices.readers([notice_id]) == {notice_id: set()}
    assert notices.db.read().execute("SELECT count(*) FROM notice_reads").fetchone()[0] == 0
