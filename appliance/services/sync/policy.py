"""When and how much a sync may download: time windows (`sync_windows`) and a monthly byte budget.

Pure functions of a clock reading; the engine asks before and during a run. The windows' text is parsed by
`protocol.sync_windows` (the hub checks it there too). Must not import web.
"""

from __future__ import annotations

import datetime as dt

from appliance.protocol.sync_windows import MINUTES_PER_DAY, Window, parse_windows

__all__ = ["Window", "in_window", "month_start", "next_opening", "parse_windows"]  # parse_windows: the wire's parser


def in_window(windows: tuple[Window, ...], now: dt.datetime) -> bool:
    """True when `now` (taken in the kit's local time) is inside a window, or no window is set."""
    local = now.astimezone()
    return not windows or any(w.contains(local) for w in windows)


def next_opening(windows: tuple[Window, ...], now: dt.datetime) -> dt.datetime | None:
    """The next minute at which a window is open (now when one is), within a week; None when never."""
    local = now.astimezone().replace(second=0, microsecond=0)
    for minutes in range(7 * MINUTES_PER_DAY + 1):
        moment = local + dt.timedelta(minutes=minutes)
        if in_window(windows, moment):
            return moment
    return None


def month_start(now: dt.datetime) -> dt.datetime:
    """Midnight UTC on the first day of `now`'s month: budgets count calendar months in UTC."""
    utc = now.astimezone(dt.timezone.utc)
    return utc.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
