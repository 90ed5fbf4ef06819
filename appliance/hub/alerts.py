"""What a kit's latest heartbeat (its `GET /-/health` snapshot) and its silence mean for a technician.

Reads the snapshot fields documented in docs/health.md, with the kit's own thresholds (protocol.thresholds).
Must not import web or cli.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from typing import Any

from appliance.protocol.thresholds import DISK_WARNING_PERCENT, HOT_CRITICAL_C, HOT_WARNING_C

STATUSES = ("ok", "warning", "critical", "silent")
STATUSES_BY_RANK = ("silent", "critical", "warning", "ok")  # storage/kits.py STATUS_RANK: 0 is the most urgent
OLD_CONTENT_DAYS = 30.0  # hub_old_content_days' default


@dataclasses.dataclass(frozen=True)
class Alert:
    """One thing wrong with one kit, worded for the county technician."""

    kit_id: str
    code: str
    severity: str
    message: str
    key: str = ""  # its sentence in hub/i18n.py, filled with `values` (the dashboard's language)
    values: tuple[tuple[str, str], ...] = ()


# A reading beyond this is no measurement: charted and judged as "not available", never stored as a number no
# column can hold. (Reports are read with strict_json, which refuses NaN and infinities; snapshots stored before
# it could still hold them, and the comparison refuses those too.)
READING_LIMIT = 2.0**53


def reading(value: Any) -> float | None:
    """A snapshot's number as a float, or None when it is not one a kit can measure."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    return float(value) if abs(value) < READING_LIMIT else None  # NaN and infinities fail the comparison too


def disk_percent(snapshot: dict[str, Any]) -> float | None:
    """The fullest filesystem's use in percent, or None when the snapshot has none."""
    readings = [reading(fs.get("use_percent")) for fs in snapshot.get("filesystems") or () if isinstance(fs, dict)]
    found = [value for value in readings if value is not None]
    return max(found) if found else None


def readings(snapshot: dict[str, Any]) -> dict[str, float | None]:
    """The numbers charted over time (temperature, fullest disk, Wi-Fi clients, bytes synced this month) and the
    kit's outbox depth (reports waiting on the kit: a link that delivers slowly)."""
    return {
        "cpu_temp_c": reading(snapshot.get("cpu_temp_c")),
        "disk_percent": disk_percent(snapshot),
        "wifi_clients": reading(snapshot.get("wifi_clients")),
        "sync_bytes": reading(snapshot.get("bytes_this_month")),
        "outbox_depth": reading(snapshot.get("outbox_depth")),
    }


def _under_voltage(snapshot: dict[str, Any]) -> str | None:
    flags = under_voltage_flags(snapshot) or {}
    return "critical" if flags.get("now") else "warning" if flags.get("since_boot") else None


def under_voltage_flags(snapshot: dict[str, Any]) -> dict[str, bool] | None:
    """`{"now": …, "since_boot": …}` from the snapshot's `throttled`, or None when the kit could not read it."""
    throttled = snapshot.get("throttled")
    if not isinstance(throttled, dict):
        return None
    return {
        when: isinstance(flags := throttled.get(when), dict) and flags.get("under_voltage") is True
        for when in ("now", "since_boot")
    }


def _sync_failing(snapshot: dict[str, Any]) -> bool:
    """The kit's newest content sync failed or left books not updated (`last_sync.ok` false, docs/health.md)."""
    last = snapshot.get("last_sync")
    return isinstance(last, dict) and (last.get("ok") is False or last.get("result") in ("failed", "error"))


def last_sync_ok_at(snapshot: dict[str, Any]) -> float | None:
    """When the kit's newest successful content sync ended (Unix seconds), or None (never, or not said)."""
    last = snapshot.get("last_sync")
    when = last.get("last_ok_at") if isinstance(last, dict) else None
    if not isinstance(when, str):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.timestamp() if parsed.tzinfo else None


def snapshot_alerts(kit_id: str, snapshot: dict[str, Any]) -> list[Alert]:
    """The alerts one heartbeat raises whatever the time, most urgent kinds first."""
    found = []
    power = _under_voltage(snapshot)
    if power:
        when = "now" if power == "critical" else "since the kit started"
        found.append(
            Alert(
                kit_id,
                "under_voltage",
                power,
                f"Under-voltage {when}: the power supply is too weak.",
                "alert.under_voltage." + ("now" if power == "critical" else "since_boot"),
            )
        )
    percent = disk_percent(snapshot)
    if percent is not None and percent > DISK_WARNING_PERCENT:
        found.append(
            Alert(
                kit_id,
                "disk_full",
                "critical" if percent >= 97 else "warning",
                f"A disk is {percent:.1f} % full.",
                "alert.disk_full",
                (("percent", f"{percent:.1f}"),),
            )
        )
    temperature = reading(snapshot.get("cpu_temp_c"))
    if temperature is not None and temperature >= HOT_WARNING_C:
        found.append(
            Alert(
                kit_id,
                "hot",
                "critical" if temperature >= HOT_CRITICAL_C else "warning",
                f"The processor is at {temperature:.1f} °C.",
                "alert.hot",
                (("temp", f"{temperature:.1f}"),),
            )
        )
    if _sync_failing(snapshot):
        found.append(Alert(kit_id, "sync_failing", "warning", "The last content sync failed.", "alert.sync_failing"))
    books = snapshot.get("books")
    damaged = reading(books.get("damaged")) if isinstance(books, dict) else None
    if damaged:
        found.append(
            Alert(
                kit_id,
                "books_damaged",
                "warning",
                f"{int(damaged)} book file(s) are damaged.",
                "alert.books_damaged",
                (("count", str(int(damaged))),),
            )
        )
    return found


def judged(
    kit: dict[str, Any],
    from_snapshot: list[Alert],
    synced_at: float | None,
    now: float,
    silent_after_h: float,
    old_content_days: float,
) -> list[Alert]:
    """Every alert for one kit: silence first, then what its latest heartbeat shows (`from_snapshot`), then the age
    of its content (`synced_at`: when its newest successful sync ended), then its clock."""
    found = []
    last = kit.get("last_seen_at")
    if last is None or now - last > silent_after_h * 3600:
        heard = "never reported" if last is None else f"been silent for {(now - last) / 3600:.0f} hours"
        values = (("limit", f"{silent_after_h:g}"),) + (
            () if last is None else (("hours", f"{(now - last) / 3600:.0f}"),)
        )
        found.append(
            Alert(
                kit["kit_id"],
                "silent",
                "critical",
                f"The kit has {heard} (limit {silent_after_h:g} h).",
                "alert.silent.never" if last is None else "alert.silent",
                values,
            )
        )
    found += from_snapshot
    if synced_at is not None and now - synced_at > old_content_days * 86400:
        days = f"{(now - synced_at) / 86400:.0f}"
        found.append(
            Alert(
                kit["kit_id"],
                "old_content",
                "warning",
                f"No content sync has succeeded for {days} days (limit {old_content_days:g}).",
                "alert.old_content",
                (("days", days), ("limit", f"{old_content_days:g}")),
            )
        )
    if kit.get("clock_flag"):
        found.append(
            Alert(
                kit["kit_id"],
                "clock",
                "warning",
                "The kit's clock is not synchronised and far off; the hub orders its reports by receive time.",
                "alert.clock",
            )
        )
    return found


RANK = {"warning": 1, "critical": 2}  # snapshot_rank: the worst severity among a heartbeat's alerts (0: none)


def latest(snapshot: dict[str, Any]) -> dict[str, Any]:
    """What the kit's row keeps of its newest heartbeat (hub/storage/kits.py LATEST): its readings, under-voltage
    (0 none, 1 since the kit started, 2 now), damaged books, when its newest successful sync ended, and the alerts
    the heartbeat raises whatever the time, as JSON, with the worst one's rank."""
    flags = under_voltage_flags(snapshot)
    books = snapshot.get("books")
    found = snapshot_alerts("", snapshot)
    return {
        **readings(snapshot),
        "under_voltage": None if flags is None else 2 if flags["now"] else 1 if flags["since_boot"] else 0,
        "books_damaged": reading(books.get("damaged")) if isinstance(books, dict) else None,
        "last_sync_ok_at": last_sync_ok_at(snapshot),
        "snapshot_rank": max((RANK[a.severity] for a in found), default=0),
        "snapshot_alerts": json.dumps(
            [[a.code, a.severity, a.message, a.key, [list(pair) for pair in a.values]] for a in found],
            ensure_ascii=False,
        ),
    }


def stored(kit_id: str, text: str | None) -> list[Alert]:
    """The alerts `latest` kept as JSON, for kit `kit_id`."""
    if not text or text == "[]":  # most kits: nothing to parse
        return []
    return [
        Alert(kit_id, code, severity, message, key, tuple((str(k), str(v)) for k, v in values))
        for code, severity, message, key, values in json.loads(text or "[]")
    ]


def status(alerts: list[Alert]) -> str:
    """silent, else critical, else warning, else ok."""
    codes = {a.code for a in alerts}
    severities = {a.severity for a in alerts}
    return (
        "silent" if "silent" in codes else "critical" if "critical" in severities else "warning" if severities else "ok"
    )
