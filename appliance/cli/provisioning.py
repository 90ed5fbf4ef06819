"""`tpkit provision`, `tpkit firstboot`: kit.toml written for kits and applied at boot (no settings file needed)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from appliance.cli.common import add_setting_flags


def add_parsers(commands) -> None:
    _add_provision_command(commands)
    firstboot = commands.add_parser(
        "firstboot",
        help="apply the boot partition's kit.toml to this kit (tpkit-firstboot.service runs it)",
        epilog="Exit status: 0 when every value applied, 1 when any problem was found (the valid values are "
        "applied all the same, and the problems are shown on the admin page). See docs/provisioning.md.",
    )
    firstboot.add_argument(
        "--boot-dir",
        type=Path,
        default=Path("/boot/firmware"),
        help="folder holding kit.toml (default: /boot/firmware)",
    )
    firstboot.add_argument(
        "--root",
        type=Path,
        default=Path("/"),
        help="system root to write /etc files under (default: /; tests use a temporary folder)",
    )
    add_setting_flags(firstboot, ("data_dir", "content_dir"))


def _add_provision_command(commands) -> None:
    from appliance.services.device.provision_fields import FIELDS

    provision = commands.add_parser(
        "provision",
        help="write kit.toml for one kit, or for every school of a CSV (docs/provisioning.md)",
        epilog="Every value is checked before anything is written. Exit status: 0 written, 1 on any problem.",
    )
    where = provision.add_mutually_exclusive_group(required=True)
    where.add_argument("--boot-dir", type=Path, help="write DIR/kit.toml (a mounted boot partition)")
    where.add_argument("--out", type=Path, help="write DIR/<kit_id>/kit.toml for every kit (with --csv)")
    where.add_argument("--image", type=Path, help="write kit.toml into the FAT boot partition of a raw .img (mtools)")
    provision.add_argument(
        "--csv",
        type=Path,
        help="schools.csv: a header row naming the columns below, a row per kit; "
        "with --boot-dir/--image, --kit-id picks the row",
    )
    for name in FIELDS:
        provision.add_argument(
            f"--{name.replace('_', '-')}",
            dest=f"field_{name}",
            metavar="VALUE",
            help=f"the kit's {name} (same as the CSV column)",
        )


def provision(args: argparse.Namespace) -> int:
    """Write checked kit.toml files for one kit or every CSV row into a boot folder, folders per kit, or an image."""
    from appliance.services.device import provision_batch

    fields = {name: getattr(args, f"field_{name}") for name in provision_batch.FIELDS}
    if args.csv:
        kits = provision_batch.from_rows(provision_batch.read_csv(args.csv), str(args.csv))
    else:
        kits = provision_batch.from_rows(
            [{k: v for k, v in fields.items() if v is not None}], "the command line", from_csv=False
        )
    if args.out:
        for path in provision_batch.write_out_dir(kits, args.out):
            print(f"[✓] {path}")
        print(f"[✓] {len(kits)} kit.toml file(s) written; copy each onto its card's boot partition.")
        return 0
    kit = provision_batch.pick(kits, fields["kit_id"] if args.csv else None)
    if args.image:
        offset = provision_batch.write_image(kit, args.image)
        print(f"[✓] kit.toml for {kit.kit_id} written into {args.image} (FAT partition at byte {offset})")
    else:
        print(f"[✓] {provision_batch.write_boot_dir(kit, args.boot_dir)} written for {kit.kit_id}")
    print("[i] It holds secrets until the kit's first boot removes them: keep the card safe until then.")
    return 0


def firstboot(args: argparse.Namespace) -> int:
    """Apply the boot partition's kit.toml; print what was applied and every problem; exit 1 on any problem."""
    from appliance.services.device import firstboot as first_boot

    overrides = {name: getattr(args, name) for name in ("data_dir", "content_dir") if getattr(args, name) is not None}
    outcome = first_boot.run(args.boot_dir, args.root, overrides)
    for line in outcome.applied:
        print(f"[✓] {line}")
    for problem in outcome.problems:
        print(f"[✗] {problem}")
    if outcome.problems:
        print(
            f"[✗] {len(outcome.problems)} problem(s) in {outcome.boot_file}; the valid values were applied and the "
            "kit serves. Fix: correct the file on the boot partition (any laptop can edit it) and reboot; the "
            "admin page shows these problems until then."
        )
        return 1
    print(f"[✓] {outcome.boot_file} applied.")
    return 0


def run(args: argparse.Namespace) -> int:
    """Both run before any settings file is read: first boot is what writes it, so a broken one must not stop it."""
    if args.command == "firstboot":
        logging.basicConfig(level="INFO", format="%(levelname)s %(name)s: %(message)s")
        return firstboot(args)
    return provision(args)
