"""The health snapshot in the Prometheus text exposition format (version 0.0.4).

Must not import cli. A metric whose source is "not available" is left out, never reported as 0.
"""

from __future__ import annotations

from typing import Any

from appliance.services.device.health import NOT_AVAILABLE

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Sample = tuple[dict[str, str], float]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if isinstance(value, (bool, int)) else repr(float(value))


def _family(name: str, kind: str, help_text: str, samples: list[Sample]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        label_text = ",".join(f'{key}="{_escape(text)}"' for key, text in labels.items())
        lines.append(f"{name}{{{label_text}}} {_number(value)}" if label_text else f"{name} {_number(value)}")
    return lines if samples else []


def _one(value: Any) -> list[Sample]:
    return [] if value == NOT_AVAILABLE else [({}, value)]


def _power(throttled: Any) -> list[Sample]:
    if throttled == NOT_AVAILABLE:
        return []
    return [({"when": when}, throttled[when]["under_voltage"]) for when in ("now", "since_boot")]


def _disks(filesystems: list[dict[str, Any]]) -> list[Sample]:
    return [
        ({"path": fs["path"]}, fs["used_bytes"] / (fs["used_bytes"] + fs["free_bytes"]))
        for fs in filesystems
        if fs["used_bytes"] != NOT_AVAILABLE and fs["used_bytes"] + fs["free_bytes"]
    ]


def _memory(memory: Any, key: str) -> list[Sample]:
    return [] if memory == NOT_AVAILABLE or key not in memory else [({}, memory[key])]


def _written(disk_writes: Any) -> list[Sample]:
    if disk_writes == NOT_AVAILABLE:
        return []
    return [({"mount": d["mount"], "device": d["device"]}, d["written_bytes"]) for d in disk_writes]


def _units(units: Any, key: str) -> list[Sample]:
    if units == NOT_AVAILABLE:
        return []
    return [({"unit": name}, usage[key]) for name, usage in units.items() if usage[key] is not None]


def exposition(snap: dict[str, Any]) -> str:
    """The snapshot as Prometheus text: one HELP and TYPE line per metric family, then its samples."""
    families: list[tuple[str, str, str, list[Sample]]] = [
        ("tpkit_up", "gauge", "1 when the kit's web server answers.", [({}, 1)]),
        (
            "tpkit_info",
            "gauge",
            "The kit's version and id (always 1).",
            [({"version": snap["version"], "kit_id": snap["kit_id"]}, 1)],
        ),
        ("tpkit_uptime_seconds", "gauge", "Seconds since the kit booted.", _one(snap["uptime_s"])),
        ("tpkit_cpu_temperature_celsius", "gauge", "Processor temperature.", _one(snap["cpu_temp_c"])),
        (
            "tpkit_under_voltage",
            "gauge",
            "1 when the power supply is too weak (now, or at any time since boot).",
            _power(snap["throttled"]),
        ),
        (
            "tpkit_filesystem_used_ratio",
            "gauge",
            "Used share (0-1) of the disk holding each folder.",
            _disks(snap["filesystems"]),
        ),
        (
            "tpkit_memory_total_bytes",
            "gauge",
            "Memory the kernel manages (MemTotal).",
            _memory(snap["memory"], "total_bytes"),
        ),
        (
            "tpkit_memory_available_bytes",
            "gauge",
            "Memory available to start new work without swapping (MemAvailable).",
            _memory(snap["memory"], "available_bytes"),
        ),
        ("tpkit_swap_used_bytes", "gauge", "Swap in use, zram included.", _memory(snap["memory"], "swap_used_bytes")),
        (
            "tpkit_oom_kills_total",
            "counter",
            "Processes the kernel killed for lack of memory since boot.",
            _memory(snap["memory"], "oom_kills"),
        ),
        (
            "tpkit_disk_written_bytes_total",
            "counter",
            "Bytes written to each mounted disk partition since boot (SD card wear).",
            _written(snap["disk_writes"]),
        ),
        (
            "tpkit_unit_memory_bytes",
            "gauge",
            "Memory of each service that holds 8 MiB or more, or wrote 1 MiB or more (its cgroup's memory.current).",
            _units(snap["units"], "memory_bytes"),
        ),
        (
            "tpkit_unit_memory_peak_bytes",
            "gauge",
            "The most memory each of those services held since it started (memory.peak).",
            _units(snap["units"], "memory_peak_bytes"),
        ),
        (
            "tpkit_unit_written_bytes_total",
            "counter",
            "Bytes each of those services wrote to disk since it started (io.stat wbytes).",
            _units(snap["units"], "written_bytes"),
        ),
        ("tpkit_books", "gauge", "Book files by state.", [({"state": s}, n) for s, n in snap["books"].items()]),
        (
            "tpkit_requests_total",
            "counter",
            "HTTP requests answered by this web server process since it started.",
            _one(snap["requests_served"]),
        ),
        ("tpkit_wifi_clients", "gauge", "Devices connected to the classroom access point.", _one(snap["wifi_clients"])),
    ]
    return "\n".join(line for family in families for line in _family(*family)) + "\n"
