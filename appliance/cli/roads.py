"""`tpkit import`, `tpkit export`, `tpkit mirror`: books by USB stick and from kit to kit (docs/sync.md, "Other roads in")."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from appliance.cli.common import add_setting_flags, mb
from appliance.config import Settings

SYNC_FLAGS = (
    "data_dir",
    "content_dir",
    "sync_channels",
    "sync_packages",
    "sync_tags",
    "disk_reserve_mb",
    "trusted_channel_keys",
    "mirror_port",
    "log_level",
)


def add_parsers(commands) -> None:
    imports = commands.add_parser(
        "import",
        help="import books from a USB stick: its tpkit/ channels (verified like a "
        "mirror) and loose .zim files (unsigned: they wait for approval, `tpkit books waiting`)",
        epilog="Exit status: 0 when everything on the stick was imported or already there, "
        "1 when something was refused (each refusal names its fix).",
    )
    where = imports.add_mutually_exclusive_group(required=True)
    where.add_argument("path", nargs="?", type=Path, help="the folder where the stick is mounted")
    where.add_argument(
        "--device",
        help="a partition (e.g. /dev/sdb1): mounted read-only, nosuid, nodev, noexec in a "
        "private folder for the import (needs root; tpkit-usb-import@.service does this)",
    )
    add_setting_flags(imports, SYNC_FLAGS)
    export = commands.add_parser(
        "export",
        help="write this kit's channels (signed indexes and the books it has) to "
        "PATH/tpkit/ for a kit that never gets online",
        epilog="Exit status: 0 when written, 1 when refused (no space: says how much is needed).",
    )
    export.add_argument("path", type=Path, help="the folder where the stick is mounted")
    add_setting_flags(export, SYNC_FLAGS)
    mirror = commands.add_parser("mirror", help="this kit as a read-only rsync mirror for other kits on the LAN")
    actions = mirror.add_subparsers(dest="mirror_command", metavar="ACTION", required=True)
    serve = actions.add_parser(
        "serve",
        help="refresh the mirror tree, then become the rsync daemon on mirror_port (tpkit-mirror.service runs this)",
    )
    refresh = actions.add_parser(
        "refresh", help="bring the mirror tree in line with the books installed (sync does this after each run)"
    )
    for action in (serve, refresh):
        add_setting_flags(
            action, ("data_dir", "content_dir", "sync_channels", "trusted_channel_keys", "mirror_port", "host")
        )


def _open(settings: Settings, **options):
    from appliance.services.kit import open_store
    from appliance.services.sync.engine import Engine

    db = open_store(settings).db
    return Engine(settings, db, peers={}, **options), db


def _close(engine, db) -> None:
    """Close the database; when run as root (the import unit mounts; a technician with sudo), hand what was written
    back to the data folder's owner, so the web server and sync (user tpkit) can keep writing."""
    from appliance.services.sync import stick_import

    db.close()
    stick_import.hand_back(engine.paths)


def _print_import(report) -> None:
    for name in report.skipped_channels:
        print(f"[i] channel {name} on the stick: not in sync_channels, left alone")
    if report.result is not None:
        r = report.result
        print(
            f"[✓] Channels {', '.join(report.channels)}: {r.added} added, {r.updated} updated, {r.removed} removed "
            f"(signatures, sequences, expiry, SHA-256 and libzim checked)"
        )
        if r.detail:  # how each update came (by patch, or whole and why: the stick lacks the patch), the bytes copied
            print(f"[i] {r.detail}")
        for note in report.plan.notes:
            print(f"[i] skipped: {note}")
    if report.error is not None:
        exc = report.error
        print(f"[✗] Channels {', '.join(report.channels)}: {exc.code}: {exc.message}")
        if exc.cause:
            print(f"    Likely cause: {exc.cause}")
        print(f"    Fix: {exc.fix}\n    The library is as it was before for what was not switched.")
    for book in report.local:
        if book.outcome == "refused":
            print(
                f"[✗] {book.file}: refused: {book.message}.\n    Fix: copy the book onto the stick again from its "
                "source (the whole file), or leave it out; nothing in the library changed for it."
            )
        else:
            note = f" — {book.message}" if book.message else ""
            what = "waiting for approval" if book.outcome == "waiting" else book.outcome
            print(f"[✓] {book.file}: {what} as {book.book_id} (unsigned){note}")
    if any(book.outcome == "waiting" for book in report.local):
        print(
            "[i] Unsigned books are not served until a teacher or the administrator enables them: "
            "/admin/books on the kit's page, or `tpkit books waiting` and `tpkit books enable ID`."
        )


def run_import(settings: Settings, args: argparse.Namespace) -> int:
    """`tpkit import PATH | --device DEV`; what it does is also written for the 内容 page (services/sync/stick_status)."""
    from appliance.cli.content import _exit_on_signal, _ProgressBar
    from appliance.errors import TpkitError
    from appliance.services.sync import stick_import
    from appliance.services.sync.stick_status import StickStatus

    signal.signal(signal.SIGTERM, _exit_on_signal)  # the stick pulled out: systemd stops the unit
    engine, db = _open(settings)
    status = StickStatus(engine.paths, args.device or str(args.path))
    bar = _ProgressBar()

    def on_event(event) -> None:
        bar(event)
        status.on_event(event)

    try:
        if args.device:
            from appliance.edges import stick

            with stick.mounted(args.device) as folder:
                print(f"[i] {args.device} mounted read-only at {folder}")
                status.found(folder)
                report = stick_import.import_folder(settings, db, folder, on_event=on_event, source=args.device)
                status.finished(report)
        else:
            if args.path.is_dir():
                status.found(args.path)
            report = stick_import.import_folder(settings, db, args.path, on_event=on_event, source=str(args.path))
            status.finished(report)
        status.unplugged_safely()
    except TpkitError as exc:
        status.failed(exc.code)
        raise
    except SystemExit:
        status.failed("stick.stopped")
        raise
    finally:
        _close(engine, db)
    _print_import(report)
    return 0 if report.ok else 1


def run_export(settings: Settings, args: argparse.Namespace) -> int:
    """`tpkit export PATH`."""
    from appliance.services.sync import stick_export as export

    engine, db = _open(settings)
    try:
        with engine.locked():
            kept, skipped = engine.kept_channels()
            done = export.export_to_stick(engine.paths, args.path, kept, skipped)
    finally:
        _close(engine, db)
    for note in done.skipped:
        print(f"[i] not exported: {note}")
    for ch in done.channels:
        # the patches this kit applied as layers: a kit at the version before imports by patch (docs/sync.md)
        patches = f" and {len(ch.patches)} patch(es) for kits at an older version" if ch.patches else ""
        print(
            f"[✓] {ch.name} sequence {ch.sequence}: signed index and {len(ch.books)} book(s){patches} in "
            f"{args.path / export.STICK_FOLDER / ch.name}"
        )
    print(
        f"[✓] {len(done.written)} book(s) written ({mb(done.bytes_written)}), {len(done.unchanged)} already on the "
        f"stick. On the other kit: `tpkit import {args.path}` (or just insert the stick)."
    )
    return 0


def run_mirror(settings: Settings, args: argparse.Namespace) -> int:
    """`tpkit mirror refresh|serve`."""
    from appliance.services.sync import peers, stick_export as export

    engine, db = _open(settings)
    try:
        with engine.locked():
            books = export.refresh_mirror(
                engine.paths, settings, engine.settings_channels(), engine.installed.all(), engine.clock()
            )
    finally:
        _close(engine, db)
    if not settings.mirror_port:  # refresh_mirror removed the tree
        print(
            "[i] mirror_port is 0: this kit is not a peer mirror (nothing served).\n"
            "    To serve: set mirror_port (e.g. 8873) in /etc/tpkit/kit.toml, then systemctl restart tpkit-mirror."
        )
        return 0
    print(f"[✓] Mirror tree {engine.paths.mirror_dir}: {books} book(s)", flush=True)
    if args.mirror_command == "refresh":
        return 0
    print(f"[i] Serving it read-only: rsync://{settings.host}:{settings.mirror_port}/{peers.MODULE}", flush=True)
    peers.serve(engine.paths, settings)  # becomes rsync: does not return
    return 0


def run(settings: Settings, args: argparse.Namespace) -> int:
    return {"import": run_import, "export": run_export, "mirror": run_mirror}[args.command](settings, args)
