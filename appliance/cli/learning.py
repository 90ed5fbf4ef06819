"""`tpkit records export`, `tpkit backup`, `tpkit restore`: people's work (`tpkit people` is cli/people.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from appliance import strict_json
from appliance.cli.common import add_setting_flags, day
from appliance.config import Settings


def add_parsers(commands) -> None:
    backup = commands.add_parser(
        "backup",
        help="write the kit's database, uploads and keys to one file (while it runs)",
        epilog="The file holds password hashes and the kit's key: keep it like a key.",
    )
    backup.add_argument("file", type=Path, help="where to write, e.g. /media/usb/kit-2026-11-28.tpkit-backup")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    add_setting_flags(backup, ("data_dir", "content_dir", "kit_id"))
    restore = commands.add_parser(
        "restore",
        help="make this kit's data folder from a backup (stop tpkit-web first)",
        epilog="Everything is checked before anything changes; with --force the current "
        "data folder is kept beside it as <data_dir>.replaced-<time>.",
    )
    restore.add_argument("file", type=Path, help="a file written by `tpkit backup`")
    restore.add_argument("--force", action="store_true", help="replace a data folder that is not empty")
    add_setting_flags(restore, ("data_dir", "content_dir"))
    records = commands.add_parser("records", help="export learning records (xAPI statements; docs/learning-space.md)")
    records_actions = records.add_subparsers(dest="records_command", metavar="ACTION", required=True)
    exporter = records_actions.add_parser(
        "export",
        help="write learning records as an xAPI 1.0.3 JSON array (to stdout, or --out FILE)",
        epilog="Each statement has the kit's id (a UUID), so importing the file into an LRS twice is harmless. "
        "Actors are pseudonymous ids unless records_real_names is on.",
    )
    exporter.add_argument(
        "--since", type=day, metavar="DATE", help="only records made on or after DATE (YYYY-MM-DD, UTC)"
    )
    exporter.add_argument(
        "--out", type=Path, metavar="FILE", help="write to FILE (replaced atomically) instead of stdout"
    )
    add_setting_flags(exporter, ("data_dir", "kit_id"))


def backup(settings: Settings, file: Path, force: bool) -> int:
    """Write a backup of the running kit's data folder."""
    from appliance.services.device.backup import backup as write_backup
    from appliance.services.kit import kit_paths, open_database

    paths = kit_paths(settings)
    db = open_database(paths, migrate=False) if paths.database.is_file() else None
    summary = write_backup(paths, db, file, settings.kit_id, force=force)
    print(
        f"[✓] Backup {summary.path}: database (version {summary.schema_version}) and {summary.files - 1} file(s), "
        f"{summary.total_bytes / 1e6:.1f} MB, made {summary.created}"
    )
    print("    It holds password hashes and the kit's key: keep it like a key. Restore with `tpkit restore FILE`.")
    return 0


def restore(settings: Settings, file: Path, force: bool) -> int:
    """Rebuild the data folder from a backup."""
    from appliance.services.device.backup import restore as read_backup
    from appliance.services.kit import kit_paths

    summary = read_backup(file, kit_paths(settings), force=force)
    print(
        f"[✓] Restored {summary.files} file(s), {summary.total_bytes / 1e6:.1f} MB, of kit {summary.kit_id or '?'} "
        f"(backup made {summary.created}) into {summary.path}"
    )
    print("    Start the kit again (systemctl start tpkit-web, or ./build.sh run).")
    return 0


def records_export(settings: Settings, args: argparse.Namespace) -> int:
    """Print or write the learning records as an xAPI JSON array."""
    from appliance.files import write_atomically
    from appliance.services.kit import open_kit
    from appliance.services.learning import records

    kit = open_kit(settings, with_library=False)
    try:
        found = records.export(kit, args.since)
    finally:
        kit.close()
    text = strict_json.dumps(found, ensure_ascii=False, indent=1) + "\n"
    if args.out is None:
        sys.stdout.write(text)
        return 0
    write_atomically(args.out, text.encode("utf-8"))
    print(f"[✓] {len(found)} learning record(s) written to {args.out}")
    return 0


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "backup":
        return backup(settings, args.file, args.force)
    if args.command == "restore":
        return restore(settings, args.file, args.force)
    return records_export(settings, args)
