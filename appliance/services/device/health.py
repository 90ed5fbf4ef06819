"""The kit's health snapshot: what the machine, the disks and the library say now, and what is wrong.

Must not import web or cli. Every value comes from a real source; where there is none the value is
NOT_AVAILABLE, never a guess. docs/health.md describes every field and problem code.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from appliance import __version__
from appliance.edges import system
from appliance.protocol.thresholds import DISK_CRITICAL_PERCENT, DISK_WARNING_PERCENT, HOT_CRITICAL_C, HOT_WARNING_C
from appliance.services.library import book_counts
from appliance.services.reporting import desired_config
from appliance.services.sync import policy as sync_policy
from appliance.storage.book_checks import BookChecks
from appliance.storage.sync_runs import SyncRuns
from appliance.storage.waiting_books import WaitingBooks

if TYPE_CHECKING:
    from appliance.services.kit import Kit

NOT_AVAILABLE = "not available"

PROBLEM_CODES = (
    "health.under_voltage",
    "health.hot",
    "health.disk_nearly_full",
    "health.books_damaged",
    "health.clock_unsynchronised",
    "health.root_read_only",
    "health.fs_errors",
    "health.memory_kills",
)
POWER_FIX = (
    "Use the official 5.1 V 3 A USB-C supply and a short, thick cable; power USB disks from a "
    "powered hub, not from the Pi."
)


def _or_na(value: Any) -> Any:
    return NOT_AVAILABLE if value is None else value


def _problem(code: str, severity: str, message: str, fix: str) -> dict[str, str]:
    return {"code": code, "severity": severity, "message": message, "fix": fix}


def record_boot(kit: Kit) -> int | None:
    """Count this boot in the database (once per boot); None when /proc has no boot id."""
    boot = system.boot_id(kit.readings.root)
    return None if boot is None else kit.boots.record(boot)


def filesystems(folders) -> list[dict[str, Any]]:
    """Use of the filesystems holding `folders`, one entry per device, in the order given."""
    found: list[dict[str, Any]] = []
    seen: set[Any] = set()
    for folder in folders:
        use = system.filesystem_use(folder)
        if use is None:
            found.append(
                {
                    "path": str(folder),
                    **dict.fromkeys(("total_bytes", "used_bytes", "free_bytes", "use_percent"), NOT_AVAILABLE),
                }
            )
            continue
        device = use.pop("device")
        if device in seen:
            continue
        seen.add(device)
        usable = use["used_bytes"] + use["free_bytes"]
        found.append(
            {"path": str(folder), **use, "use_percent": round(100 * use["used_bytes"] / usable, 1) if usable else 0.0}
        )
    return found


def _machine(kit: Kit) -> dict[str, Any]:
    """The machine's readings as snapshot fields."""
    files, commands = kit.readings.files(), kit.readings.commands()
    temperature = commands["firmware_temp_c"] if commands["firmware_temp_c"] is not None else files["thermal_zone_c"]
    return {
        "uptime_s": _or_na(files["uptime_s"]),
        "boot_count": _or_na(record_boot(kit)),
        "clock": {"synchronized": _or_na(commands["clock_synchronized"])},
        "cpu_temp_c": _or_na(temperature),
        "throttled": _or_na(commands["throttled"]),
        "load": _or_na(files["load"]),
        "memory": _or_na(files["memory"]),
        "units": _or_na(heavy_units(files["units"])),
        "filesystems": filesystems((kit.paths.data_dir, kit.paths.content_dir)),
        "disk_writes": _or_na(files["disk_writes"]),
        "sd_card": {"root_read_only": _or_na(files["root_read_only"]), "fs_errors": _or_na(commands["fs_errors"])},
        "wifi_clients": _or_na(commands["wifi_clients"]),
        "services": _or_na(commands["services"]),
    }


# A unit is in the snapshot when it holds or has held this much memory, or has written this much since it started:
# the kit's own services, journald and the like, without twenty idle system units in every heartbeat.
UNIT_MEMORY_BYTES = 8 * 2**20
UNIT_WRITTEN_BYTES = 2**20


def heavy_units(units: dict[str, dict[str, int | None]] | None) -> dict[str, dict[str, int | None]] | None:
    """The services that count for memory or SD card writes (`UNIT_MEMORY_BYTES`, `UNIT_WRITTEN_BYTES`)."""
    if units is None:
        return None
    return {
        name: usage
        for name, usage in units.items()
        if max(usage["memory_bytes"] or 0, usage["memory_peak_bytes"] or 0) >= UNIT_MEMORY_BYTES
        or (usage["written_bytes"] or 0) >= UNIT_WRITTEN_BYTES
    }


def books(kit: Kit, open_library: bool = True) -> dict[str, int]:
    """How many books are served, damaged, being checked and waiting for approval. Without `open_library`, from the results recorded when
    the books were checked (services.book_counts) when every file has one; else from the library, opened."""
    # unsigned books from USB sticks that no one has enabled yet (services/library/approval.py)
    waiting = {"waiting": book_counts.waiting(kit.paths.books_waiting_dir, WaitingBooks(kit.db))}
    if not open_library:
        counts = book_counts.recorded(kit.paths.content_dir, BookChecks(kit.db))
        if counts is not None:
            return {**counts, **waiting}
    library = kit.load_library()
    return {
        "served": len(library.books()),
        "damaged": len(library.damaged()),
        "pending": len(library.pending()),
        **waiting,
    }


# A run's outcome as the status panel reads it (`state`: idle, running, failed) and as the hub judges it (`ok`).
PANEL_STATES = {"running": "running", "failed": "failed", "partial": "failed"}
RUN_OK = {"ok": True, "failed": False, "partial": False}


def sync_state(kit: Kit, now: datetime.datetime) -> tuple[dict[str, Any] | str, int]:
    """`last_sync` (the newest run, and when the newest ok run ended: the age of the kit's content) and the bytes
    received by runs started this calendar month (UTC, as the month's budget counts them)."""
    runs = SyncRuns(kit.db)
    newest, last_ok_at = runs.latest()
    month = runs.bytes_since(sync_policy.month_start(now).strftime("%Y-%m-%dT%H:%M:%SZ"))
    if newest is None:
        return NOT_AVAILABLE, month
    outcome = newest["outcome"]
    return {
        "state": PANEL_STATES.get(outcome, "idle"),
        "outcome": outcome,
        "ok": RUN_OK.get(outcome),  # null while running or after a run cut by a power cut
        "reason": newest["reason"],
        "started_at": newest["started_at"],
        "ended_at": newest["ended_at"],
        "last_ok_at": last_ok_at,
    }, month


def snapshot(
    kit: Kit, now: datetime.datetime | None = None, requests_served: int | None = None, open_library: bool = True
) -> dict[str, Any]:
    """The kit's health now, with a derived `status` and its `problems`; `requests_served` comes from the web app.
    `open_library=False` (the report process) counts books from recorded check results when it can (`books`)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    last_sync, bytes_this_month = sync_state(kit, now)
    data = {
        "version": __version__,
        "kit_id": kit.settings.kit_id,
        "school_name": kit.settings.school_name,
        "time": now.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **_machine(kit),
        "books": books(kit, open_library),
        "requests_served": _or_na(requests_served),
        "students_active_today": NOT_AVAILABLE,  # not counted yet
        "last_sync": last_sync,
        "bytes_this_month": bytes_this_month,
        "outbox_depth": kit.outbox.depth(),
        "hub_config": desired_config.in_snapshot(kit),
    }
    data["problems"] = problems(data)
    data["status"] = status(data["problems"])
    return data


def status(found: list[dict[str, str]]) -> str:
    """ "critical" if any problem is critical, else "warning" if there is any, else "ok"."""
    severities = {p["severity"] for p in found}
    return "critical" if "critical" in severities else "warning" if severities else "ok"


def problems(data: dict[str, Any]) -> list[dict[str, str]]:
    """Every problem the snapshot shows, most urgent kinds first, each with the fix."""
    return [
        *_power(data["throttled"]),
        *_heat(data["cpu_temp_c"]),
        *_disks(data["filesystems"]),
        *_sd_card(data["sd_card"]),
        *_memory(data["memory"]),
        *_books(data["books"]),
        *_clock(data["clock"]),
    ]


def _power(throttled) -> list[dict[str, str]]:
    if throttled == NOT_AVAILABLE:
        return []
    if throttled["now"]["under_voltage"]:
        return [
            _problem(
                "health.under_voltage",
                "critical",
                "The power supply is too weak right now (under-voltage): the kit may reboot or damage its SD card.",
                POWER_FIX,
            )
        ]
    if throttled["since_boot"]["under_voltage"]:
        return [
            _problem(
                "health.under_voltage",
                "warning",
                "The power supply dipped too low (under-voltage) since the kit started.",
                POWER_FIX,
            )
        ]
    return []


def _heat(temperature_c) -> list[dict[str, str]]:
    if temperature_c == NOT_AVAILABLE or temperature_c < HOT_WARNING_C:
        return []
    severity = "critical" if temperature_c >= HOT_CRITICAL_C else "warning"
    return [
        _problem(
            "health.hot",
            severity,
            f"The processor is at {temperature_c:.1f} °C "
            f"(warning from {HOT_WARNING_C:.0f} °C; it slows down from {HOT_CRITICAL_C:.0f} °C).",
            "Move the kit out of the sun and away from heaters, keep the case's vents free, or fit a heatsink or fan.",
        )
    ]


def _disks(found: list[dict[str, Any]]) -> list[dict[str, str]]:
    result = []
    for fs in found:
        percent = fs["use_percent"]
        if percent == NOT_AVAILABLE or percent < DISK_WARNING_PERCENT:
            continue
        severity = "critical" if percent >= DISK_CRITICAL_PERCENT else "warning"
        result.append(
            _problem(
                "health.disk_nearly_full",
                severity,
                f"The disk holding {fs['path']} is {percent:.1f} % full ({fs['free_bytes'] // 2**20} MB free).",
                "Remove books no longer needed from the content folder, or move content_dir to "
                "a larger USB disk. Never delete files in data_dir: they are people's work.",
            )
        )
    return result


def _sd_card(card: dict[str, Any]) -> list[dict[str, str]]:
    result = []
    if card["root_read_only"] is True:
        result.append(
            _problem(
                "health.root_read_only",
                "critical",
                "The system disk (/) is mounted read-only: Linux stopped writing to it, usually after SD card errors.",
                "Back up data_dir now, then replace the SD card and flash the kit image again "
                "(`journalctl -k -p err` shows the errors).",
            )
        )
    errors = card["fs_errors"]
    if errors != NOT_AVAILABLE and errors > 0:
        result.append(
            _problem(
                "health.fs_errors",
                "warning",
                f"Linux logged {errors} disk error(s) since the kit started.",
                "Run `journalctl -k -p err` to see them; back up data_dir and "
                "plan to replace the SD card or USB disk they name.",
            )
        )
    return result


def _books(books: dict[str, int]) -> list[dict[str, str]]:
    if not books["damaged"]:
        return []
    return [
        _problem(
            "health.books_damaged",
            "warning",
            f"{books['damaged']} book file(s) are damaged and not served.",
            "Open /admin or run `tpkit check` for their names; copy each again from its source, or remove it.",
        )
    ]


def _memory(memory) -> list[dict[str, str]]:
    """A process the kernel killed for memory since boot: a page, a sync or a report died half-way (issue 19: a
    1 GB Pi under a class had none, and the county must hear of the first)."""
    kills = memory.get("oom_kills") if isinstance(memory, dict) else None
    if not kills:
        return []
    return [
        _problem(
            "health.memory_kills",
            "warning",
            f"The kit ran out of memory and stopped a program {kills} time(s) since it started: "
            "pages, a sync or a report may have failed.",
            "Restart the kit. If it comes back, lower web_workers in kit.toml [settings] (docs/settings.md), take "
            "large books off the shelf, or use a Pi with more memory; `journalctl -k | grep -i oom` names the program.",
        )
    ]


def _clock(clock: dict[str, Any]) -> list[dict[str, str]]:
    if clock["synchronized"] is not False:
        return []
    return [
        _problem(
            "health.clock_unsynchronised",
            "warning",
            "The clock is not synchronised: dates of homework and reports may be wrong.",
            "Connect the kit to the internet for a minute "
            "(it sets the time by NTP), or set it by hand: sudo timedatectl set-time "
            "'YYYY-MM-DD HH:MM:SS'.",
        )
    ]
