"""When children see a lesson (issue 16): a new lesson is a draft until its teacher publishes it now or at a time in
the kit's time zone. Stored as ISO 8601 UTC in `lessons.publish_at` (NULL: a draft); storage/lessons.py's
PUBLISHED filter keeps the rest from children's lists, counts and "who is behind". No HTTP here.

Must not import web or cli.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from appliance.errors import LessonError
from appliance.services.learning import clock as kit_clock, lesson_edits

if TYPE_CHECKING:
    from appliance.services.kit import Kit
    from appliance.services.people.access import Viewer

STATES = ("draft", "scheduled", "published")  # messages lesson.publish.<state>
DEFAULT_CLOCK = "08:00"  # a publish day without a time: the start of the school day
CLOCK_PATTERN = re.compile(r"(\d{1,2}):(\d{2})")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def iso(when: dt.datetime) -> str:
    """An aware time as stored: 'YYYY-MM-DDTHH:MM:SSZ'."""
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def chosen(settings: Any, choice: str, day: str, clock: str, now: dt.datetime | None = None) -> str | None:
    """The `publish_at` a teacher chose on a form: None for a draft, now, or `day` (YYYY-MM-DD) at `clock` (HH:MM,
    DEFAULT_CLOCK when empty) in the kit's zone; LessonError beside the day or the time when they are not one."""
    if choice == "draft":
        return None
    if choice != "later":  # "now", and a form sent by a script written before drafts existed (no choice at all)
        return iso(now or utc_now())
    try:
        date = dt.date.fromisoformat(day.strip())
    except ValueError:
        raise LessonError(
            f"The publish day {day!r} is not a date.",
            fix="Pick the day from the calendar (year-month-day, e.g. 2026-12-08).",
            code="lesson.publish_day",
            field="publish_day",
        ) from None
    found = CLOCK_PATTERN.fullmatch(clock.strip() or DEFAULT_CLOCK)
    if not found or int(found[1]) > 23 or int(found[2]) > 59:
        raise LessonError(
            f"The publish time {clock!r} is not a time of day.",
            fix="Type the time as hours:minutes, e.g. 08:00.",
            code="lesson.publish_time",
            field="publish_time",
        )
    local = dt.datetime.combine(date, dt.time(int(found[1]), int(found[2])), tzinfo=kit_clock.zone(settings))
    return iso(local)


def state(lesson: Any, now: dt.datetime | None = None) -> str:
    """'draft', 'scheduled' (children see it from its publish_at on) or 'published'."""
    if lesson["publish_at"] is None:
        return "draft"
    return "scheduled" if lesson["publish_at"] > iso(now or utc_now()) else "published"


def local_parts(settings: Any, publish_at: str | None) -> tuple[str, str]:
    """(day YYYY-MM-DD, time HH:MM) of a stored publish time in the kit's zone, for the form; ('', '') for None."""
    if not publish_at:
        return "", ""
    when = dt.datetime.strptime(publish_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    local = when.astimezone(kit_clock.zone(settings))
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M")


def publish(kit: Kit, viewer: Viewer, lesson_id: int, choice: str, day: str, clock: str) -> None:
    """The teacher who made the lesson (or an administrator) publishes it now or at a time, or makes it a draft
    again (children who opened it keep what they handed in; it leaves their lists until published again)."""
    lesson_edits.owned_lesson(kit, viewer, lesson_id)
    kit.lessons.set_publish_at(lesson_id, chosen(kit.settings, choice, day, clock))
