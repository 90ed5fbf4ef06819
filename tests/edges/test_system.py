"""/proc and /sys from a fake tree; timedatectl, iw, systemctl and journalctl from fake executables."""

from __future__ import annotations

from appliance.edges import system
from tests.machine import HEALTHY_COMMANDS, SICK_COMMANDS, fake_commands, fake_root


def test_system_reads_fake_proc_and_sys(tmp_path):
    root = fake_root(tmp_path / "root")
    assert system.cpu_temperature_c(root) == 52.3
    assert system.uptime_s(root) == 3725.5
    assert system.load_average(root) == [0.52, 0.41, 0.3]
    assert system.memory(root) == {
        "total_bytes": 3884332 * 1024,
        "available_bytes": 2940000 * 1024,
        "swap_total_bytes": 524284 * 1024,
        "swap_used_bytes": (524284 - 520188) * 1024,
        "oom_kills": 0,
    }
    assert system.root_read_only(root) is False
    assert system.boot_id(root) == "3f1c0a4e-0000-4000-8000-000000000001"


def test_system_memory_without_swap_lines_or_vmstat_has_the_two_it_can_read(tmp_path):
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/meminfo").write_text("MemTotal:  1000 kB\nMemAvailable:  600 kB\n")
    assert system.memory(tmp_path) == {"total_bytes": 1024000, "available_bytes": 614400}


def test_system_disk_writes_per_mounted_partition_from_sys_block_stat(tmp_path):
    root = fake_root(tmp_path / "root")
    assert system.disk_writes(root) == [
        {"mount": "/", "device": "mmcblk0p2", "written_bytes": 81920 * 512},
        # the sandbox's bind mount /var/lib/tpkit/srv names the same partition: counted once, by its shortest name
        {"mount": "/var/lib/tpkit", "device": "mmcblk0p3", "written_bytes": 2048000 * 512},
        {"mount": "/boot/firmware", "device": "mmcblk0p1", "written_bytes": 16 * 512},
    ]
    # a partition whose counters cannot be read is left out, not counted as 0
    (root / "sys/dev/block/179:1/stat").write_text("garbled\n")
    assert [d["device"] for d in system.disk_writes(root)] == ["mmcblk0p2", "mmcblk0p3"]
    assert system.disk_writes(tmp_path / "absent") is None


def test_system_service_usage_from_cgroups_with_templated_units_and_missing_files(tmp_path):
    usage = system.service_usage(fake_root(tmp_path / "root"))
    assert usage == {
        "cron.service": {"memory_bytes": 1048576, "memory_peak_bytes": 2097152, "written_bytes": 0},
        "tpkit-usb-import@sda1.service": {"memory_bytes": 33554432, "memory_peak_bytes": None, "written_bytes": None},
        "tpkit-web.service": {"memory_bytes": 157286400, "memory_peak_bytes": 209715200, "written_bytes": 52432896},
    }
    assert system.service_usage(tmp_path / "absent") is None


def test_system_root_remounted_read_only_is_seen(tmp_path):
    assert system.root_read_only(fake_root(tmp_path, root_mount="ro,relatime")) is True


def test_system_missing_files_are_none(tmp_path):
    for read in (
        system.cpu_temperature_c,
        system.uptime_s,
        system.load_average,
        system.memory,
        system.root_read_only,
        system.boot_id,
    ):
        assert read(tmp_path) is None


def test_system_filesystem_use_adds_up(tmp_path):
    use = system.filesystem_use(tmp_path)
    assert use["total_bytes"] >= use["used_bytes"] + use["free_bytes"] > 0
    assert system.filesystem_use(tmp_path / "absent") is None


def test_system_commands_from_fake_path(tmp_path):
    healthy = fake_commands(tmp_path / "healthy", HEALTHY_COMMANDS)
    assert system.clock_synchronized(healthy) is True
    assert system.wifi_clients("wlan0", healthy) == 2
    assert system.unit_states(["tpkit-web", "tpkit-panel"], healthy) == {"tpkit-web": "active", "tpkit-panel": "active"}
    assert system.kernel_fs_errors(healthy) == 0
    sick = fake_commands(tmp_path / "sick", SICK_COMMANDS)
    assert system.clock_synchronized(sick) is False
    assert system.unit_states(["tpkit-web", "tpkit-panel"], sick) == {"tpkit-web": "active", "tpkit-panel": "failed"}
    assert system.kernel_fs_errors(sick) == 2  # the EXT4 and I/O lines; the Wi-Fi firmware error is not a disk


def test_system_missing_commands_are_none(tmp_path):
    empty = fake_commands(tmp_path / "empty", {})
    assert system.clock_synchronized(empty) is None
    assert system.wifi_clients("wlan0", empty) is None
    assert system.unit_states(["tpkit-web"], empty) is None
    assert system.kernel_fs_errors(empty) is None


def test_system_unreadable_kernel_log_is_none_and_dmesg_is_the_fallback(tmp_path):
    silent = fake_commands(tmp_path / "silent", {"journalctl": "exit 0"})
    assert system.kernel_fs_errors(silent) is None  # no line at all: this user may not read the kernel log
    with_dmesg = fake_commands(
        tmp_path / "dmesg",
        {
            "journalctl": "exit 0",
            "dmesg": 'case "$*" in *level*) echo "mmc0: Timeout waiting for hardware interrupt.";; *) echo boot;; esac',
        },
    )
    assert system.kernel_fs_errors(with_dmesg) == 1


def test_system_iw_without_the_interface_is_none(tmp_path):
    path = fake_commands(tmp_path / "bin", {"iw": 'echo "command failed: No such device (-19)" >&2; exit 237'})
    assert system.wifi_clients("wlan9", path) is None


def test_system_uplink_interfaces_from_the_routing_tables(tmp_path):
    from appliance.edges.system import uplink_interfaces

    assert uplink_interfaces("wlan0", tmp_path) is None
    (tmp_path / "proc/net").mkdir(parents=True)
    (tmp_path / "proc/net/route").write_text(
        "Iface\tDestination\tGateway\tFlags\n"
        "eth0\t00000000\t0102A8C0\t0003\n"  # default route, up
        "usb0\t00000000\t0102A8C0\t0002\n"  # default route, down
        "wlan0\t00000000\t0104A8C0\t0003\n"
    )  # the classroom's own
    assert uplink_interfaces("wlan0", tmp_path) == ["eth0"]


def test_system_root_read_only_in_a_sandbox_view_only_is_not_a_read_only_disk(tmp_path):
    # ProtectSystem=strict binds "/" read-only for the service (mount options) while the file system is fine.
    root = fake_root(tmp_path / "root")
    assert "/ / ro," in (root / "proc/self/mountinfo").read_text()
    assert system.root_read_only(root) is False
    for mount, read_only in (("ro", True), ("rw", False)):  # no mountinfo: /proc/mounts' options, as before
        fake_root(root, root_mount=mount)
        (root / "proc/self/mountinfo").unlink()
        assert system.root_read_only(root) is read_only


def test_system_clock_synchronized_from_timesyncd_files_before_timedatectl(tmp_path):
    root = fake_root(tmp_path / "root")
    no_timedatectl = str(tmp_path / "empty-path")  # timedatectl absent: only the files can tell
    assert system.clock_synchronized(no_timedatectl, root) is None
    (root / "run/systemd/timesync").mkdir(parents=True)  # timesyncd runs, no NTP answer since boot
    assert system.clock_synchronized(no_timedatectl, root) is False
    (root / "run/systemd/timesync/synchronized").touch()
    assert system.clock_synchronized(no_timedatectl, root) is True
