"""What the staff's people pages show: a class with its teachers, students, locked PINs, quizzes and lessons;
every teacher and class for the administrator. No HTTP here.

Must not import web or cli. Each function checks the viewer as services/people/access does.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from appliance.services.people import access, attendance, auth, name_order

if TYPE_CHECKING:
    from appliance.services.kit import Kit
    from appliance.services.people.access import Viewer

WRONG_PINS_WINDOW_S = 86400  # the class page counts wrong PINs of the last day


def class_page(kit: Kit, viewer: Viewer | None, class_id: int, day: str | None = None) -> dict[str, Any]:
    """A class of the viewer's (any class for an administrator), with its teachers, its students, their last
    sign-in and whose PIN is locked, wrong PINs in the last day (and how many pause sign-in for devices that typed
    one), the attendance of `day` (today when None), and its quizzes and lessons; NotVisibleError otherwise."""
    klass = access.staff_class(kit.people, viewer, class_id)
    students = name_order.students_of(kit.people, klass["id"])
    wrong_today, _ = kit.signin_failures.count_since(f"pin-class:{klass['id']}", time.time() - WRONG_PINS_WINDOW_S)
    return {
        "klass": klass,
        "teachers": kit.people.teachers_of(klass["id"]),
        "students": students,
        "locked": {s["id"] for s in students if auth.pin_locked(kit.signin_failures, s["id"])},
        "wrong_today": wrong_today,
        "paused_by": auth.class_pause(kit.signin_failures, klass["id"]),
        "quizzes": kit.quizzes.of_class(klass["id"]),
        "lessons": kit.lessons.of_class(klass["id"]),
        "last_signin": attendance.last_signins(kit, klass["id"]),
        "attendance": attendance.class_day(kit, viewer, klass["id"], day),
    }


def people_page(kit: Kit, viewer: Viewer | None) -> dict[str, Any]:
    """Every staff account and every class, for an administrator only."""
    access.require(viewer, "admin")
    return {"staff": kit.people.staff(), "classes": kit.people.all_classes()}
