"""Mounting a USB stick read-only (nosuid, nodev, noexec) in a private temporary folder, through edges/commands.

Must not import storage, content, services or web. `tpkit import --device` is the only user (run by
tpkit-usb-import@.service, whose PrivateMounts= keeps the mount out of every other process's sight).
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from appliance.edges import commands
from appliance.errors import StickError

log = logging.getLogger(__name__)

MOUNT_OPTIONS = "ro,nosuid,nodev,noexec"  # the kit only reads the stick; nothing on it may run or act as a device
MOUNT_TIMEOUT_S = 60.0  # a slow stick's file system check on mount takes seconds, not minutes
DEVICE = re.compile(r"^/dev/[A-Za-z0-9._:/-]+$")


@contextmanager
def mounted(device: str) -> Iterator[Path]:
    """Mount `device` read-only in a new private folder for the block; unmount and remove the folder after."""
    if not DEVICE.match(device) or ".." in device.split("/"):
        raise StickError(
            f"{device!r} is not a device path under /dev.",
            code="stick.mount_failed",
            fix="Give the partition, e.g. --device /dev/sda1 (lsblk lists them).",
        )
    folder = Path(tempfile.mkdtemp(prefix="tpkit-stick-"))
    try:
        _run(["mount", "-o", MOUNT_OPTIONS, device, str(folder)], device)
        try:
            yield folder
        finally:
            done = _call(["umount", str(folder)], device)
            if done.returncode != 0:
                log.warning(
                    "stick: umount %s failed (%s); the unit's private mount goes away when it stops",
                    folder,
                    done.stderr.strip(),
                )
    finally:
        try:
            folder.rmdir()
        except OSError:
            log.warning("stick: could not remove the mount folder %s", folder)


def _call(argv: list[str], device: str) -> commands.Finished:
    try:
        return commands.call(argv, timeout_s=MOUNT_TIMEOUT_S)
    except (FileNotFoundError, TimeoutError) as exc:
        raise StickError(
            f"Cannot run {argv[0]} for {device}: {exc}.",
            code="stick.mount_failed",
            fix="Install util-linux's mount (sudo apt-get install mount) and run as root (the "
            "tpkit-usb-import@ unit does).",
        ) from exc


def _run(argv: list[str], device: str) -> None:
    done = _call(argv, device)
    if done.returncode != 0:
        raise StickError(
            f"Cannot mount {device} read-only: {done.stderr.strip() or f'mount exit {done.returncode}'}.",
            code="stick.mount_failed",
            cause="The stick was pulled out, its file system is damaged or not supported, or this is not run as root.",
            fix="Put the stick in again; check it on a computer (vfat, exfat, ntfs and ext4 work); "
            "or mount it yourself and run `tpkit import /media/usb`.",
        )
