"""The machine-wide changes first boot makes: the time zone (timedatectl), growing the data partition
to fill the card (findmnt, growpart, resize2fs) and the SSH host keys (ssh-keygen). The only module that runs them.

Must not import storage, content, services or web. Tests put fake executables first on PATH.
"""

from __future__ import annotations

import re
from pathlib import Path

from appliance.edges.commands import call
from appliance.errors import SystemCommandError

# timedatectl and findmnt answer at once; growpart rewrites one partition table entry.
QUICK_TIMEOUT_S = 30
# resize2fs of a 128 GB card grows the block groups online; minutes on a slow card.
RESIZE_TIMEOUT_S = 600
# The Debian package that brings each command, for the fix.
PACKAGES = {
    "timedatectl": "systemd",
    "findmnt": "util-linux",
    "growpart": "cloud-guest-utils",
    "resize2fs": "e2fsprogs",
    "ssh-keygen": "openssh-client",
}
# /dev/mmcblk0p3 -> (/dev/mmcblk0, 3); /dev/sda2 -> (/dev/sda, 2); /dev/nvme0n1p2 -> (/dev/nvme0n1, 2).
PARTITION = re.compile(r"^(?P<disk>/dev/(?:\w+\d+(?=p\d+$)|[a-z]+(?=\d+$)))p?(?P<number>\d+)$")


def _call(argv: list[str], timeout_s: float) -> str:
    try:
        done = call(argv, timeout_s=timeout_s)
    except FileNotFoundError as exc:
        raise SystemCommandError(
            f"Cannot run `{argv[0]}`: it is not installed.",
            fix=f"Add the package {PACKAGES[argv[0]]} to the image (apt-get install {PACKAGES[argv[0]]}).",
        ) from exc
    except TimeoutError as exc:
        raise SystemCommandError(
            f"`{' '.join(argv)}` did not finish within {timeout_s} s.",
            fix="Look at `journalctl -b` for a failing disk or a stuck D-Bus.",
        ) from exc
    if done.returncode != 0:
        raise SystemCommandError(
            f"`{' '.join(argv)}` failed (exit {done.returncode}): "
            f"{' '.join((done.stderr + ' ' + done.stdout).split()) or 'no message'}",
            fix="Run the command by hand as root to see why; the kit keeps working meanwhile.",
        )
    return done.stdout


def set_time_zone(zone: str) -> None:
    """Set the system time zone (an IANA name such as Asia/Shanghai); SystemCommandError when refused."""
    _call(["timedatectl", "set-timezone", zone], QUICK_TIMEOUT_S)


def grow_partition_of(folder: Path) -> str:
    """Grow the partition holding `folder` and its ext4 file system to fill the disk; return what was done.

    Already full size is not an error (growpart says NOCHANGE). SystemCommandError when a tool fails."""
    source = _call(["findmnt", "--noheadings", "--output", "SOURCE", "--target", str(folder)], QUICK_TIMEOUT_S).strip()
    match = PARTITION.match(source)
    if not match:
        return f"{folder} is on {source or 'an unknown device'}, not a disk partition: nothing to grow"
    disk, number = match["disk"], match["number"]
    try:
        _call(["growpart", disk, number], QUICK_TIMEOUT_S)
    except SystemCommandError as exc:
        if "NOCHANGE" in exc.message:
            return f"{source} already fills {disk}"
        raise
    _call(["resize2fs", source], RESIZE_TIMEOUT_S)
    return f"grew {source} to fill {disk}"


def make_ssh_host_keys(root: Path) -> str:
    """Generate the SSH host keys missing under `root`/etc/ssh (each kit its own; the image ships none).
    Nothing to do on a system without OpenSSH's /etc/ssh."""
    if not (root / "etc/ssh").is_dir():
        return "SSH host keys: no /etc/ssh (OpenSSH is not installed)"
    _call(["ssh-keygen", "-A", "-f", str(root)], QUICK_TIMEOUT_S)
    return f"SSH host keys made in {root / 'etc/ssh'}"
