"""Sync windows as text ("Mon-Fri 16:00-07:00, Sat-Sun"): the one parser the kit (which keeps to them) and the
hub (which refuses what a kit would refuse before sending it) share.

Imports nothing of tpkit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60


@dataclasses.dataclass(frozen=True)
class Window:
    """Days of the week (0 = Monday) on which the window opens, and its minutes of the day. An end at or before
    the start runs past midnight into the next day (16:00-07:00); no times means the whole day."""

    days: frozenset[int]
    start_min: int = 0
    end_min: int = MINUTES_PER_DAY

    def contains(self, local: dt.datetime) -> bool:
        minute = local.hour * 60 + local.minute
        today, yesterday = local.weekday(), (local.weekday() - 1) % 7
        if self.start_min < self.end_min:
            return today in self.days and self.start_min <= minute < self.end_min
        return (today in self.days and minute >= self.start_min) or (yesterday in self.days and minute < self.end_min)


def _days(text: str) -> frozenset[int]:
    first, _, last = text.strip().lower().partition("-")
    if first[:3] not in DAYS or (last and last[:3] not in DAYS):
        raise ValueError(f"{text.strip()!r} is not a day or a day range such as Mon-Fri")
    start, end = DAYS.index(first[:3]), DAYS.index((last or first)[:3])
    return frozenset((start + n) % 7 for n in range((end - start) % 7 + 1))


def _minute(text: str) -> int:
    hours, _, minutes = text.partition(":")
    value = int(hours) * 60 + int(minutes or 0)
    if not 0 <= value <= MINUTES_PER_DAY or not 0 <= int(minutes or 0) < 60:
        raise ValueError(f"{text!r} is not a time of day")
    return value


def parse_windows(text: str) -> tuple[Window, ...]:
    """`"Mon-Fri 16:00-07:00, Sat-Sun"` as windows; empty text means always. ValueError naming the bad part."""
    windows = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        days, _, times = part.partition(" ")
        if not times.strip():
            windows.append(Window(_days(days)))
            continue
        start, sep, end = times.strip().partition("-")
        if not sep:
            raise ValueError(f"{part!r}: write the times as HH:MM-HH:MM")
        windows.append(Window(_days(days), _minute(start), _minute(end)))
    return tuple(windows)
