"""A fake machine for health tests: small shell scripts standing in for vcgencmd, timedatectl, systemctl, iw
and journalctl, and a /proc + /sys tree, all under a temp folder (after pi-hole/pi-hole:test/conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

HEALTHY_COMMANDS = {
    "vcgencmd": 'case "$1" in get_throttled) echo "throttled=0x0";; measure_temp) echo "temp=48.3\'C";; '
    "*) exit 1;; esac",
    "timedatectl": "echo yes",
    "systemctl": 'for unit in "$@"; do [ "$unit" = is-active ] || echo active; done',
    "iw": 'printf "Station aa:bb:cc:dd:ee:01 (on wlan0)\\n\\tinactive time: 10 ms\\n'
    'Station aa:bb:cc:dd:ee:02 (on wlan0)\\n"',
    "journalctl": 'case "$*" in *"-p err"*) ;; *) echo "Booting Linux on physical CPU 0x0";; esac',
}
# What a tired kit in a hot, badly powered classroom says.
SICK_COMMANDS = {
    **HEALTHY_COMMANDS,
    "vcgencmd": 'case "$1" in get_throttled) echo "throttled=0x50005";; measure_temp) echo "temp=81.5\'C";; esac',
    "timedatectl": "echo no",
    "systemctl": "echo active; echo failed; exit 3",
    "journalctl": 'case "$*" in *"-p err"*) echo "EXT4-fs error (device mmcblk0p2): bad block";'
    ' echo "blk_update_request: I/O error, dev mmcblk0";'
    ' echo "brcmfmac: firmware error";; *) echo "Booting Linux";; esac',
}


def fake_commands(folder: Path, scripts: dict[str, str]) -> str:
    """Write each script as an executable in `folder`; return `folder` as a PATH value."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in scripts.items():
        script = folder / name
        script.write_text(f"#!/bin/sh\n{body}\n")
        script.chmod(0o755)
    return str(folder)


def fake_root(
    folder: Path,
    *,
    root_mount: str = "rw,noatime",
    boot_id: str = "3f1c0a4e-0000-4000-8000-000000000001",
    thermal_millidegrees: int = 52300,
) -> Path:
    """A /proc and /sys tree with the files the health snapshot reads."""
    files = {
        "sys/class/thermal/thermal_zone0/temp": f"{thermal_millidegrees}\n",
        "proc/uptime": "3725.50 7000.10\n",
        "proc/loadavg": "0.52 0.41 0.30 1/213 4242\n",
        "proc/meminfo": "MemTotal:        3884332 kB\nMemFree:          100000 kB\nMemAvailable:    2940000 kB\n"
        "SwapTotal:        524284 kB\nSwapFree:         520188 kB\n",
        "proc/vmstat": "nr_free_pages 25000\noom_kill 0\nnr_zone_active_file 1\n",
        "proc/mounts": f"/dev/root / ext4 rw,noatime 0 0\nproc /proc proc rw 0 0\n/dev/root / ext4 {root_mount} 0 0\n",
        # A sandboxed service's view (ProtectSystem=strict): "/" bound read-only, the file system itself as root_mount.
        "proc/self/mountinfo": f"22 1 179:2 / / ro,noatime shared:1 - ext4 /dev/root {root_mount},errors=remount-ro\n"
        "23 22 0:21 / /proc rw,nosuid shared:12 - proc proc rw\n"
        "24 22 179:3 / /var/lib/tpkit rw,noatime shared:2 - ext4 /dev/mmcblk0p3 rw\n"
        "25 22 179:1 / /boot/firmware rw,noatime shared:3 - vfat /dev/mmcblk0p1 rw\n"
        # a sandbox's bind mount of a folder of the data partition: the same device, a longer name
        "26 24 179:3 /srv /var/lib/tpkit/srv rw,noatime shared:4 - ext4 /dev/mmcblk0p3 rw\n",
        # /sys/dev/block/M:m/stat: reads, merges, sectors, ms, then writes, merges, *sectors written*, ms, …
        "sys/dev/block/179:2/stat": "  9000 10 720000 500 4000 300 81920 900 0 1000 1400 0 0 0 0 0 0\n",
        "sys/dev/block/179:2/uevent": "MAJOR=179\nMINOR=2\nDEVNAME=mmcblk0p2\nDEVTYPE=partition\n",
        "sys/dev/block/179:3/stat": "  500 1 40000 50 2000 90 2048000 700 0 600 750 0 0 0 0 0 0\n",
        "sys/dev/block/179:3/uevent": "MAJOR=179\nMINOR=3\nDEVNAME=mmcblk0p3\nDEVTYPE=partition\n",
        "sys/dev/block/179:1/stat": "  50 0 4000 5 2 0 16 1 0 6 6 0 0 0 0 0 0\n",
        "sys/dev/block/179:1/uevent": "MAJOR=179\nMINOR=1\nDEVNAME=mmcblk0p1\nDEVTYPE=partition\n",
        # cgroup v2: the web server (heavy), an idle system unit, and a templated unit in its sub-slice
        "sys/fs/cgroup/system.slice/tpkit-web.service/memory.current": "157286400\n",
        "sys/fs/cgroup/system.slice/tpkit-web.service/memory.peak": "209715200\n",
        "sys/fs/cgroup/system.slice/tpkit-web.service/io.stat": "179:2 rbytes=1 wbytes=4096 rios=1 wios=1 dbytes=0 dios=0\n"
        "179:3 rbytes=5 wbytes=52428800 rios=3 wios=900 dbytes=0 dios=0\n",
        "sys/fs/cgroup/system.slice/cron.service/memory.current": "1048576\n",
        "sys/fs/cgroup/system.slice/cron.service/memory.peak": "2097152\n",
        "sys/fs/cgroup/system.slice/cron.service/io.stat": "",
        "sys/fs/cgroup/system.slice/system-tpkit\\x2dusb\\x2dimport.slice/tpkit-usb-import@sda1.service/memory.current": "33554432\n",
        "proc/sys/kernel/random/boot_id": f"{boot_id}\n",
    }
    for relative, text in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text)
    return folder


def kit_environ(folder: Path, kit_id: str, port: int) -> dict[str, str]:
    """A kit's settings by environment, as its systemd unit gives them (data and content under `folder`, no
    hub_url), with this machine's commands faked healthy on PATH."""
    bin_dir = fake_commands(folder / "bin", HEALTHY_COMMANDS)
    return {
        "TPKIT_DATA_DIR": str(folder / "data"),
        "TPKIT_CONTENT_DIR": str(folder / "content"),
        "TPKIT_KIT_ID": kit_id,
        "TPKIT_PORT": str(port),
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
    }
