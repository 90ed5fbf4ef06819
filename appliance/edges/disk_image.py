"""A flashable disk image's FAT boot partition, written without mounting: sfdisk finds it, mtools copies.

Must not import storage, content, services or web. Tests make a real small image (truncate, sfdisk, mkfs.vfat).
"""

from __future__ import annotations

import json
from pathlib import Path

from appliance.edges.commands import call
from appliance.errors import DiskImageError

# sfdisk and mcopy touch a few kilobytes of the image; seconds are plenty even on a slow USB disk.
TIMEOUT_S = 60
# Partition types of a FAT file system: MBR ids (FAT12/16/32, LBA or not; EFI), GPT's basic data and EFI system.
FAT_TYPES = {
    "1",
    "4",
    "6",
    "b",
    "c",
    "e",
    "ef",
    "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7",
    "c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
}
# mtools refuses file systems whose geometry does not divide evenly (common in images); the data is fine.
MTOOLS_ENV = {"MTOOLS_SKIP_CHECK": "1"}
FIX_TOOLS = "Install them: sudo apt-get install fdisk mtools"


def _run(argv: list[str], image: Path) -> str:
    try:
        done = call(argv, timeout_s=TIMEOUT_S, env=MTOOLS_ENV)
    except FileNotFoundError as exc:
        raise DiskImageError(f"Cannot write to {image}: {argv[0]} is not installed.", fix=FIX_TOOLS) from exc
    except TimeoutError as exc:
        raise DiskImageError(
            f"`{argv[0]}` on {image} did not finish within {TIMEOUT_S} s.",
            fix="Copy the image to a local disk and try again.",
        ) from exc
    if done.returncode != 0:
        raise DiskImageError(
            f"`{' '.join(argv)}` failed (exit {done.returncode}): {done.stderr.strip() or 'no message'}",
            cause="The file is not a raw disk image (a compressed .img.xz or .zst?) or is damaged.",
            fix="Decompress the image first (unxz / unzstd), then run the command on the .img file.",
        )
    return done.stdout


def boot_partition_offset(image: Path) -> int:
    """Byte offset of the image's first FAT partition; DiskImageError when it has none or sfdisk fails."""
    table = json.loads(_run(["sfdisk", "--json", str(image)], image))["partitiontable"]
    sector_bytes = int(table.get("sectorsize", 512))
    for partition in table.get("partitions", []):
        if str(partition.get("type", "")).lower() in FAT_TYPES:
            return int(partition["start"]) * sector_bytes
    raise DiskImageError(
        f"{image} has no FAT partition (partition types: "
        f"{', '.join(str(p.get('type')) for p in table.get('partitions', [])) or 'none'}).",
        cause="This is not a Raspberry Pi or tpkit image, or its boot partition is not FAT.",
        fix="Use an image made by ./build.sh image, or write kit.toml onto the card's boot "
        "partition from a laptop after flashing (tpkit provision --boot-dir).",
    )


def copy_into(image: Path, offset: int, source: Path, name: str) -> None:
    """Copy `source` into the FAT file system at byte `offset` of `image` as `name`, replacing any old copy."""
    _run(["mcopy", "-o", "-i", f"{image}@@{offset}", str(source), f"::{name}"], image)
