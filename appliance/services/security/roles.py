"""The audit's view of people: who holds which role (administrators, teachers, pupils per class), accounts still on
a one-time password or never used, and the sign-in throttles holding anyone back now.

Must not import web, hub or cli. Reads accounts, sessions and failed sign-ins; changes nothing.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from typing import TYPE_CHECKING

from appliance.edges import passwords
from appliance.services.people import auth
from appliance.services.security.findings import Finding, Machine

if TYPE_CHECKING:
    from appliance.services.kit import Kit

# A kit needs one administrator and perhaps a stand-in (the head teacher); each one more is another password that
# opens everything.
ADMINS_MAX = 2
NOT_SEEN = "—"  # no session kept: the kit keeps sessions, not a history of sign-ins


def _when(ends: float | None) -> str:
    """When the account last signed in, from its newest session's end (staff sessions last SESSION_LIFETIME_S)."""
    if ends is None:
        return NOT_SEEN
    started = dt.datetime.fromtimestamp(ends - auth.SESSION_LIFETIME_S, dt.UTC)
    return started.strftime("%Y-%m-%d %H:%M UTC")


def check(kit: Kit, machine: Machine) -> list[Finding]:
    """Administrators and teachers with their last sign-in, pupils per class, and the accounts to look at."""
    staff, seen = kit.people.staff(), kit.accounts.newest_session_ends()
    rows = {
        role: tuple((p["username"], p["display_name"], _when(seen.get(p["id"]))) for p in staff if p["role"] == role)
        for role in ("admin", "teacher")
    }
    admins = len(rows["admin"])
    findings = [
        Finding(
            "roles",
            "audit.roles.admins" if admins <= ADMINS_MAX else "audit.roles.many_admins",
            "ok" if admins <= ADMINS_MAX else "warning",
            {"count": admins, "max": ADMINS_MAX},
            rows["admin"],
        ),
        Finding("roles", "audit.roles.teachers", "ok", {"count": len(rows["teacher"])}, rows["teacher"]),
    ]
    classes = tuple((c["name"], str(len(kit.people.students_of(c["id"])))) for c in kit.people.all_classes())
    findings.append(Finding("roles", "audit.roles.classes", "ok", {"count": len(classes)}, classes))
    first = {role: [p["username"] for p in staff if p["role"] == role and p["must_change_password"]] for role in rows}
    if first["admin"]:
        findings.append(_named("audit.roles.admin_first_password", "problem", first["admin"]))
    if first["teacher"]:
        findings.append(_named("audit.roles.teacher_first_password", "warning", first["teacher"]))
    unused = [p["username"] for p in staff if not p["has_credential"] and p["id"] not in seen]
    if unused:
        findings.append(_named("audit.roles.no_password", "warning", unused))
    return findings


def _named(key: str, level: str, usernames: list[str]) -> Finding:
    return Finding("roles", key, level, {"count": len(usernames)}, tuple((name,) for name in usernames))


def throttles(kit: Kit, machine: Machine, now: float | None = None) -> list[Finding]:
    """Sign-in throttles holding anyone back now: classes paused, PINs locked, staff names and devices waiting."""
    now = time.time() if now is None else now
    failures = kit.signin_failures
    paused = tuple(
        (c["name"], str(count)) for c in kit.people.all_classes() if (count := auth.class_pause(failures, c["id"], now))
    )
    subjects = failures.subjects_since(now - auth.FAILURES_KEPT_S)
    locked = [s for s in subjects if s.startswith("pin:") and auth.pin_locked(failures, int(s[4:]), now)]
    waiting = tuple(
        (subject.split(":", 1)[1], f"{math.ceil(wait)} s")
        for subject in sorted(subjects)
        for prefix, throttle in THROTTLES
        if subject.startswith(prefix) and (wait := passwords.wait_s(failures, subject, now, throttle)) > 0
    )
    findings = []
    if paused:
        findings.append(Finding("signin", "audit.signin.classes_paused", "warning", {"count": len(paused)}, paused))
    if locked:
        findings.append(Finding("signin", "audit.signin.pins_locked", "warning", {"count": len(locked)}))
    if waiting:
        findings.append(Finding("signin", "audit.signin.staff_waiting", "warning", {"count": len(waiting)}, waiting))
    return findings or [Finding("signin", "audit.signin.ok", "ok")]


# The password throttles' counters (edges/passwords.password_subjects): a name from one device, a device, a name.
THROTTLES = (
    ("account-client:", passwords.PASSWORD_THROTTLE),
    ("client:", passwords.PASSWORD_DEVICE_THROTTLE),
    ("account:", passwords.PASSWORD_ACCOUNT_THROTTLE),
)
