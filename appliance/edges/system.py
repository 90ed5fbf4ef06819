"""Linux's view of the machine: /proc and /sys under a root folder, disk usage, and the systemd tools on PATH.

Must not import storage, content, services or web. Tests pass a fake tree as `root` and fake
commands first on `path`; every reading is None when its source does not exist.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from appliance.edges.commands import run

ROOT = Path("/")
# Kernel messages that mean the SD card or USB disk is failing (ext4 and block-layer errors, SD host errors).
FS_ERROR = re.compile(r"EXT4-fs error|I/O error|\bmmc\d*\b")


def _read(root: Path, relative: str) -> str | None:
    try:
        return (root / relative).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def cpu_temperature_c(root: Path = ROOT) -> float | None:
    """The first thermal zone in °C (the SoC on a Pi), or None."""
    text = _read(root, "sys/class/thermal/thermal_zone0/temp")
    try:
        return int(text.strip()) / 1000 if text else None
    except ValueError:
        return None


def uptime_s(root: Path = ROOT) -> float | None:
    """Seconds since boot from /proc/uptime, or None."""
    text = _read(root, "proc/uptime")
    try:
        return float(text.split()[0]) if text else None
    except (ValueError, IndexError):
        return None


def load_average(root: Path = ROOT) -> list[float] | None:
    """The 1, 5 and 15 minute load averages from /proc/loadavg, or None."""
    text = _read(root, "proc/loadavg")
    try:
        return [float(x) for x in text.split()[:3]] if text else None
    except ValueError:
        return None


def memory(root: Path = ROOT) -> dict[str, int] | None:
    """{"total_bytes", "available_bytes"} from /proc/meminfo (MemTotal, MemAvailable), or None; with
    "swap_total_bytes" and "swap_used_bytes" (SwapTotal, SwapTotal - SwapFree: zram counts as swap) when meminfo
    has them, and "oom_kills" (/proc/vmstat `oom_kill`: processes the kernel killed for memory since boot) when
    vmstat has it."""
    fields = dict(re.findall(r"^(\w+):\s+(\d+) kB", _read(root, "proc/meminfo") or "", re.MULTILINE))
    if "MemTotal" not in fields or "MemAvailable" not in fields:
        return None
    found = {"total_bytes": int(fields["MemTotal"]) * 1024, "available_bytes": int(fields["MemAvailable"]) * 1024}
    if "SwapTotal" in fields and "SwapFree" in fields:
        found["swap_total_bytes"] = int(fields["SwapTotal"]) * 1024
        found["swap_used_bytes"] = (int(fields["SwapTotal"]) - int(fields["SwapFree"])) * 1024
    kills = re.search(r"^oom_kill (\d+)$", _read(root, "proc/vmstat") or "", re.MULTILINE)
    if kills:
        found["oom_kills"] = int(kills.group(1))
    return found


# /sys/dev/block/M:m/stat: the 7th field is sectors written, always in 512-byte units (Documentation/block/stat.rst).
SECTOR_BYTES = 512
WRITE_SECTORS_FIELD = 6


def disk_writes(root: Path = ROOT) -> list[dict[str, Any]] | None:
    """Bytes written since boot to each mounted block device ("/dev/…" in /proc/self/mountinfo), one entry per
    device in mount order: {"mount" (its shortest mount point: a sandbox's bind mounts name it again), "device"
    (the kernel's name, e.g. mmcblk0p3), "written_bytes"} from /sys/dev/block/M:m/stat; None without mountinfo."""
    text = _read(root, "proc/self/mountinfo")
    if text is None:
        return None
    mounts: dict[str, str] = {}
    for line in text.splitlines():
        head, _, tail = line.partition(" - ")
        fields, super_fields = head.split(), tail.split()
        if len(fields) < 5 or len(super_fields) < 2 or not super_fields[1].startswith("/dev/"):
            continue
        number, mount = fields[2], fields[4]
        if number not in mounts or len(mount) < len(mounts[number]):
            mounts[number] = mount
    found = []
    for number, mount in mounts.items():
        stat = (_read(root, f"sys/dev/block/{number}/stat") or "").split()
        if len(stat) <= WRITE_SECTORS_FIELD or not stat[WRITE_SECTORS_FIELD].isdigit():
            continue
        name = re.search(r"^DEVNAME=(\S+)$", _read(root, f"sys/dev/block/{number}/uevent") or "", re.MULTILINE)
        found.append(
            {
                "mount": mount,
                "device": name.group(1) if name else number,
                "written_bytes": int(stat[WRITE_SECTORS_FIELD]) * SECTOR_BYTES,
            }
        )
    return found


def _cgroup_number(folder: Path, name: str) -> int | None:
    text = (_read(folder, name) or "").strip()
    return int(text) if text.isdigit() else None


def _cgroup_written(folder: Path) -> int | None:
    """Bytes the cgroup wrote, all devices (io.stat's `wbytes=`), or None without io accounting."""
    text = _read(folder, "io.stat")
    return None if text is None else sum(int(n) for n in re.findall(r"\bwbytes=(\d+)", text))


def service_usage(root: Path = ROOT) -> dict[str, dict[str, int | None]] | None:
    """Each running system service's memory and disk writes from its cgroup (cgroup v2, under
    /sys/fs/cgroup/system.slice, templated units' sub-slices included): {unit: {"memory_bytes" (memory.current),
    "memory_peak_bytes" (memory.peak: the most since the unit started; None before Linux 5.19), "written_bytes"
    (io.stat's wbytes: what its own writes sent to disk since it started; None without io accounting)}}.
    A unit that has ended (a oneshot such as a report) has no cgroup and is not listed. None without the slice."""
    slice_dir = root / "sys/fs/cgroup/system.slice"
    try:
        entries = sorted(slice_dir.iterdir())
    except OSError:
        return None
    folders = []
    for entry in entries:
        if entry.name.endswith(".service"):
            folders.append(entry)
        elif entry.name.endswith(".slice") and entry.is_dir():
            folders.extend(sorted(p for p in entry.iterdir() if p.name.endswith(".service")))
    return {
        folder.name: {
            "memory_bytes": _cgroup_number(folder, "memory.current"),
            "memory_peak_bytes": _cgroup_number(folder, "memory.peak"),
            "written_bytes": _cgroup_written(folder),
        }
        for folder in folders
        if folder.is_dir()
    }


def root_read_only(root: Path = ROOT) -> bool | None:
    """True when the file system at "/" is read-only (the last entry for "/" wins), or None.

    From /proc/self/mountinfo's super options, the file system's own state (errors=remount-ro sets it):
    a service's sandbox (ProtectSystem=strict) makes its view of "/" read-only too, but only in the
    mount's options, so the report and web units would otherwise cry "replace the SD card" on a healthy
    kit (seen in the image's boot test). /proc/mounts' mount options when mountinfo is missing."""
    found = None
    for line in (_read(root, "proc/self/mountinfo") or "").splitlines():
        head, _, tail = line.partition(" - ")
        fields, super_fields = head.split(), tail.split()
        if len(fields) >= 5 and fields[4] == "/" and len(super_fields) >= 3:
            found = "ro" in super_fields[2].split(",")
    if found is not None:
        return found
    for line in (_read(root, "proc/mounts") or "").splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[1] == "/":
            found = "ro" in parts[3].split(",")
    return found


def boot_id(root: Path = ROOT) -> str | None:
    """This boot's random id (/proc/sys/kernel/random/boot_id), or None."""
    text = _read(root, "proc/sys/kernel/random/boot_id")
    return (text.strip() or None) if text else None


def uplink_interfaces(classroom_interface: str, root: Path = ROOT) -> list[str] | None:
    """Interfaces other than the classroom's that carry a default route (IPv4 /proc/net/route, IPv6
    /proc/net/ipv6_route): the kit's ways to the internet. [] when there is none; None when neither table exists."""
    v4, v6 = _read(root, "proc/net/route"), _read(root, "proc/net/ipv6_route")
    if v4 is None and v6 is None:
        return None
    found = []
    for line in (v4 or "").splitlines()[1:]:  # Iface Destination Gateway Flags …; RTF_UP is 0x1
        fields = line.split()
        if len(fields) > 3 and fields[1] == "00000000" and int(fields[3], 16) & 1:
            found.append(fields[0])
    for line in (v6 or "").splitlines():  # dest prefix-len … flags iface; the default route is ::/0
        fields = line.split()
        if len(fields) == 10 and fields[0] == "0" * 32 and fields[1] == "00" and fields[9] != "lo":
            found.append(fields[9])
    return sorted({name for name in found if name != classroom_interface})


def filesystem_use(folder: Path) -> dict[str, int] | None:
    """{"device", "total_bytes", "used_bytes", "free_bytes"} of the filesystem holding `folder` (as df), or None."""
    try:
        stat, device = os.statvfs(folder), os.stat(folder).st_dev
    except OSError:
        return None
    total = stat.f_blocks * stat.f_frsize
    free = stat.f_bavail * stat.f_frsize  # what an unprivileged writer (the tpkit user) can still use
    return {
        "device": device,
        "total_bytes": total,
        "used_bytes": total - stat.f_bfree * stat.f_frsize,
        "free_bytes": free,
    }


def _kernel_errors(errors_argv: list[str], any_argv: list[str], path: str | None) -> str | None:
    """Error lines of the kernel log, or None when the log cannot be read: no output at all, even of
    non-errors, means this user may not read it (not in group systemd-journal/adm) or there is none."""
    text = run(errors_argv, path=path)
    if text is None or text.strip() or (run(any_argv, path=path) or "").strip():
        return text
    return None


def kernel_fs_errors(path: str | None = None) -> int | None:
    """Kernel error lines of this boot about ext4, I/O or the SD host (journalctl, else dmesg), or None."""
    text = _kernel_errors(
        ["journalctl", "-k", "-b", "-p", "err", "-o", "cat", "--no-pager", "-q"],
        ["journalctl", "-k", "-b", "-n", "1", "-o", "cat", "--no-pager", "-q"],
        path,
    )
    if text is None:
        text = _kernel_errors(["dmesg", "--level=emerg,alert,crit,err"], ["dmesg"], path)
    return None if text is None else sum(1 for line in text.splitlines() if FS_ERROR.search(line))


def clock_synchronized(path: str | None = None, root: Path = ROOT) -> bool | None:
    """Whether the clock is synchronised, or None when nothing can tell.

    systemd-timesyncd's own files first: it touches /run/systemd/timesync/synchronized at its first NTP
    synchronisation of the boot, and its runtime folder exists once it runs; no file there means "not yet",
    which is the honest answer on a kit that never got online since it booted (the saved clock only keeps
    time moving forward). No D-Bus round trip: `timedatectl` starts systemd-timedated on demand, which took
    longer than the command time-out on a busy kit and turned "not synchronised" into "not available".
    `timedatectl` (chrony, or no timesyncd) otherwise."""
    if (root / "run/systemd/timesync/synchronized").exists():
        return True
    if (root / "run/systemd/timesync").is_dir():
        return False
    text = (run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"], path=path) or "").strip()
    return {"yes": True, "no": False}.get(text)


def wifi_clients(interface: str, path: str | None = None) -> int | None:
    """Devices associated with the access point on `interface` (`iw dev <iface> station dump`), or None."""
    text = run(["iw", "dev", interface, "station", "dump"], path=path)
    return None if text is None else sum(1 for line in text.splitlines() if line.startswith("Station "))


def unit_states(units: Sequence[str], path: str | None = None) -> dict[str, str] | None:
    """{unit: "active" | "inactive" | "failed" | …} from `systemctl is-active`, or None without systemd."""
    states = (run(["systemctl", "is-active", *units], path=path, any_exit=True) or "").split()
    return dict(zip(units, states)) if len(states) == len(units) else None


def systemd_booted(root: Path = ROOT) -> bool:
    """Whether the machine was booted with systemd as init (sd_booted(3): /run/systemd/system exists)."""
    return (root / "run/systemd/system").is_dir()


# systemd-analyze security reads each unit over D-Bus (or from its file, offline) and scores ~80 directives:
# a few hundred milliseconds a unit on a Pi, so a kit's seven units in one call.
ANALYZE_TIMEOUT_S = 30.0
EXPOSURE = re.compile(r"Overall exposure level for (\S+): (\d+(?:\.\d+)?)")


def unit_exposure(units: Sequence[str], path: str | None = None, offline: bool = False) -> dict[str, float] | None:
    """{unit: exposure score, 0–10} from `systemd-analyze security --no-pager` (loaded units, or unit files with
    `offline`), or None when it is not installed, fails or scores none of them. Units it could not score are
    left out."""
    argv = ["systemd-analyze", "security", "--no-pager", *(["--offline=true"] if offline else []), *units]
    text = run(argv, path=path, timeout_s=ANALYZE_TIMEOUT_S, any_exit=True)
    scores = {name: float(score) for name, score in EXPOSURE.findall(text or "")}
    return scores or None


def nft_tables(path: str | None = None) -> list[str] | None:
    """The nftables tables loaded in the kernel, as "inet tpkit", from `nft list tables`; None when nft is not
    installed or may not read them (it needs CAP_NET_ADMIN: root)."""
    text = run(["nft", "list", "tables"], path=path)
    if text is None:
        return None
    return [line.removeprefix("table ").strip() for line in text.splitlines() if line.startswith("table ")]
