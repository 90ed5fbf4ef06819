"""The `tpkit` command: the only module that prints or exits.

Builds the settings once and passes them down; every TpkitError is shown with its fix.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from appliance import __version__
from appliance.config import SPEC, Settings, as_environment, load_settings
from appliance.errors import ChannelError, TpkitError

log = logging.getLogger("tpkit")


def _add_setting_flags(parser: argparse.ArgumentParser, names: tuple[str, ...]) -> None:
    parser.add_argument("--config", type=Path, help="TOML settings file (default: $TPKIT_CONFIG, else none)")
    for setting in SPEC:
        if setting.name in names:
            parser.add_argument(f"--{setting.name.replace('_', '-')}", dest=setting.name, help=setting.help)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tpkit",
        description="The teaching-point kit: serves ZIM books (Kiwix-compatible URLs) to a classroom.",
        epilog="Settings come from defaults < TOML file < TPKIT_* environment < flags; see docs/settings.md.",
    )
    parser.add_argument("--version", action="version", version=f"tpkit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser("serve", help="run the web server (library, home page, catalog)")
    _add_setting_flags(serve, ("data_dir", "content_dir", "host", "port", "school_name", "log_level", "web_workers"))
    serve.add_argument("--demo-if-empty", action="store_true",
                       help="build the demo library first when the content folder has no .zim file")
    check = commands.add_parser("check", help="print effective settings and where each came from, and every problem")
    _add_setting_flags(check, ("data_dir", "content_dir"))
    health = commands.add_parser("health", help="print the kit's health and every problem with its fix; exit 1 on any")
    _add_setting_flags(health, ("data_dir", "content_dir", "ap_interface"))
    health.add_argument("--json", action="store_true", help="print the snapshot as JSON (as GET /-/health)")
    demo = commands.add_parser("demo", help="write the bilingual demo books into the content folder")
    _add_setting_flags(demo, ("data_dir", "content_dir"))
    discover = commands.add_parser("discover", help="list the kits that answer on this LAN (mDNS)",
                                   epilog="Exit status: 0 when at least one kit answered, 1 when none did.")
    _add_setting_flags(discover, ("mdns_interfaces",))
    discover.add_argument("--timeout-s", type=float, default=3.0, help="how long to listen (default: 3)")
    discover.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    panel = commands.add_parser("panel", help="run the status lights and button (the only process that claims GPIO pins)")
    _add_setting_flags(panel, ("host", "port", "log_level", "panel_poll_interval_s"))
    _add_channel_commands(commands.add_parser("channel", help="make keys, publish and verify signed channels"))
    backup = commands.add_parser("backup", help="write the kit's database, uploads and keys to one file (while it runs)",
                                 epilog="The file holds password hashes and the kit's key: keep it like a key.")
    backup.add_argument("file", type=Path, help="where to write, e.g. /media/usb/kit-2026-11-28.tpkit-backup")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    _add_setting_flags(backup, ("data_dir", "content_dir", "kit_id"))
    restore = commands.add_parser("restore", help="make this kit's data folder from a backup (stop tpkit-web first)",
                                  epilog="Everything is checked before anything changes; with --force the current "
                                         "data folder is kept beside it as <data_dir>.replaced-<time>.")
    restore.add_argument("file", type=Path, help="a file written by `tpkit backup`")
    restore.add_argument("--force", action="store_true", help="replace a data folder that is not empty")
    _add_setting_flags(restore, ("data_dir", "content_dir"))
    _add_report_command(commands)
    people = commands.add_parser("people", help="import students, teachers and classes (docs/learning-space.md)")
    people_actions = people.add_subparsers(dest="people_command", metavar="ACTION", required=True)
    importer = people_actions.add_parser(
        "import", help="import a class CSV (with --class) or a OneRoster 1.1 set (a folder or .zip)",
        epilog="A class CSV has a header line with `name` and optionally `student_number` and `pin`; PINs not in "
               "the file are made and printed once. Nothing is imported when any line is wrong. Exit 1 then.")
    importer.add_argument("source", type=Path, metavar="FILE_OR_DIR", help="class .csv, or OneRoster folder or .zip")
    importer.add_argument("--class", dest="class_name", help="class to import a .csv into (created if missing)")
    importer.add_argument("--teacher", default="", help="user name of the class's teacher (with --class)")
    _add_setting_flags(importer, ("data_dir", "pin_digits"))
    records = commands.add_parser("records", help="export learning records (xAPI statements; docs/learning-space.md)")
    records_actions = records.add_subparsers(dest="records_command", metavar="ACTION", required=True)
    exporter = records_actions.add_parser(
        "export", help="write learning records as an xAPI 1.0.3 JSON array (to stdout, or --out FILE)",
        epilog="Each statement has the kit's id (a UUID), so importing the file into an LRS twice is harmless. "
               "Actors are pseudonymous ids unless records_real_names is on.")
    exporter.add_argument("--since", type=_day, metavar="DATE", help="only records made on or after DATE (YYYY-MM-DD, UTC)")
    exporter.add_argument("--out", type=Path, metavar="FILE", help="write to FILE (replaced atomically) instead of stdout")
    _add_setting_flags(exporter, ("data_dir", "kit_id"))
    return parser


def _day(text: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-01") from None


def _add_report_command(commands) -> None:
    report = commands.add_parser(
        "report", help="queue a signed heartbeat and deliver the outbox to the county hub (one cycle)",
        description="One reporting cycle: health snapshot, heartbeat and alerts into the outbox, old heartbeats "
                    "folded into daily summaries, then delivery to hub_url (docs/health.md, \"Reporting\").",
        epilog="Exit status: 0 when everything deliverable was delivered (or there was nothing to send, or no "
               "hub_url), 1 when delivery failed, waits for its back-off, or the hub parked a report.")
    _add_setting_flags(report, ("data_dir", "content_dir", "host", "port", "ap_interface", "hub_url",
                                "hub_enrol_token"))
    what = report.add_mutually_exclusive_group()
    what.add_argument("--show-key", action="store_true",
                      help="print the kit's public key line (what a technician registers at the hub) and exit")
    what.add_argument("--status", action="store_true",
                      help="print the outbox (reports per kind, parked ones and why), back-off, enrolment and the "
                           "hub's desired configuration; send nothing")
    what.add_argument("--to", type=Path, metavar="PATH",
                      help="queue a heartbeat, then write every report in the outbox to PATH/tpkit-reports/ (a USB "
                           "stick) for `tpkit hub import`; they stay queued until the hub acknowledges them over HTTP")
    report.add_argument("--json", action="store_true", help="with --status: print it as JSON")
    report.add_argument("--retry-now", action="store_true", help="ignore the back-off and try the hub now")
    report.add_argument("--retry-parked", action="store_true",
                        help="make reports the hub refused deliverable again (after an upgrade), then run the cycle")


def _add_channel_commands(channel: argparse.ArgumentParser) -> None:
    actions = channel.add_subparsers(dest="channel_command", metavar="ACTION", required=True)
    keygen = actions.add_parser("keygen", help="make a minisign key pair: OUT.key (keep it offline) and OUT.pub")
    keygen.add_argument("--out", type=Path, required=True, help="path without extension, e.g. county-2026")
    publish = actions.add_parser("publish", help="index every .zim in DIR and sign the index")
    publish.add_argument("dir", type=Path, help="the channel folder")
    publish.add_argument("--key", type=Path, required=True, help="secret key file (tpkit channel keygen, minisign -G -W)")
    publish.add_argument("--name", required=True, help="channel name, e.g. primary-zh")
    publish.add_argument("--sequence", type=int, help="index sequence (default: the current index's + 1, else 1)")
    publish.add_argument("--expires-days", type=float, default=30, help="days until kits refuse it (default: 30)")
    publish.add_argument("--previous", type=Path, metavar="PREV_DIR", help="folder with the full .zim files published "
                         "last time: write a patch for each book whose bytes changed since (docs/channels.md)")
    publish.add_argument("--max-chain", type=int, default=4, metavar="N", help="patches kept per book in a row; a kit "
                         "further behind fetches the full book (default: 4; 0 publishes no patches)")
    diff = actions.add_parser("diff", help="list the entries added, changed and removed from OLD.zim to NEW.zim")
    diff.add_argument("old", type=Path)
    diff.add_argument("new", type=Path)
    apply = actions.add_parser("apply", help="rebuild a book from BASE.zim and patches, checked against the publisher's")
    apply.add_argument("base", type=Path, help="the book the first patch was made for")
    apply.add_argument("patches", type=Path, nargs="+", help=".zimpatch files, oldest first")
    apply.add_argument("--out", type=Path, required=True, help="where to write the rebuilt book (replaced atomically)")
    verify = actions.add_parser("verify", help="check a channel's signature, expiry, paths and files; exit 1 on any fault")
    verify.add_argument("dir", type=Path, help="the channel folder")
    verify.add_argument("--pub", action="append", help="trusted public key: .pub file or base64 line "
                        "(repeatable; default: the trusted_channel_keys setting)")
    verify.add_argument("--last-sequence", type=int, help="refuse an index whose sequence is not greater")
    for action in (keygen, publish, verify, diff, apply):
        _add_setting_flags(action, ("trusted_channel_keys",) if action is verify else ())


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {s.name: getattr(args, s.name, None) for s in SPEC}
    settings = load_settings(args.config, overrides=overrides)
    for warning in settings.warnings:
        print(f"[i] {warning}", file=sys.stderr)
    return settings


def serve(settings: Settings, demo_if_empty: bool) -> int:
    """Open the kit, print how to reach it, and run uvicorn until SIGTERM/SIGINT."""
    import uvicorn

    from appliance.edges.memory import ARENAS, limit_malloc_arenas
    from appliance.services import auth, demo_library, kit_key
    from appliance.services.kit import open_kit
    from appliance.web.app import create_app

    if demo_if_empty and not demo_library.has_books(settings.content_dir):
        print(f"[i] {settings.content_dir} has no books: building the demo library…")
        for path in demo_library.build(settings.content_dir):
            print(f"[✓] {path}")
    limit_malloc_arenas()
    os.environ.setdefault("MALLOC_ARENA_MAX", str(ARENAS))  # inherited by worker processes at their start
    kit = open_kit(settings)
    kit_key.ensure(kit.paths)  # made at first start, so a technician can register it before the first report
    password = auth.ensure_first_admin(kit.accounts)
    _print_library(kit)
    url = f"http://{settings.host}:{settings.port}/"
    print(f"[✓] tpkit {__version__} serving on {url}")
    if password:
        print(f"[i] One-time administrator password (user 'admin'): {password}")
        print(f"    It is shown only now; sign in at {url}admin and choose your own.")
    # timeout_graceful_shutdown: finish in-flight pages, then exit well inside systemd's TimeoutStopSec.
    options = dict(host=settings.host, port=settings.port, log_level=settings.log_level,
                   timeout_graceful_shutdown=5, server_header=False, access_log=settings.log_level == "debug")
    if settings.web_workers == 1:
        uvicorn.run(create_app(kit), **options)
        return 0
    kit.close()
    os.environ.pop("TPKIT_CONFIG", None)
    os.environ.update(as_environment(settings))
    uvicorn.run("appliance.web.asgi:app_from_environment", factory=True, workers=settings.web_workers, **options)
    return 0


def _print_library(kit) -> None:
    books, damaged = kit.library.books(), kit.library.damaged()
    print(f"[i] Library {kit.paths.content_dir}: {len(books)} book(s), {len(damaged)} damaged")
    for file in damaged:
        print(f"[✗] damaged: {file.path}: {file.reason}")
        print(f"    Fix: copy {file.path.name} again from its source, or remove it.")
    for path in kit.library.pending():
        print(f"[i] being checked (served once its checksum passes): {path}")


def check(settings: Settings) -> int:
    """Print effective settings with their sources and every problem with its fix; exit 1 on problems."""
    from appliance.services.kit import open_kit

    print(f"tpkit {__version__} — effective settings")
    for setting in SPEC:
        value = getattr(settings, setting.name)
        print(f"  {setting.name:<26} = {value!s:<40} ({settings.sources[setting.name]})")
    kit = open_kit(settings)
    try:
        _print_library(kit)
        problems = len(kit.library.damaged())
    finally:
        kit.close()
    print("[✓] No problems found." if not problems else f"[✗] {problems} problem(s) found (see above).")
    return 1 if problems else 0


# Which snapshot line each problem belongs under, so the fix is printed next to the value it explains.
PROBLEM_LINE = {"health.under_voltage": "power", "health.hot": "temperature", "health.disk_nearly_full": "disk",
                "health.books_damaged": "books", "health.clock_unsynchronised": "clock",
                "health.root_read_only": "sd card", "health.fs_errors": "sd card"}


def _unit(value, unit: str) -> str:
    return value if isinstance(value, str) else f"{value} {unit}"


def _memory(memory) -> str:
    if isinstance(memory, str):
        return memory
    return f"{memory['available_bytes'] // 2**20} MB available of {memory['total_bytes'] // 2**20} MB"


def _health_lines(snap: dict) -> list[tuple[str, str]]:
    """(line name, text) for each part of the snapshot a technician looks at."""
    power = snap["throttled"]
    power_text = power if isinstance(power, str) else ", ".join(
        f"{when.replace('_', ' ')}: " + (", ".join(k.replace("_", " ") for k, v in flags.items() if v) or "fine")
        for when, flags in power.items())
    disks = "; ".join(f"{fs['path']} {fs['use_percent']} % used" for fs in snap["filesystems"])
    card = snap["sd_card"]
    return [("uptime", f"{snap['uptime_s']} s, boot number {snap['boot_count']}"),
            ("clock", f"synchronised: {snap['clock']['synchronized']}"),
            ("temperature", _unit(snap["cpu_temp_c"], "°C")), ("power", power_text),
            ("load", _unit(snap["load"], "(1, 5, 15 min)")), ("memory", _memory(snap["memory"])), ("disk", disks),
            ("sd card", f"root read-only: {card['root_read_only']}, kernel disk errors: {card['fs_errors']}"),
            ("wi-fi clients", str(snap["wifi_clients"])),
            ("books", "{served} served, {damaged} damaged, {pending} being checked".format(**snap["books"])),
            ("services", str(snap["services"])),
            ("outbox", f"{snap['outbox_depth']} report(s) waiting for the hub (tpkit report --status)"),
            ("learning, sync", "not available until issues 4 and 3 add them")]


def health(settings: Settings, as_json: bool) -> int:
    """Print the health snapshot (readable, or JSON) with each problem's fix; exit 1 unless status is ok."""
    from appliance.services import health as health_service
    from appliance.services.kit import open_kit

    kit = open_kit(settings)
    try:
        snap = health_service.snapshot(kit)
    finally:
        kit.close()
    if as_json:
        print(json.dumps(snap, ensure_ascii=False, indent=2))
        return 0 if snap["status"] == "ok" else 1
    print(f"tpkit {snap['version']} — health of {snap['kit_id']} ({snap['school_name']}) at {snap['time']}")
    for name, text in _health_lines(snap):
        found = [p for p in snap["problems"] if PROBLEM_LINE[p["code"]] == name]
        mark = "[✗]" if found else "[i]" if health_service.NOT_AVAILABLE in text else "[✓]"
        print(f"{mark} {name}: {text}")
        for problem in found:
            print(f"    {problem['severity']}: {problem['message']}\n    Fix: {problem['fix']}")
    print("[✓] status: ok" if snap["status"] == "ok" else f"[✗] status: {snap['status']} — "
          f"{len(snap['problems'])} problem(s); each fix is printed under its line above.")
    return 0 if snap["status"] == "ok" else 1


def demo(settings: Settings) -> int:
    """Write the demo books into the content folder."""
    from appliance.services import demo_library

    for path in demo_library.build(settings.content_dir):
        print(f"[✓] {path}")
    return 0


def discover(settings: Settings, timeout_s: float, as_json: bool) -> int:
    """Print the kits that answered on the LAN within `timeout_s`; exit 1 when none did."""
    from appliance.services import lan

    if not as_json:
        where = settings.mdns_interfaces
        print(f"[i] Listening for kits on the LAN for {timeout_s:g} s (mdns_interfaces = {where})…")
    kits = lan.discover(settings, timeout_s)
    if as_json:
        print(json.dumps([{"name": k.name, "school": k.school, "kit_id": k.kit_id, "version": k.version,
                           "content": k.content, "mirror_port": k.mirror_port, "addresses": list(k.addresses),
                           "port": k.port, "urls": k.urls} for k in kits], ensure_ascii=False, indent=2))
        return 0 if kits else 1
    if not kits:
        print(f"[✗] No kit answered within {timeout_s:g} s.")
        print("    Fix: join the kit's Wi-Fi (or its LAN), turn off client isolation on the access point, "
              "allow UDP 5353 in the firewall; see docs/field-guide.md, \"Finding a kit on the LAN\".")
        return 1
    print(f"[✓] {len(kits)} kit(s) found")
    for kit in kits:
        print(f"  {kit.school}  (kit {kit.kit_id}, tpkit {kit.version}, content {kit.content})")
        for url in kit.urls:
            print(f"      {url}")


def panel(settings: Settings) -> int:
    """Show the kit's health on the lights and act on the button until SIGTERM/SIGINT; pins released on exit."""
    from appliance.services.panel import start_panel

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    kit_panel = start_panel(settings)
    where = "lights and button on GPIO" if kit_panel.hardware else "no lights (no GPIO), still logging the kit's state"
    print(f"[✓] tpkit panel {__version__}: {where}; asking {kit_panel.url} every "
          f"{settings.panel_poll_interval_s:g} s", flush=True)
    try:
        kit_panel.run(stop)
    finally:
        kit_panel.close()
    return 0


def channel(settings: Settings, args: argparse.Namespace) -> int:
    """Run `tpkit channel keygen|publish|diff|apply|verify`; exit 1 when verification fails."""
    from appliance.services import channel as channels

    if args.channel_command == "keygen":
        public = channels.keygen(args.out)
        print(f"[✓] Secret key {args.out}.key (mode 0600: keep it offline), public key {args.out}.pub (id {public.id_hex})")
        print(public.line)
        return 0
    if args.channel_command == "publish":
        index = channels.publish(args.dir, args.key, args.name, args.sequence, args.expires_days,
                                 previous_dir=args.previous, max_chain=args.max_chain)
        patches = sum(1 for p in index.packages if p.get("kind") == "patch")
        print(f"[✓] Channel {index.channel!r} sequence {index.sequence}: {len(index.packages) - patches} book(s) and "
              f"{patches} patch(es), signed, expires {index.expires.isoformat()}")
        return 0
    if args.channel_command == "diff":
        diff = channels.diff(args.old, args.new)
        for sign, keys in (("+", diff.added), ("~", diff.changed), ("-", diff.removed)):
            for namespace, name in keys:
                print(f"{sign} {namespace}/{name}")
        print(f"[i] {len(diff.added)} added, {len(diff.changed)} changed, {len(diff.removed)} removed")
        return 0
    if args.channel_command == "apply":
        rebuilt = channels.rebuild(args.base, args.patches, args.out)
        print(f"[✓] Rebuilt {rebuilt.path} ({rebuilt.entry_count} entries): equal entry for entry to the publisher's "
              f"book (digest {rebuilt.digest[:16]}…)")
        return 0
    keys = channels.trusted_keys(args.pub or settings.trusted_channel_keys)
    if not keys:
        print("[✗] No trusted key to verify with.\n    Fix: pass --pub KEY.pub or set trusted_channel_keys.")
        return 1
    try:
        index = channels.verify_index(args.dir, keys, args.last_sequence, check_files=True)
    except ChannelError as exc:
        print(f"[✗] {exc.code}: {exc.message}\n    Likely cause: {exc.cause}\n    Fix: {exc.fix}")
        return 1
    print(f"[✓] Channel {index.channel!r} sequence {index.sequence}: signature, expiry "
          f"({index.expires.isoformat()}), paths and {len(index.packages)} package file(s) check out")
    return 0


def backup(settings: Settings, file: Path, force: bool) -> int:
    """Write a backup of the running kit's data folder."""
    from appliance.paths import Paths
    from appliance.services.backup import backup as write_backup
    from appliance.storage.database import Database

    paths = Paths.from_settings(settings)
    db = Database(paths.database) if paths.database.is_file() else None
    summary = write_backup(paths, db, file, settings.kit_id, force=force)
    print(f"[✓] Backup {summary.path}: database (version {summary.schema_version}) and {summary.files - 1} file(s), "
          f"{summary.total_bytes / 1e6:.1f} MB, made {summary.created}")
    print("    It holds password hashes and the kit's key: keep it like a key. Restore with `tpkit restore FILE`.")
    return 0


def restore(settings: Settings, file: Path, force: bool) -> int:
    """Rebuild the data folder from a backup."""
    from appliance.paths import Paths
    from appliance.services.backup import restore as read_backup

    summary = read_backup(file, Paths.from_settings(settings), force=force)
    print(f"[✓] Restored {summary.files} file(s), {summary.total_bytes / 1e6:.1f} MB, of kit {summary.kit_id or '?'} "
          f"(backup made {summary.created}) into {summary.path}")
    print("    Start the kit again (systemctl start tpkit-web, or ./build.sh run).")
    return 0


def _print_error(exc: TpkitError, stream=None) -> None:
    stream = stream or sys.stdout
    print(f"[✗] {exc.message}", file=stream)
    for problem in getattr(exc, "problems", []):  # a roster's every wrong line, not just the first
        print(f"    - {problem}", file=stream)
    if exc.cause:
        print(f"    Likely cause: {exc.cause}", file=stream)
    print(f"    Fix: {exc.fix}", file=stream)


def report(settings: Settings, args: argparse.Namespace) -> int:
    """Run `tpkit report` (one cycle, --show-key, --status or --to PATH); exit 1 when delivery failed."""
    from appliance.services import kit_key, report_cycle, report_export
    from appliance.services.kit import open_kit

    kit = open_kit(settings, with_library=False)  # the snapshot comes from the web server when it runs
    try:
        if args.show_key:
            print(kit_key.ensure(kit.paths).public.line)
            return 0
        if args.status:
            return _report_status(report_cycle.status(kit), args.json)
        if args.to:  # the stick carries the kit's state as of now: a heartbeat first, no delivery
            report_cycle.run(kit, ask_web=True, deliver=False)
            count = report_export.export(kit, args.to)
            print(f"[✓] {count} report(s) written to {args.to / 'tpkit-reports' / settings.kit_id} and synced to the "
                  "stick.\n    They stay in the outbox until the hub acknowledges them (safe: the hub stores each "
                  "report once). At the hub: tpkit hub import <stick folder>")
            return 0
        if args.retry_parked:
            print(f"[i] {kit.outbox.unpark_all()} parked report(s) made deliverable again")
        return _report_cycle(report_cycle.run(kit, retry_now=args.retry_now, ask_web=True), settings)
    finally:
        kit.close()


def _report_cycle(cycle, settings: Settings) -> int:
    sent = cycle.delivery
    print(f"[✓] Queued a heartbeat (status {cycle.status})" + (f" and {cycle.alerts} alert(s)" if cycle.alerts else "")
          + (f"; folded {cycle.folded} old heartbeat(s) into daily summaries" if cycle.folded else "")
          + (f"; {cycle.records} learning record(s)" if cycle.records else ""))
    if sent.no_hub:
        print("[i] hub_url is not set: reports wait in the outbox.\n    To deliver: set hub_url (and hub_enrol_token) "
              "in /etc/tpkit/kit.toml, or carry them on a stick: tpkit report --to /media/usb")
        return 0
    if sent.delivered:
        print(f"[✓] Delivered {sent.delivered} report(s) to {settings.hub_url}")
    for sequence, reason in sent.parked:
        print(f"[✗] The hub refused report {sequence}: {reason}. It is parked (kept, not retried).\n"
              "    Fix: upgrade tpkit to the hub's version, then run: tpkit report --retry-parked")
    if sent.error is not None:
        _print_error(sent.error)
        return 1
    if not sent.parked:
        print("[✓] Nothing left to send." if sent.delivered or sent.enrolled else "[✓] Nothing to send.")
    return 1 if sent.parked else 0


def _report_status(state: dict, as_json: bool) -> int:
    if as_json:
        print(json.dumps(state, ensure_ascii=False, indent=2))
        return 0
    depth = ", ".join(f"{count} {kind}" for kind, count in state["outbox"].items()) or "empty"
    print(f"tpkit report status of {state['kit_id']}")
    print(f"[i] hub: {state['hub_url'] or 'not set (hub_url)'}; enrolled: "
          + (f"yes, {state['enrolled_at']}" if state["enrolled"] else "no"))
    print(f"[i] outbox: {depth}" + (f" ({state['exported']} written to a stick)" if state["exported"] else ""))
    for parked in state["parked"]:
        print(f"[✗] parked {parked['kind']} {parked['sequence']}: {parked['reason']}\n"
              "    Fix: upgrade tpkit to the hub's version, then run: tpkit report --retry-parked")
    if state["last_error"]:
        print(f"[✗] last attempt {state['last_attempt_at']}: {state['last_error']} "
              f"({state['failures']} failure(s) in a row)")
    print(f"[i] next attempt: {state['next_attempt_at']}; last delivery: {state['last_delivered_at'] or 'never'}")
    config = state["desired_config"]
    print("[i] desired configuration from the hub: " + (
        json.dumps(config, ensure_ascii=False, sort_keys=True) + f" (received {state['desired_config_received_at']})"
        if config else "none"))
    return 0


def people_import(settings: Settings, args: argparse.Namespace) -> int:
    """Import a class CSV or a OneRoster set as the console operator; print the PIN sheet once."""
    from appliance.services import oneroster, roster_simple
    from appliance.services.kit import open_kit
    from appliance.services.people import CONSOLE
    from appliance.services.roster_files import read_set

    kit = open_kit(settings)
    try:
        if args.class_name:
            result = roster_simple.import_file(kit.people, CONSOLE, args.source.read_bytes(), args.source.name,
                                               args.class_name, args.teacher, settings.pin_digits)
        elif args.source.suffix.lower() == ".csv":
            print("[✗] A class .csv needs --class NAME.\n    Fix: tpkit people import FILE.csv --class 'Grade 3 A'")
            return 1
        else:
            result = oneroster.import_set(kit.people, CONSOLE, read_set(args.source, oneroster.FILES))
    finally:
        kit.close()
    if args.class_name:
        print(f"[✓] Class {result.class_name!r}: {result.added} student(s) added, {result.updated} updated")
        if result.pins:
            print("[i] PINs (shown only now; hand each child their own):")
            for name, number, pin in result.pins:
                print(f"    {pin}  {name}" + (f"  ({number})" if number else ""))
    else:
        print("[✓] OneRoster set imported: " + ", ".join(f"{count} {what}" for what, count in result.counts.items()))
        print("    Students have no PIN yet: each teacher gives PINs on their class page (/teach).")
    return 0


def records_export(settings: Settings, args: argparse.Namespace) -> int:
    """Print or write the learning records as an xAPI JSON array."""
    from appliance.files import write_atomically
    from appliance.services import records
    from appliance.services.kit import open_kit

    kit = open_kit(settings, with_library=False)
    try:
        found = records.export(kit, args.since)
    finally:
        kit.close()
    text = json.dumps(found, ensure_ascii=False, indent=1) + "\n"
    if args.out is None:
        sys.stdout.write(text)
        return 0
    write_atomically(args.out, text.encode("utf-8"))
    print(f"[✓] {len(found)} learning record(s) written to {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
        logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
        if args.command == "serve":
            return serve(settings, demo_if_empty=args.demo_if_empty)
        if args.command == "check":
            return check(settings)
        if args.command == "health":
            return health(settings, as_json=args.json)
        if args.command == "discover":
            return discover(settings, args.timeout_s, args.json)
        if args.command == "panel":
            return panel(settings)
        if args.command == "channel":
            return channel(settings, args)
        if args.command == "backup":
            return backup(settings, args.file, args.force)
        if args.command == "restore":
            return restore(settings, args.file, args.force)
        if args.command == "report":
            return report(settings, args)
        if args.command == "people":
            return people_import(settings, args)
        if args.command == "records":
            return records_export(settings, args)
        return demo(settings)
    except TpkitError as exc:
        _print_error(exc, sys.stderr)
        return 1
    except OSError as exc:  # a roster file that cannot be read: name it, never a traceback
        print(f"[✗] Cannot read {exc.filename}: {exc.strerror}.\n    Fix: check the path.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
