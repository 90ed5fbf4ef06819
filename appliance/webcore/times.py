"""Times as people read them (issue 16): a stored timestamp shown in the page's time zone (the kit's setting
`time_zone`, the hub's `hub_time_zone`), in the page's language: zh `12月6日 08:33`, en `6 Dec 08:33`, with the
year when it is not this year. Templates use the `when` filter (webcore/i18n.py installs it).

What is stored: UTC with a `Z` or `+00:00` (quizzes, syncs, records), `… UTC` (older audit rows), or a naive
`YYYY-MM-DD HH:MM[:SS]` the kit wrote from its own clock (lessons, hand-ins, due dates), which is already the kit's
wall time (services/learning/clock.py writes it in `time_zone`, whatever the system's zone) and is shown as it is.
The hub's pages use the same filter with its `hub_time_zone`. Never imports services, web, hub or cli.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_STAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2}|UTC)?"
)


def parsed(value: object, zone: dt.tzinfo) -> tuple[dt.datetime, bool] | None:
    """(the moment as wall time in `zone`, whether it has a time of day), or None when `value` is no timestamp."""
    if isinstance(value, dt.datetime):
        moment = value.astimezone(zone) if value.tzinfo else value.replace(tzinfo=zone)
        return moment, True
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=zone), False
    found = _STAMP.fullmatch(str(value or "").strip())
    if not found:
        return None
    year, month, day, hour, minute, second, offset = found.groups()
    try:
        moment = dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        return None
    if offset is None:
        return moment.replace(tzinfo=zone), hour is not None
    if offset in ("Z", "UTC"):
        utc = dt.timezone.utc
    else:
        sign, digits = (1 if offset[0] == "+" else -1), offset[1:].replace(":", "")
        utc = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    return moment.replace(tzinfo=utc).astimezone(zone), True


def shown(value: object, lang: str, zone_name: str, now: dt.datetime | None = None) -> str:
    """`value` for a page in `lang`, in the zone named `zone_name`; "" for nothing, the text itself when it is no
    timestamp (never an error on a page)."""
    zone = zoneinfo.ZoneInfo(zone_name)
    found = parsed(value, zone)
    if found is None:
        return "" if value is None else str(value)
    moment, has_time = found
    this_year = (now or dt.datetime.now(dt.timezone.utc)).astimezone(zone).year
    clock = f" {moment:%H:%M}" if has_time else ""
    if lang == "zh":
        year = f"{moment.year}年" if moment.year != this_year else ""
        return f"{year}{moment.month}月{moment.day}日{clock}"
    year = f" {moment.year}" if moment.year != this_year else ""
    return f"{moment.day} {MONTHS_EN[moment.month - 1]}{year}{clock}"
