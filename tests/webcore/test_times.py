"""Times as people read them: a stored timestamp in the kit's time zone and the page's language (webcore/times.py),
and the `when` filter pages use."""

from __future__ import annotations

import datetime as dt

import pytest
from jinja2 import Environment

from appliance.webcore import times
from appliance.webcore.i18n import Messages, install

NOW = dt.datetime(2026, 12, 6, 4, 0, tzinfo=dt.timezone.utc)
ZONE = "Asia/Shanghai"


@pytest.mark.parametrize(
    ("stored", "zh", "en"),
    [
        ("2026-12-06T00:33:54Z", "12月6日 08:33", "6 Dec 08:33"),  # a quiz hand-in, a sync run: UTC
        ("2026-12-05T20:10:00+00:00", "12月6日 04:10", "6 Dec 04:10"),  # the next day in Beijing
        ("2025-12-06T00:33:54Z", "2025年12月6日 08:33", "6 Dec 2025 08:33"),  # another year: with the year
        ("2026-12-06 08:33:12", "12月6日 08:33", "6 Dec 08:33"),  # a hand-in: the kit's own wall time, as it is
        ("2026-12-06 23:59", "12月6日 23:59", "6 Dec 23:59"),  # a lesson's due time
        ("2026-12-06", "12月6日", "6 Dec"),  # a quiz's due date
        ("2026-12-06 00:33 UTC", "12月6日 08:33", "6 Dec 08:33"),  # the audit's last sign-in
    ],
)
def test_times_shown_in_the_kit_zone_and_language(stored, zh, en):
    assert times.shown(stored, "zh", ZONE, NOW) == zh
    assert times.shown(stored, "en", ZONE, NOW) == en


def test_times_year_turns_in_the_kit_zone():
    new_year = dt.datetime(2026, 12, 31, 20, 0, tzinfo=dt.timezone.utc)  # 1 January 2027, 04:00 in Beijing
    assert times.shown("2026-12-31T20:00:00Z", "zh", ZONE, new_year) == "1月1日 04:00"
    assert times.shown("2026-12-31T20:00:00Z", "zh", "UTC", new_year) == "12月31日 20:00"


@pytest.mark.parametrize("text", ["—", "later", "2026-13-45", "12"])
def test_times_anything_else_shown_as_it_is(text):
    assert times.shown(text, "zh", ZONE, NOW) == text
    assert times.shown(None, "zh", ZONE, NOW) == ""


def test_times_when_filter_reads_the_page_language_and_zone():
    env = Environment(autoescape=True)
    install(env, Messages("tpkit"))
    page = env.from_string("{{ stamp|when }}")
    stamp = f"{dt.date.today().year}-03-01T16:05:00Z"
    assert page.render(stamp=stamp, lang="zh", time_zone=ZONE) == "3月2日 00:05"
    assert page.render(stamp=stamp, lang="en", time_zone=ZONE) == "2 Mar 00:05"
    assert page.render(stamp=stamp, lang="en") == "1 Mar 16:05"  # no zone given (the hub): UTC
