"""The health snapshot on a fake machine: decoded readings, "not available", problems, status and the cache."""

from __future__ import annotations

import datetime

import pytest

from appliance.services.device import health
from appliance.services.device.readings import Readings
from appliance.storage.sync_runs import RunResult, SyncRuns
from tests.machine import HEALTHY_COMMANDS, SICK_COMMANDS, fake_commands, fake_root

NOON = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=datetime.timezone.utc)


def _codes(snap: dict) -> dict[str, str]:
    return {p["code"]: p["severity"] for p in snap["problems"]}


def test_health_healthy_kit_is_ok(kit, tmp_path):
    kit.readings = Readings(root=fake_root(tmp_path / "root"), path=fake_commands(tmp_path / "bin", HEALTHY_COMMANDS))
    snap = health.snapshot(kit, now=NOON)
    assert (snap["status"], snap["problems"]) == ("ok", [])
    assert snap["time"] == "2026-03-02T12:00:00Z" and snap["kit_id"] == "tpkit-dev"
    assert snap["cpu_temp_c"] == 48.3  # vcgencmd wins over the thermal zone's 52.3
    assert snap["uptime_s"] == 3725.5 and snap["load"] == [0.52, 0.41, 0.3] and snap["boot_count"] == 1
    assert snap["clock"] == {"synchronized": True} and snap["wifi_clients"] == 2
    assert snap["services"] == {"tpkit-web": "active", "tpkit-panel": "active"}
    assert snap["sd_card"] == {"root_read_only": False, "fs_errors": 0}
    assert snap["books"] == {"served": 1, "damaged": 0, "pending": 0, "waiting": 0}
    assert len(snap["filesystems"]) == 1  # data_dir and content_dir share the temp disk: one entry
    assert snap["memory"]["swap_used_bytes"] == 4096 * 1024 and snap["memory"]["oom_kills"] == 0
    assert [(d["mount"], d["written_bytes"]) for d in snap["disk_writes"]] == [
        ("/", 81920 * 512),
        ("/var/lib/tpkit", 2048000 * 512),
        ("/boot/firmware", 16 * 512),
    ]
    # the heavy units only: cron (2 MiB at most, nothing written) is not in every heartbeat
    assert sorted(snap["units"]) == ["tpkit-usb-import@sda1.service", "tpkit-web.service"]
    assert snap["units"]["tpkit-web.service"]["written_bytes"] == 52432896


def test_health_a_process_killed_for_memory_is_a_warning_with_its_count(kit, tmp_path):
    root = fake_root(tmp_path / "root")
    (root / "proc/vmstat").write_text("nr_free_pages 25000\noom_kill 3\n")
    kit.readings = Readings(root=root, path=fake_commands(tmp_path / "bin", HEALTHY_COMMANDS))
    snap = health.snapshot(kit, now=NOON)
    assert snap["status"] == "warning" and [p["code"] for p in snap["problems"]] == ["health.memory_kills"]
    assert "stopped a program 3 time(s)" in snap["problems"][0]["message"]
    assert "web_workers" in snap["problems"][0]["fix"]


def test_health_heavy_units_by_memory_or_writes():
    small = {"memory_bytes": 2**20, "memory_peak_bytes": None, "written_bytes": 1000}
    by_peak = {"memory_bytes": 2**20, "memory_peak_bytes": health.UNIT_MEMORY_BYTES, "written_bytes": None}
    by_writes = {"memory_bytes": None, "memory_peak_bytes": None, "written_bytes": health.UNIT_WRITTEN_BYTES}
    units = {"a.service": small, "b.service": by_peak, "c.service": by_writes}
    assert health.heavy_units(units) == {"b.service": by_peak, "c.service": by_writes}
    assert health.heavy_units(None) is None


def test_health_sick_kit_lists_every_problem_with_a_fix(kit, tmp_path, content_dir):
    (content_dir / "broken.zim").write_bytes(b"not a zim")
    kit.library.refresh()
    kit.readings = Readings(
        root=fake_root(tmp_path / "root", root_mount="ro"), path=fake_commands(tmp_path / "bin", SICK_COMMANDS)
    )
    snap = health.snapshot(kit, now=NOON)
    assert snap["throttled"]["now"] == {
        "under_voltage": True,
        "freq_capped": False,
        "throttled": True,
        "soft_temp_limit": False,
    }
    assert _codes(snap) == {
        "health.under_voltage": "critical",
        "health.hot": "critical",
        "health.root_read_only": "critical",
        "health.fs_errors": "warning",
        "health.books_damaged": "warning",
        "health.clock_unsynchronised": "warning",
    }
    assert snap["status"] == "critical"
    assert all(p["message"] and p["fix"] for p in snap["problems"])
    assert snap["services"]["tpkit-panel"] == "failed"


def test_health_missing_sources_are_not_available_never_invented(kit, tmp_path):
    kit.readings = Readings(root=tmp_path / "no-proc", path=fake_commands(tmp_path / "empty", {}))
    snap = health.snapshot(kit, now=NOON)
    for key in (
        "uptime_s",
        "boot_count",
        "cpu_temp_c",
        "throttled",
        "load",
        "memory",
        "units",
        "disk_writes",
        "wifi_clients",
        "services",
        "requests_served",
        "students_active_today",
        "last_sync",  # no sync has run yet
    ):
        assert snap[key] == "not available", key
    assert snap["outbox_depth"] == 0  # the outbox table always exists
    assert snap["bytes_this_month"] == 0  # and so does sync_runs: nothing received this month
    assert snap["clock"] == {"synchronized": "not available"}
    assert snap["sd_card"] == {"root_read_only": "not available", "fs_errors": "not available"}
    assert snap["status"] == "ok"


def test_health_last_sync_and_bytes_this_month_come_from_the_recorded_runs(kit):
    runs = SyncRuns(kit.db)
    last_month = runs.start("2026-02-27T01:00:00Z")
    runs.finish(last_month, "2026-02-27T01:10:00Z", RunResult("ok", "done", bytes_received=7_000_000))
    ok = runs.start("2026-03-01T01:00:00Z")
    runs.finish(ok, "2026-03-01T01:20:00Z", RunResult("ok", "done", bytes_received=3_000_000))
    partial = runs.start("2026-03-02T01:00:00Z")
    runs.finish(partial, "2026-03-02T01:05:00Z", RunResult("partial", "sync.verify", bytes_received=500))
    snap = health.snapshot(kit, now=NOON)
    assert snap["last_sync"] == {
        "state": "failed",  # what the status panel shows for a run whose books did not all update
        "outcome": "partial",
        "ok": False,
        "reason": "sync.verify",
        "started_at": "2026-03-02T01:00:00Z",
        "ended_at": "2026-03-02T01:05:00Z",
        "last_ok_at": "2026-03-01T01:20:00Z",  # the age of the kit's content, for the hub's old_content alert
    }
    assert snap["bytes_this_month"] == 3_000_500  # February's run is not counted
    runs.start("2026-03-02T11:00:00Z")  # a run still going (or cut by a power cut): neither ok nor failed
    running = health.snapshot(kit, now=NOON)["last_sync"]
    assert (running["state"], running["ok"], running["last_ok_at"]) == ("running", None, "2026-03-01T01:20:00Z")


def test_health_thermal_zone_is_the_fallback_without_vcgencmd(kit, tmp_path):
    kit.readings = Readings(
        root=fake_root(tmp_path / "root", thermal_millidegrees=71000), path=fake_commands(tmp_path / "bin", {})
    )
    snap = health.snapshot(kit)
    assert snap["cpu_temp_c"] == 71.0
    assert _codes(snap) == {"health.hot": "warning"} and snap["status"] == "warning"


@pytest.mark.parametrize(
    ("temperature_c", "expected"), [(69.9, None), (70.0, "warning"), (79.9, "warning"), (80.0, "critical")]
)
def test_health_hot_thresholds(temperature_c, expected):
    found = health._heat(temperature_c)
    assert (found[0]["severity"] if found else None) == expected


@pytest.mark.parametrize(
    ("percent", "expected"), [(89.9, None), (90.0, "warning"), (96.9, "warning"), (97.0, "critical")]
)
def test_health_disk_thresholds(percent, expected):
    found = health._disks([{"path": "/srv", "use_percent": percent, "free_bytes": 2**30}])
    assert (found[0]["severity"] if found else None) == expected


def test_health_under_voltage_since_boot_only_is_a_warning():
    assert (
        health._power({"now": {"under_voltage": False}, "since_boot": {"under_voltage": True}})[0]["severity"]
        == "warning"
    )


def test_health_boot_count_grows_once_per_new_boot_id(kit, tmp_path):
    for boot, expected in (("boot-a", 1), ("boot-a", 1), ("boot-b", 2), ("boot-b", 2)):
        kit.readings = Readings(root=fake_root(tmp_path / boot, boot_id=boot), path=str(tmp_path))
        assert health.snapshot(kit)["boot_count"] == expected


def test_health_commands_are_cached_for_cache_s(kit, tmp_path):
    calls = tmp_path / "calls"
    path = fake_commands(tmp_path / "bin", {"timedatectl": f"echo run >> {calls}; echo yes"})
    now = [100.0]
    kit.readings = Readings(root=fake_root(tmp_path / "root"), path=path, cache_s=5, clock=lambda: now[0])
    for _ in range(3):
        health.snapshot(kit)
    now[0] += 5
    health.snapshot(kit)
    assert calls.read_text().count("run") == 2
