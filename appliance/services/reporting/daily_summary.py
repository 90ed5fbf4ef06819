"""A day of heartbeats folded into one `daily_summary` body (docs/reporting.md): counts, first and last, min and max.

Pure functions, no SQL. Must not import web or cli. The readings kept are the ones a technician's charts use;
a reading "not available" in every heartbeat of the day is left out of `min` and `max`, never invented.
"""

from __future__ import annotations

from typing import Any

SEVERITY = {"ok": 0, "warning": 1, "critical": 2}


def _number(value: Any) -> float | int | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def readings(snapshot: dict[str, Any]) -> dict[str, float | int]:
    """The numeric readings of one health snapshot that a summary keeps the range of."""
    load, memory = snapshot.get("load"), snapshot.get("memory")
    disks = [_number(fs.get("use_percent")) for fs in snapshot.get("filesystems") or [] if isinstance(fs, dict)]
    found = {
        "cpu_temp_c": _number(snapshot.get("cpu_temp_c")),
        "load_1m": _number(load[0]) if isinstance(load, list) and load else None,
        "memory_available_bytes": _number(memory.get("available_bytes")) if isinstance(memory, dict) else None,
        "disk_use_percent": max((d for d in disks if d is not None), default=None),
        "wifi_clients": _number(snapshot.get("wifi_clients")),
        "boot_count": _number(snapshot.get("boot_count")),
        "outbox_depth": _number(snapshot.get("outbox_depth")),
        "problems": len(snapshot.get("problems") or []),
        "severity": SEVERITY.get(str(snapshot.get("status"))),
    }
    return {name: value for name, value in found.items() if value is not None}


def of_heartbeat(day: str, made_at: str, snapshot: dict[str, Any]) -> dict[str, Any]:
    """One heartbeat as a summary of itself, so heartbeats and earlier summaries merge the same way."""
    values = readings(snapshot)
    return {"day": day, "heartbeats": 1, "first": made_at, "last": made_at, "min": values, "max": dict(values)}


def merge(day: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary of `day` from summaries of parts of it (heartbeats or earlier summaries)."""
    low: dict[str, float | int] = {}
    high: dict[str, float | int] = {}
    for part in parts:
        for name, value in part["min"].items():
            low[name] = min(low.get(name, value), value)
        for name, value in part["max"].items():
            high[name] = max(high.get(name, value), value)
    return {
        "day": day,
        "heartbeats": sum(p["heartbeats"] for p in parts),
        "first": min(p["first"] for p in parts),
        "last": max(p["last"] for p in parts),
        "min": dict(sorted(low.items())),
        "max": dict(sorted(high.items())),
    }
