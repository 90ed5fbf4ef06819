"""Server-rendered SVG line charts (no JavaScript): one value of a kit's heartbeats, or of its days, over time.

Must not import web or cli.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from html import escape

from appliance.hub.i18n import translator

WIDTH, HEIGHT, PAD = 600, 160, 36  # viewBox units; the SVG scales to the phone or laptop width


def line_chart(
    title: str,
    unit: str,
    points: list[tuple[float, float]],
    *,
    empty: str = "",
    time_format: str = "%Y-%m-%d %H:%M",
    shown: Callable[[float], str] | None = None,
) -> str:
    """An SVG chart of (unix time, value) points, with its range labelled (by `shown`, else in UTC as
    `time_format`); `empty` (or an English note) when there are none."""
    head = (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" class="chart" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
    )
    if not points:
        return head + f'<text x="{PAD}" y="{HEIGHT // 2}">{escape(empty or title + ": no readings yet")}</text></svg>'
    times, values = [p[0] for p in points], [p[1] for p in points]
    t0, t1 = min(times), max(times)
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 1, high + 1
    span_t = (t1 - t0) or 1.0

    def x(t: float) -> float:
        return PAD + (t - t0) / span_t * (WIDTH - 2 * PAD)

    def y(v: float) -> float:
        return HEIGHT - PAD + (low - v) / (high - low) * (HEIGHT - 2 * PAD)

    path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
    label = shown or (lambda seconds: _when(seconds, time_format))
    return (
        head + f'<text x="4" y="14" class="chart-title">{escape(title)} ({escape(unit)})</text>'
        f'<text x="4" y="{y(high) + 4:.0f}">{high:g}</text><text x="4" y="{y(low) + 4:.0f}">{low:g}</text>'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="axis"/>'
        f'<polyline points="{path}" fill="none" stroke="currentColor" stroke-width="2"/>'
        f'<text x="{PAD}" y="{HEIGHT - 8}">{escape(label(t0))}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" text-anchor="end">{escape(label(t1))}</text></svg>'
    )


def _when(seconds: float, fmt: str) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime(fmt)


SPECS = (
    ("chart.temperature", "°C", "cpu_temp_c"),
    ("chart.disk", "%", "disk_percent"),
    ("chart.clients", "unit.devices", "wifi_clients"),
    ("chart.sync", "unit.bytes", "sync_bytes"),
)


_english = translator("en")


def kit_charts(history: list[dict], t=_english, shown: Callable[[float], str] | None = None) -> list[str]:
    """The four charts of a kit's page from `fleet.history` rows, titled with `t` (hub/i18n.py), their times
    labelled by `shown` (the page's zone and language; None: UTC)."""
    return [
        line_chart(
            t(title),
            t(unit),
            [(row["observed_at"], float(row[key])) for row in history if row[key] is not None],
            empty=t("chart.empty", title=t(title)),
            shown=shown,
        )
        for title, unit, key in SPECS
    ]


def _noon(day: str) -> float:
    return dt.datetime.strptime(day, "%Y-%m-%d").replace(hour=12, tzinfo=dt.timezone.utc).timestamp()


def daily_charts(days: list[dict], t=_english) -> list[str]:
    """The same four readings per day (each day's highest) from `retention.daily` rows: heartbeats, the daily
    summaries a kit folded offline, and the days pruning folded."""
    return [
        line_chart(
            t(title),
            t(unit),
            [(_noon(row["day"]), float(row[key])) for row in days if row[key] is not None],
            empty=t("chart.empty", title=t(title)),
            time_format="%Y-%m-%d",
        )
        for title, unit, key in SPECS
    ]
