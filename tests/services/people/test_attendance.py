"""Who came: last sign-ins and a day's attendance from real sign-ins in a real kit database, the teacher's
corrections, and the day boundary in the kit's time zone (an explicit clock, never sleeps)."""

from __future__ import annotations

import datetime as dt
import types

import pytest

from appliance.config import CHINA_TIME
from appliance.errors import BadRequestError, NotVisibleError
from appliance.services.learning import clock as kit_clock
from appliance.services.people import access, attendance
from tests.roster_data import two_classes

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    """A UTC moment written as 2026-12-05T16:30."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def school(kit):
    ids = two_classes(kit, names_a=("Wang Fang", "李小明", "张伟"))
    return kit, ids, kit.people.person(ids["a"]["teacher"]), kit.people.person(ids["b"]["teacher"])


def sign_in(kit, ids, student_id: int, now: dt.datetime) -> None:
    """The child types their right PIN on /learn/<class A> at `now`."""
    cls = ids["a"]["class"]
    student = kit.people.person(student_id)
    access.student_sign_in(kit, kit.people.class_by_id(cls), student, ids["a"]["pins"][student_id], "10.0.0.7", now)


def _rows(found) -> dict[str, tuple]:
    return {r["student"]["display_name"]: (r["present"], r["signed_in"], r["marked"]) for r in found["rows"]}


def test_attendance_day_is_the_kit_day_in_china_time(school):
    kit, ids, teacher, _ = school
    wang, li, zhang = ids["a"]["students"]
    cls = ids["a"]["class"]
    # 16:30 UTC on 5 Dec is 00:30 on 6 Dec in Asia/Shanghai: that child came on the 6th, not the 5th
    sign_in(kit, ids, wang, now=at("2026-12-05T16:30"))
    # 15:59 UTC on 5 Dec is 23:59 on the 5th
    sign_in(kit, ids, li, now=at("2026-12-05T15:59"))
    now = at("2026-12-06T01:00")  # 09:00 on the 6th
    today = attendance.class_day(kit, teacher, cls, now=now)
    assert today["day"] == "2026-12-06" and today["is_today"] and today["next_day"] is None
    assert _rows(today) == {
        "Wang Fang": (True, "00:30", False),
        "李小明": (False, None, False),
        "张伟": (False, None, False),
    }
    assert today["present"] == 1
    before = attendance.class_day(kit, teacher, cls, "2026-12-05", now=now)
    assert _rows(before)["李小明"] == (True, "23:59", False) and not _rows(before)["Wang Fang"][0]
    assert before["previous_day"] == "2026-12-04" and before["next_day"] == "2026-12-06"


def test_attendance_zone_comes_from_the_setting_when_there_is_one():
    london = kit_clock.zone(types.SimpleNamespace(time_zone="Europe/London"))
    assert dt.datetime(2026, 12, 5, 16, 30, tzinfo=UTC).astimezone(london).date() == dt.date(2026, 12, 5)
    for settings in (types.SimpleNamespace(), types.SimpleNamespace(time_zone="")):  # no such setting: China time
        zone = kit_clock.zone(settings)
        assert dt.datetime(2026, 12, 5, 16, 30, tzinfo=UTC).astimezone(zone).date() == dt.date(2026, 12, 6)
    assert kit_clock.zone(types.SimpleNamespace(time_zone="Nowhere/Atlantis")) is CHINA_TIME


def test_attendance_teacher_corrections_win_over_sign_ins(school):
    kit, ids, teacher, _ = school
    wang, li, _ = ids["a"]["students"]
    cls = ids["a"]["class"]
    now = at("2026-12-06T02:00")
    sign_in(kit, ids, wang, now=at("2026-12-06T00:12"))
    attendance.mark(kit, teacher, cls, li, "2026-12-06", True, now=now)  # came, but her tablet was flat
    attendance.mark(kit, teacher, cls, wang, "2026-12-06", False, now=now)  # signed in, then went home ill
    rows = _rows(attendance.class_day(kit, teacher, cls, now=now))
    assert rows["李小明"] == (True, None, True) and rows["Wang Fang"] == (False, "08:12", True)
    attendance.mark(kit, teacher, cls, wang, "2026-12-06", True, now=now)  # changed her mind: the last word counts
    assert _rows(attendance.class_day(kit, teacher, cls, now=now))["Wang Fang"] == (True, "08:12", True)
    attendance.mark(kit, teacher, cls, wang, "2026-12-01", False, now=now)  # an earlier day: that day only
    assert _rows(attendance.class_day(kit, teacher, cls, "2026-12-01", now=now))["Wang Fang"] == (False, None, True)


def test_attendance_refuses_days_after_today_and_other_teachers(school):
    kit, ids, teacher, other = school
    cls, wang = ids["a"]["class"], ids["a"]["students"][0]
    now = at("2026-12-06T02:00")
    with pytest.raises(BadRequestError) as refused:
        attendance.class_day(kit, teacher, cls, "2026-12-07", now=now)
    assert refused.value.code == "attendance.bad_day" and refused.value.field == "day"
    with pytest.raises(BadRequestError):
        attendance.mark(kit, teacher, cls, wang, "6.12.2026", True, now=now)
    with pytest.raises(NotVisibleError):
        attendance.class_day(kit, other, cls, now=now)
    with pytest.raises(NotVisibleError):
        attendance.mark(kit, other, cls, wang, "2026-12-06", False, now=now)
    with pytest.raises(NotVisibleError):  # a child of class B on class A's list
        attendance.mark(kit, teacher, cls, ids["b"]["students"][0], "2026-12-06", True, now=now)


def test_attendance_last_sign_in_today_days_ago_or_never(school):
    kit, ids, _, _ = school
    wang, li, zhang = ids["a"]["students"]
    cls = ids["a"]["class"]
    sign_in(kit, ids, wang, now=at("2026-12-02T01:00"))
    sign_in(kit, ids, wang, now=at("2026-12-06T00:12"))
    sign_in(kit, ids, li, now=at("2026-12-03T09:30"))  # 17:30 on the 3rd
    last = attendance.last_signins(kit, cls, now=at("2026-12-06T03:00"))
    assert last[wang] == {"days": 0, "time": "08:12"}
    assert last[li] == {"days": 3, "time": "17:30"}
    assert zhang not in last


def test_attendance_sign_in_now_is_noted(school):
    kit, ids, teacher, _ = school
    wang = ids["a"]["students"][0]
    cls = ids["a"]["class"]
    klass, student = kit.people.class_by_id(cls), kit.people.person(wang)
    attendance_before = attendance.last_signins(kit, cls)
    assert wang not in attendance_before
    access.student_sign_in(kit, klass, student, ids["a"]["pins"][wang], "10.0.0.7")
    assert attendance.last_signins(kit, cls)[wang]["days"] == 0
    assert _rows(attendance.class_day(kit, teacher, cls))["Wang Fang"][0] is True


def test_attendance_csv_has_a_column_per_school_day(school):
    kit, ids, teacher, _ = school
    wang, li, zhang = ids["a"]["students"]
    cls = ids["a"]["class"]
    sign_in(kit, ids, wang, now=at("2026-12-04T00:30"))
    sign_in(kit, ids, li, now=at("2026-12-04T00:40"))
    sign_in(kit, ids, wang, now=at("2026-12-05T00:30"))
    attendance.mark(kit, teacher, cls, zhang, "2026-12-05", True, now=at("2026-12-05T03:00"))
    klass, rows = attendance.csv_rows(kit, teacher, cls, "2026-12-06", lambda key, **_: key, now=at("2026-12-06T03:00"))
    assert klass["id"] == cls
    assert rows[0] == [
        "attendance.csv_number",
        "attendance.csv_name",
        "2026-12-04",
        "2026-12-05",
        "attendance.csv_total",
    ]
    by_name = {row[1]: row[2:] for row in rows[1:]}
    present, absent = "attendance.csv_present", "attendance.csv_absent"
    assert by_name == {
        "Wang Fang": [present, present, "2"],
        "李小明": [present, absent, "1"],
        "张伟": [absent, present, "1"],
    }


def test_attendance_refuses_days_before_any_kit(school):
    kit, ids, teacher, _ = school
    for day in ("0001-01-01", "2019-12-31"):
        with pytest.raises(BadRequestError):
            attendance.class_day(kit, teacher, ids["a"]["class"], day, now=at("2026-12-06T02:00"))
    assert attendance.class_day(kit, teacher, ids["a"]["class"], "2020-01-01", now=at("2026-12-06T02:00"))["rows"]
