"""Who came: each child's last sign-in and a class's attendance for a day, built from sign-ins at /learn and
corrected by the teacher (present or absent, per child and day). No HTTP here.

Days are the kit's days: `[kit] time_zone` of kit.toml (config field `time_zone`) when the settings have it, else
Asia/Shanghai, the time of every teaching point in China (no daylight saving). Must not import web or cli.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from appliance.errors import BadRequestError
from appliance.services.learning import clock as kit_clock
from appliance.services.people import access, name_order
from appliance.storage.attendance import Attendance, utc_text

if TYPE_CHECKING:
    from appliance.services.kit import Kit
    from appliance.services.people.access import Viewer

CSV_DAYS = 31  # the attendance CSV covers the month that ends with the day shown
# No kit signed anyone in before this day; earlier dates (0001-01-01) would fall off the calendar in UTC
FIRST_DAY = dt.date(2020, 1, 1)


def _from_utc_text(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else dt.datetime.now(dt.UTC)


def day_bounds(day: dt.date, zone: dt.tzinfo) -> tuple[str, str]:
    """The first moment of `day` in `zone` and of the next day, as stored (ISO UTC)."""
    start = dt.datetime.combine(day, dt.time(), zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone)
    return utc_text(start), utc_text(end)


def parse_day(text: str | None, today: dt.date) -> dt.date:
    """The day a page or form names (YYYY-MM-DD; today when none); BadRequestError for another text, a day after
    today (nobody has come yet) or before FIRST_DAY."""
    if not text:
        return today
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or not FIRST_DAY <= day <= today:
        raise BadRequestError(
            f"The day {text!r} cannot be shown: it is not a date like 2026-12-06 between {FIRST_DAY} and today.",
            fix="Pick a day from the calendar, today or before.",
            code="attendance.bad_day",
            field="day",
        )
    return day


def last_signins(kit: Kit, class_id: int, now: dt.datetime | None = None) -> dict[int, dict[str, Any]]:
    """{student id: how long ago they last signed in to the class}: {"days": 0, "time": "08:12"} today, {"days": n}
    n kit days ago; a child who never signed in is not in it."""
    zone = kit_clock.zone(kit.settings)
    today = _now(now).astimezone(zone).date()
    found = {}
    for student_id, at in Attendance(kit.db).last_signins(class_id).items():
        local = _from_utc_text(at).astimezone(zone)
        found[student_id] = {"days": max(0, (today - local.date()).days), "time": local.strftime("%H:%M")}
    return found


def class_day(
    kit: Kit, viewer: Viewer | None, class_id: int, day_text: str | None = None, now: dt.datetime | None = None
) -> dict[str, Any]:
    """A class's attendance for one kit day (today when `day_text` is empty): each child, in the class's order,
    with their first sign-in that day and whether they were there (the teacher's correction wins); the days before
    and after for the page's ‹ › links. For the class's teachers and administrators (NotVisibleError otherwise)."""
    klass = access.staff_class(kit.people, viewer, class_id)
    zone = kit_clock.zone(kit.settings)
    today = _now(now).astimezone(zone).date()
    day = parse_day(day_text, today)
    start, end = day_bounds(day, zone)
    store = Attendance(kit.db)
    first_signin: dict[int, str] = {}
    for row in store.signins_between(klass["id"], start, end):
        first_signin.setdefault(row["account_id"], _from_utc_text(row["at"]).astimezone(zone).strftime("%H:%M"))
    marks = {
        row["account_id"]: bool(row["present"]) for row in store.marks_between(klass["id"], *[day.isoformat()] * 2)
    }
    rows = []
    for student in name_order.students_of(kit.people, klass["id"]):
        signed_in = first_signin.get(student["id"])
        present = marks.get(student["id"], signed_in is not None)
        rows.append({"student": student, "signed_in": signed_in, "present": present, "marked": student["id"] in marks})
    return {
        "klass": klass,
        "day": day.isoformat(),
        "today": today.isoformat(),
        "is_today": day == today,
        "previous_day": (day - dt.timedelta(days=1)).isoformat(),
        "next_day": (day + dt.timedelta(days=1)).isoformat() if day < today else None,
        "rows": rows,
        "present": sum(1 for row in rows if row["present"]),
    }


def mark(
    kit: Kit,
    viewer: Viewer | None,
    class_id: int,
    student_id: int,
    day_text: str,
    present: bool,
    now: dt.datetime | None = None,
) -> str:
    """A teacher of the class (or an administrator) says a child was there, or was not, on a kit day (today or
    before); the day (YYYY-MM-DD). NotVisibleError for a child not in the class."""
    klass, student = access.class_student(kit.people, viewer, class_id, student_id)
    moment = _now(now)
    day = parse_day(day_text, moment.astimezone(kit_clock.zone(kit.settings)).date())
    assert viewer is not None  # class_student let a staff account through
    Attendance(kit.db).mark(klass["id"], student["id"], day.isoformat(), present, viewer["id"], utc_text(moment))
    return day.isoformat()


def csv_rows(
    kit: Kit, viewer: Viewer | None, class_id: int, day_text: str | None, t, now: dt.datetime | None = None
) -> tuple[Any, list[list[str]]]:
    """(class, rows) of the attendance CSV: 学号, name, then one column per day of the CSV_DAYS ending with the day
    asked for on which anyone signed in or was marked (school days), then the days each child was there. `t`
    words the headings and marks in the page's language."""
    klass = access.staff_class(kit.people, viewer, class_id)
    zone = kit_clock.zone(kit.settings)
    last = parse_day(day_text, _now(now).astimezone(zone).date())
    days = [last - dt.timedelta(days=n) for n in range(CSV_DAYS - 1, -1, -1)]
    store = Attendance(kit.db)
    seen: dict[tuple[int, str], bool] = {}
    start, end = day_bounds(days[0], zone)[0], day_bounds(last, zone)[1]
    for row in store.signins_between(klass["id"], start, end):
        seen[(row["account_id"], _from_utc_text(row["at"]).astimezone(zone).date().isoformat())] = True
    for row in store.marks_between(klass["id"], days[0].isoformat(), last.isoformat()):
        seen[(row["account_id"], row["day"])] = bool(row["present"])
    school_days = [d.isoformat() for d in days if any(day == d.isoformat() for _, day in seen)]
    rows = [[t("attendance.csv_number"), t("attendance.csv_name"), *school_days, t("attendance.csv_total")]]
    for student in name_order.students_of(kit.people, klass["id"]):
        there = [seen.get((student["id"], day), False) for day in school_days]
        marks = [t("attendance.csv_present") if was else t("attendance.csv_absent") for was in there]
        rows.append([student["student_number"] or "", student["display_name"], *marks, str(sum(there))])
    return klass, rows
