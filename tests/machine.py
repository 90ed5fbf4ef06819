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
        "proc/meminfo": "MemTotal:        3884332 kB\nMemFree:          100000 kB\nMemAvailable:    2940000 kB\n",
        "proc/mounts": f"/dev/root / ext4 rw,noatime 0 0\nproc /proc proc rw 0 0\n/dev/root / ext4 {root_mount} 0 0\n",
        # A sandboxed service's view (ProtectSystem=strict): "/" bound read-only, the file system itself as root_mount.
        "proc/self/mountinfo": f"22 1 179:2 / / ro,noatime shared:1 - ext4 /dev/root {root_mount},errors=remount-ro\n"
        "23 22 0:21 / /proc rw,nosuid shared:12 - proc proc rw\n",
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
