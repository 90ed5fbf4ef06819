"""`tpkit provision`: kit.toml files for one kit or for every school of a CSV, checked before any is written,
then written into a boot folder, one folder per kit, or a disk image's FAT partition.

Must not import web or cli.
"""

from __future__ import annotations

import csv
import dataclasses
import re
import tempfile
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from appliance.edges import disk_image
from appliance.errors import ProvisioningError
from appliance.services.device import kit_toml as provisioning
from appliance.services.device.provision_fields import FIELDS, HUB_FIELDS, LISTS, WHOLE_NUMBERS
from appliance.services.people.auth import hash_password


@dataclasses.dataclass(frozen=True)
class KitToml:
    """One kit's provisioning file, checked."""

    kit_id: str
    text: str


def from_rows(rows: Iterable[Mapping[str, str]], origin: str, from_csv: bool = True) -> list[KitToml]:
    """A checked kit.toml per row; ProvisioningError naming every bad value of every row (nothing half-done)."""
    kits, problems = [], []
    for number, row in enumerate(rows, start=2):  # row 1 of a CSV is its header
        where = f"{origin} row {number}" if from_csv else origin
        unknown = sorted(set(row) - set(FIELDS) - set(HUB_FIELDS) - {None})  # the hub's columns are left alone
        if unknown:
            problems.append(
                f"{where}: unknown column(s) {', '.join(unknown)} (known: {', '.join(FIELDS + HUB_FIELDS)})"
            )
        text = provisioning.render(_values(row))
        checked = provisioning.check(tomllib.loads(text), where)
        if not row.get("admin_password") and not row.get("admin_password_hash"):
            checked.problems.append(
                f"admin_password in {where} is missing: a kit has no default password, "
                "so give one (it is stored only as an argon2id hash)"
            )
        problems += checked.problems
        kits.append(KitToml(checked.kit_id or "", text))
    ids = [k.kit_id for k in kits if k.kit_id]
    problems += [
        f"kit_id {kit_id!r} appears {ids.count(kit_id)} times in {origin}"
        for kit_id in sorted(set(ids))
        if ids.count(kit_id) > 1
    ]
    if problems:
        raise ProvisioningError(
            f"{len(problems)} problem(s); no kit.toml was written:\n  - " + "\n  - ".join(problems),
            fix="Correct each value named above, then run the same command again.",
        )
    return kits


def _values(row: Mapping[str, str]) -> dict:
    values: dict[str, Any] = {k: (v or "").strip() for k, v in row.items() if k in FIELDS}
    for name in LISTS:
        values[name] = [part for part in re.split(r"[\s,]+", values.get(name, "")) if part]
    for name in WHOLE_NUMBERS:
        if values.get(name, "").isdigit():
            values[name] = int(values[name])
    if values.get("admin_password"):
        values["admin_password_hash"] = hash_password(values.pop("admin_password"))
    if values.get("default_language"):
        values["settings"] = {"default_language": values.pop("default_language")}
    return values


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a schools CSV (UTF-8, a header row naming FIELDS); ProvisioningError when unreadable."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ProvisioningError(
            f"Cannot read {path}: {exc}.",
            fix=f"Save the sheet as CSV UTF-8 with a header row naming the columns ({', '.join(FIELDS)}).",
        ) from exc
    if not rows:
        raise ProvisioningError(f"{path} has no rows below its header.", fix="Add one row per kit.")
    return rows


def pick(kits: list[KitToml], kit_id: str | None) -> KitToml:
    """The one kit to write to a boot folder or an image: the only one, or the one named `kit_id`."""
    chosen = [k for k in kits if kit_id is None or k.kit_id == kit_id]
    if len(chosen) != 1:
        raise ProvisioningError(
            f"{len(chosen)} kits match where one is needed "
            f"({'kit_id ' + repr(kit_id) if kit_id else 'the CSV has several rows'}).",
            fix="Name one with --kit-id, or use --out DIR to write one folder per kit.",
        )
    return chosen[0]


def write_boot_dir(kit: KitToml, boot_dir: Path) -> Path:
    """Write kit.toml into a mounted boot partition (or any folder); return its path."""
    if not boot_dir.is_dir():
        raise ProvisioningError(
            f"{boot_dir} is not a folder.",
            fix="Mount the card's boot partition and name "
            "its folder (on a laptop it is the drive called bootfs or firmware).",
        )
    target = boot_dir / provisioning.BOOT_FILE_NAME
    provisioning.write_atomically(target, kit.text, 0o644)
    return target


def write_out_dir(kits: list[KitToml], out_dir: Path) -> list[Path]:
    """Write OUT/<kit_id>/kit.toml for every kit; return the paths."""
    written = []
    for kit in kits:
        (out_dir / kit.kit_id).mkdir(parents=True, exist_ok=True)
        written.append(write_boot_dir(kit, out_dir / kit.kit_id))
    return written


def write_image(kit: KitToml, image: Path) -> int:
    """Copy kit.toml into the FAT boot partition of a raw disk image; return the partition's byte offset."""
    if not image.is_file():
        raise ProvisioningError(f"{image} is not a file.", fix="Name the .img file made by ./build.sh image.")
    offset = disk_image.boot_partition_offset(image)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / provisioning.BOOT_FILE_NAME
        source.write_text(kit.text)
        disk_image.copy_into(image, offset, source, provisioning.BOOT_FILE_NAME)
    return offset
