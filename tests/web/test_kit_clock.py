"""One clock for the learning space (issue 16, "times in the kit's time zone"): on a machine whose system zone is not
the kit's `time_zone` (UTC, as on a developer's box, an image before first boot or a kit whose provisioning could not
set the zone; and a zone ahead of Shanghai), lessons, hand-ins, due dates and notices are the kit's wall time in
Asia/Shanghai, and "late" and "overdue" are decided on that clock. Real kit, SQLite, uvicorn, sessions and CSRF; the
process's zone is set with TZ and time.tzset() and restored afterwards."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
import zoneinfo

import pytest

from appliance.config import CHINA_TIME
from appliance.services.learning import clock, lessons, notebook, notices, quizzes, records
from tests.web.lesson_data import hand_in, make_lesson
from tests.web.people_clients import TEACHER_PASSWORD, classroom, staff_client, student_client

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc
ROSTER = "name,student_number,pin\n张伟,1,2580\n李娜,2,2581\n"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@pytest.fixture(params=["UTC", "Pacific/Kiritimati"])
def system_zone(request):
    """The process's local zone (what `datetime.now()`, `.astimezone()` and SQLite's 'localtime' use) set to one
    that is not the kit's: UTC (8 h behind Shanghai) and UTC+14 (6 h ahead)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    yield request.param
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.fixture
def school(tmp_path, system_zone):
    kit, teacher_id, result = classroom(tmp_path, ROSTER, "三年级一班")
    assert kit.settings.time_zone == "Asia/Shanghai"  # the default: no kit.toml names one
    ids = {s["display_name"]: s["id"] for s in kit.people.students_of(result.class_id)}
    yield kit, teacher_id, result.class_id, ids
    kit.close()


@pytest.fixture
def live_school(school):
    from appliance.web.app import create_app
    from tests.conftest import LiveServer

    kit, teacher_id, class_id, ids = school
    with LiveServer(create_app(kit, watch_library=False)) as server:
        teacher = staff_client(server.url, "li.wei", TEACHER_PASSWORD)
        child = student_client(server.url, class_id, ids["张伟"], "2580")
        yield kit, teacher, child, class_id, ids
        teacher.close()
        child.close()


def _shanghai_minutes(before: dt.datetime, after: dt.datetime) -> set[str]:
    """'YYYY-MM-DD HH:MM' of every Shanghai minute from `before` to `after` (a request may cross a minute)."""
    found, moment = set(), before.astimezone(SHANGHAI).replace(second=0, microsecond=0)
    while moment <= after.astimezone(SHANGHAI):
        found.add(f"{moment:%Y-%m-%d %H:%M}")
        moment += dt.timedelta(minutes=1)
    return found


def _shown_en(minute: str) -> str:
    """A Shanghai 'YYYY-MM-DD HH:MM' as an English page shows it this year (webcore/times.py): '6 Dec 19:31'."""
    moment = dt.datetime.strptime(minute, "%Y-%m-%d %H:%M")
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment:%H:%M}"


def test_due_today_2359_in_shanghai_is_decided_on_the_kit_clock(school):
    """A lesson due "today 23:59" Shanghai time is not overdue at 15:30 UTC (23:30 in Shanghai) and is at 16:30 UTC
    (00:30 the next day there); a hand-in at 16:30 UTC is late and stored as Shanghai wall time. The day is in the
    future: the lesson is created at the real time, and a `when` before its creation would not list it (with the
    day of writing, 2026-12-06, the test failed from 15:30 UTC that day on)."""
    kit, teacher_id, class_id, ids = school
    teacher = kit.people.person(teacher_id)
    child = kit.people.person(ids["张伟"])
    lesson_id = lessons.create(kit.people, kit.lessons, teacher, class_id, "画水的循环", "", True, "2030-12-06", [])
    assert kit.lessons.lesson(lesson_id)["due_at"] == "2030-12-06 23:59"
    evening = lessons.my_space(kit, child, when=dt.datetime(2030, 12, 6, 15, 30, tzinfo=UTC))
    assert [(e["lesson"]["id"], e["overdue"]) for e in evening["due"]] == [(lesson_id, False)]
    midnight = lessons.my_space(kit, child, when=dt.datetime(2030, 12, 6, 16, 30, tzinfo=UTC))
    assert [(e["lesson"]["id"], e["overdue"]) for e in midnight["due"]] == [(lesson_id, True)]
    handin_id = lessons.hand_in(
        kit, child, lesson_id, "水的旅行", [], when=dt.datetime(2030, 12, 6, 16, 30, tzinfo=UTC)
    )
    handin = kit.lessons.handin(handin_id)
    assert handin["handed_at"] == "2030-12-07 00:30:00" and handin["late"]


def test_times_of_the_learning_space_are_shanghai_wall_time(live_school):
    """With the real clock: a lesson made and a hand-in made now show the Shanghai wall time on the teacher's pages
    (8 h off before on a UTC machine); a lesson due two hours ago in Shanghai is overdue and a hand-in to it late,
    one due in two hours is neither, whatever the system's zone."""
    kit, teacher, child, class_id, ids = live_school
    before = dt.datetime.now(UTC)
    shanghai_now = before.astimezone(SHANGHAI)
    past = make_lesson(teacher, class_id, "Past", due=f"{shanghai_now - dt.timedelta(hours=2):%Y-%m-%d %H:%M}")
    later = make_lesson(teacher, class_id, "Later", due=f"{shanghai_now + dt.timedelta(hours=2):%Y-%m-%d %H:%M}")
    page = child.get("/me")
    assert page.status_code == 200
    cards = {title: card for card, title in _cards(page.text)}
    assert "overdue" in cards["Past"] and "overdue" not in cards["Later"]
    space = lessons.my_space(kit, kit.people.person(ids["张伟"]))
    assert {e["lesson"]["title"]: e["overdue"] for e in space["due"]} == {"Past": True, "Later": False}

    for lesson_id in (past, later):
        assert hand_in(child, lesson_id, "我画了水的旅行。").status_code == 303
    after = dt.datetime.now(UTC)
    minutes = _shanghai_minutes(before, after)
    for lesson_id, late in ((past, True), (later, False)):
        assert kit.lessons.lesson(lesson_id)["created_at"] in minutes  # written by the kit's clock, not SQLite's
        (handin,) = kit.lessons.handins_of(lesson_id, ids["张伟"])
        assert handin["handed_at"][:16] in minutes and bool(handin["late"]) is late
        graded = teacher.get(f"/teach/handins/{handin['id']}")
        assert graded.status_code == 200
        shown = re.search(r"Handed in ([^<·]+?)\s*(?:·|<)", graded.text)[1]
        assert shown in {_shown_en(minute) for minute in minutes}, shown
        assert ("late</b>" in graded.text) is late


def test_a_notice_shows_the_shanghai_time_it_was_posted(live_school):
    """Notices are kept as UTC; the teacher's and the child's pages show them in the kit's zone (through `when`)."""
    kit, teacher, child, class_id, ids = live_school
    before = dt.datetime.now(UTC)
    notices.post(kit, kit.people.person(kit.accounts.by_username("li.wei")["id"]), class_id, "明天带水彩笔。", None)
    after = dt.datetime.now(UTC)
    shown = {_shown_en(minute) for minute in _shanghai_minutes(before, after)}
    mine = child.get("/me").text
    assert any(f"· {when}" in mine for when in shown), re.findall(r"明天带水彩笔.{0,300}", mine, re.S)
    theirs = teacher.get(f"/teach/{class_id}").text
    assert any(f"{when} ·" in theirs for when in shown)


def test_a_quiz_handed_in_after_its_due_day_in_shanghai_is_late(school):
    """Quizzes keep UTC: 23:30 UTC on the due day is 07:30 the next morning in Shanghai, so late; 15:30 UTC on the
    due day (23:30 there) is not. (The UTC day was compared with the due date before.)"""
    kit, teacher_id, class_id, ids = school
    with kit.quizzes.transaction() as conn:
        quiz = kit.quizzes.add_quiz(
            conn,
            class_id=class_id,
            author_id=teacher_id,
            title="口算",
            attempts_allowed=1,
            due_at="2026-12-06",
            pass_mark=0.6,
            questions=[{"kind": "number", "prompt": "1+1", "answer": 2, "tolerance": 0, "points": 1}],
        )
        for name, at in (("张伟", "2026-12-06T23:30:00Z"), ("李娜", "2026-12-06T15:30:00Z")):
            attempt, _ = kit.quizzes.start_attempt(conn, quiz, ids[name], at, 1)
            kit.quizzes.hand_in(conn, attempt, at, 1, 1, [(0, "2", "2", 1, True)])
    rows = quizzes.class_scores(kit, kit.people.person(teacher_id), quiz)
    assert {row["student"]["display_name"]: row["late"] for row in rows} == {"张伟": True, "李娜": False}


def test_my_history_is_in_shanghai_time(school):
    """My space's history mixes lesson opens (the kit's wall time) and library reads (learning records, UTC): both
    are Shanghai wall time, and ordered on that one clock."""
    kit, teacher_id, class_id, ids = school
    child = kit.people.person(ids["张伟"])
    lesson_id = lessons.create(
        kit.people, kit.lessons, kit.people.person(teacher_id), class_id, "水", "", False, "", []
    )
    before = dt.datetime.now(UTC)
    lessons.open_lesson(kit, child, lesson_id)
    after = dt.datetime.now(UTC)
    read_at = before - dt.timedelta(hours=1)  # an hour before the lesson was opened
    records.record_open(kit, child, "article", "demo/A/Water_cycle", "Water cycle", now=read_at)
    history = notebook.history(kit, child)
    assert [(entry["kind"], entry["title"]) for entry in history] == [("lesson", "水"), ("library", "A/Water_cycle")]
    assert history[0]["at"] in _shanghai_minutes(before, after)
    assert history[1]["at"] == f"{read_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"


def test_the_clock_helpers():
    """Naive is the kit's wall time; aware is turned into it; stored UTC is read as it."""
    settings = type("Settings", (), {"time_zone": "Asia/Shanghai"})()
    at = dt.datetime(2026, 12, 6, 16, 30, 5, 123, tzinfo=UTC)
    assert clock.wall(settings, at) == dt.datetime(2026, 12, 7, 0, 30, 5)
    assert clock.wall(settings, dt.datetime(2026, 12, 6, 8, 0)) == dt.datetime(2026, 12, 6, 8, 0)
    assert clock.utc_text(settings, dt.datetime(2026, 12, 7, 0, 30)) == "2026-12-06T16:30:00Z"
    assert clock.utc_text(settings, at) == "2026-12-06T16:30:05Z"
    assert clock.wall_of_utc(settings, "2026-12-06T16:30:05Z") == "2026-12-07 00:30:05"
    assert clock.wall_of_utc(settings, "2026-12-06T16:30:05+00:00") == "2026-12-07 00:30:05"
    assert clock.wall_of_utc(settings, "not a time") == "not a time"
    assert clock.zone(type("Settings", (), {"time_zone": "Nowhere/Atlantis"})()) is CHINA_TIME
    assert clock.zone(None) == zoneinfo.ZoneInfo("Asia/Shanghai")


def _cards(page: str) -> list[tuple[str, str]]:
    """(card html, title) of each lesson card on My space."""
    return [
        (card, re.search(r'<span class="title">([^<]+)</span>', card)[1])
        for card in re.findall(r'<li class="lesson-card">.*?</li>', page, re.S)
    ]
