"""The learning space's one clock (issue 16): the kit's wall time in its `time_zone` setting, whatever zone the
machine's system clock is set to (a UTC developer's box, an image before first boot, a kit whose provisioning could
not set the zone).

The rule (docs/settings.md, `time_zone`): what the learning space writes from its clock (lessons' `created_at`,
hand-ins, grades and returns, opens, bookmarks and notes, archive stamps) is naive `YYYY-MM-DD HH:MM[:SS]` wall time
in the kit's zone (`[kit] time_zone` of kit.toml, config field `time_zone`; Asia/Shanghai without one). Due dates
and publish times a teacher types are in that zone too, and every comparison ("late", "overdue", "new this week")
is made on this clock. Times kept as UTC (quizzes, learning records, notices, `publish_at`) are turned into it
here when they are compared with those; pages show both kinds through webcore/times.py's `when` filter. A kit whose
first boot set its system zone to `time_zone` wrote the same wall times before: nothing stored needs rewriting.

Must not import web or cli.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from appliance.config import zone_of

UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
WALL_FORMAT = "%Y-%m-%d %H:%M:%S"


def zone(settings: Any) -> dt.tzinfo:
    """The kit's time zone: settings' `time_zone` (config.zone_of)."""
    return zone_of(getattr(settings, "time_zone", None))


def wall(settings: Any, moment: dt.datetime | None = None) -> dt.datetime:
    """`moment` as naive wall time in the kit's zone, to the second: an aware moment is turned into the zone, a
    naive one is already the kit's wall time, None is now."""
    if moment is None:
        moment = dt.datetime.now(dt.timezone.utc)
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone(settings)).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def stamp(settings: Any, moment: dt.datetime | None = None) -> str:
    """`moment` (as `wall` takes it; None: now) as the learning space stores it: 'YYYY-MM-DD HH:MM:SS'."""
    return wall(settings, moment).strftime(WALL_FORMAT)


def utc_text(settings: Any, moment: dt.datetime | None = None) -> str:
    """`moment` (aware; naive: the kit's wall time; None: now) as storage keeps and compares publish times: ISO
    8601 UTC 'YYYY-MM-DDTHH:MM:SSZ'."""
    if moment is None:
        moment = dt.datetime.now(dt.timezone.utc)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(settings))
    return moment.astimezone(dt.timezone.utc).strftime(UTC_FORMAT)


def wall_of_utc(settings: Any, text: str) -> str:
    """A stored UTC time ('…Z' or '…+00:00') as the kit's wall time 'YYYY-MM-DD HH:MM:SS', to sort and compare it
    with the stamps this clock writes; text that is no such time comes back cut to that length, 'T' made ' '."""
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text[:19].replace("T", " ")
    if moment.tzinfo is None:  # already wall time
        return moment.strftime(WALL_FORMAT)
    return stamp(settings, moment)
