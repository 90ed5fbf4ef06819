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
    sync = commands.add_parser("sync", help="fetch the subscribed channels and update the library (docs/sync.md)",
                               epilog="Exit status: 0 when the run (or plan) succeeded, 1 when it stopped; "
                                      "the message names the fix.")
    _add_setting_flags(sync, ("data_dir", "content_dir", "sync_source", "sync_channels", "sync_packages", "sync_tags",
                              "disk_reserve_mb", "sync_rate_cap_kbps", "sync_windows", "sync_month_budget_mb",
                              "sync_yield_kbps", "sync_yield_pause_s", "sync_yield_resume_s", "uplink_interface",
                              "ap_interface", "trusted_channel_keys", "log_level"))
    mode = sync.add_mutually_exclusive_group()
    mode.add_argument("--plan", action="store_true", help="show what a run would add, update and remove, with "
                      "sizes and the disk check; download nothing")
    mode.add_argument("--history", action="store_true", help="list the last sync runs")
    content = commands.add_parser("content", help="manage the books sync installed")
    actions = content.add_subparsers(dest="content_command", metavar="ACTION", required=True)
    rollback = actions.add_parser("rollback", help="put the previous version of BOOK back (kept until the next "
                                  "successful sync after its update)")
    rollback.add_argument("book", help="the book's id (its file name without .zim)")
    _add_setting_flags(rollback, ("data_dir", "content_dir"))
    _add_provision_command(commands)
    firstboot = commands.add_parser(
        "firstboot", help="apply the boot partition's kit.toml to this kit (tpkit-firstboot.service runs it)",
        epilog="Exit status: 0 when every value applied, 1 when any problem was found (the valid values are "
        "applied all the same, and the problems are shown on the admin page). See docs/provisioning.md.")
    firstboot.add_argument("--boot-dir", type=Path, default=Path("/boot/firmware"),
                           help="folder holding kit.toml (default: /boot/firmware)")
    firstboot.add_argument("--root", type=Path, default=Path("/"),
                           help="system root to write /etc files under (default: /; tests use a temporary folder)")
    _add_setting_flags(firstboot, ("data_dir", "content_dir"))
    _add_hub_commands(commands.add_parser("hub", help="the county hub: serve, register kits, import USB reports"))
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


def _add_provision_command(commands) -> None:
    from appliance.services.provisioner import FIELDS

    provision = commands.add_parser(
        "provision", help="write kit.toml for one kit, or for every school of a CSV (docs/provisioning.md)",
        epilog="Every value is checked before anything is written. Exit status: 0 written, 1 on any problem.")
    where = provision.add_mutually_exclusive_group(required=True)
    where.add_argument("--boot-dir", type=Path, help="write DIR/kit.toml (a mounted boot partition)")
    where.add_argument("--out", type=Path, help="write DIR/<kit_id>/kit.toml for every kit (with --csv)")
    where.add_argument("--image", type=Path, help="write kit.toml into the FAT boot partition of a raw .img (mtools)")
    provision.add_argument("--csv", type=Path, help="schools.csv: a header row naming the columns below, a row per kit; "
                           "with --boot-dir/--image, --kit-id picks the row")
    for name in FIELDS:
        provision.add_argument(f"--{name.replace('_', '-')}", dest=f"field_{name}", metavar="VALUE",
                               help=f"the kit's {name} (same as the CSV column)")


HUB_SETTINGS = ("hub_data_dir", "hub_database_url", "log_level")


def _add_hub_commands(hub: argparse.ArgumentParser) -> None:
    actions = hub.add_subparsers(dest="hub_command", metavar="ACTION", required=True)
    serve = actions.add_parser("serve", help="run the hub: kits' API, /metrics and the technicians' dashboard")
    _add_setting_flags(serve, HUB_SETTINGS + ("hub_host", "hub_port", "hub_workers", "hub_threads"))
    kit = actions.add_parser("kit", help="register kits and set their desired configuration")
    kit_actions = kit.add_subparsers(dest="kit_command", metavar="KIT_ACTION", required=True)
    add = kit_actions.add_parser("add", help="register a kit and print its one-time enrolment token")
    add.add_argument("kit_id", help="the kit's id (its kit_id setting), e.g. gs-0042")
    add.add_argument("--school", required=True, help="school name, as the dashboard shows it")
    add.add_argument("--district", required=True, help="district, for filters and metrics labels")
    add.add_argument("--location", default="", help="where the kit is (free text)")
    add.add_argument("--new-token", action="store_true", help="issue a new token for a registered kit (re-enrolment)")
    config = kit_actions.add_parser("config", help="set a kit's desired configuration (a new version each time)")
    config.add_argument("kit_id")
    config.add_argument("--sync-channels", help="comma-separated channel names, e.g. primary-zh")
    config.add_argument("--sync-windows", help='e.g. "Mon-Fri 16:00-07:00, Sat-Sun"')
    config.add_argument("--sync-rate-cap-kbps", type=int, help="upper bound on the kit's sync rate")
    config.add_argument("--sync-month-budget-mb", type=int, help="bytes the kit may sync per month, in MB")
    listing = kit_actions.add_parser("list", help="list registered kits with status and alerts")
    imports = actions.add_parser("import", help="ingest the reports on a USB stick (tpkit report --to)",
                                 epilog="Exit status: 0 when no report was refused, 1 otherwise.")
    imports.add_argument("path", type=Path, help="the folder that contains tpkit-reports/")
    technician = actions.add_parser("technician", help="add a technician (or set a password)")
    technician.add_argument("username")
    forward = actions.add_parser("forward", help="send queued learning records to the xAPI LRS (hub_lrs_url)",
                                 epilog="Exit status: 0 when nothing due is left, 1 when the LRS failed or refused.")
    forward.add_argument("--status", action="store_true", help="only count what is queued, forwarded and failing")
    for action in (add, config, listing, imports, technician):
        _add_setting_flags(action, HUB_SETTINGS)
    _add_setting_flags(forward, HUB_SETTINGS + ("hub_lrs_url", "hub_lrs_auth"))


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


def _mb(size_bytes: int) -> str:
    return f"{size_bytes / 2**20:.1f} MB"


def _print_plan(plan, check) -> None:
    print(f"{'action':<8} {'book':<28} {'channel':<16} {'version':<24} {'size':>10}")
    for step in plan.steps:
        version = f"{step.installed_version} → {step.version}" if step.action == "update" else step.version
        print(f"{step.action:<8} {step.package_id:<28} {step.channel:<16} {version:<24} {_mb(step.size_bytes):>10}")
    if not plan.steps:
        print("(nothing to do: the library matches the channels)")
    for note in plan.notes:
        print(f"[i] skipped: {note}")
    print(f"[i] {len(plan.unchanged)} book(s) already up to date; {plan.count('add')} to add, {plan.count('update')} to "
          f"update, {plan.count('remove')} to remove; {_mb(plan.download_bytes)} to download")
    mark = "[✓]" if check.ok else "[✗]"
    print(f"{mark} disk: {_mb(check.free_bytes)} free, {_mb(check.needed_bytes)} needed, "
          f"{_mb(check.reserve_bytes)} kept in reserve (disk_reserve_mb)")


class _ProgressBar:
    """A plain-text progress bar: redrawn in place on a terminal, one line per 10 % step in a log."""

    WIDTH = 30

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self.shown: tuple[str, int] = ("", -1)

    def __call__(self, event) -> None:
        if event.kind == "download" and event.total_bytes:
            self._bar(event)
        elif event.kind in ("activate", "remove", "verify", "index", "yield", "paused", "resume"):
            self._end_line()
            words = {"index": "fetching the index of", "verify": "verifying", "activate": "switched in",
                     "remove": "removed", "yield": "people need the uplink: stopping", "paused": "stopped (the part downloaded is kept):",
                     "resume": "uplink quiet: resuming"}
            print(f"[i] {words[event.kind]} {event.package_id or event.text} {event.text if event.package_id else ''}"
                  .rstrip(), flush=True)

    def _bar(self, event) -> None:
        percent = min(100, event.done_bytes * 100 // event.total_bytes)
        step = percent if self.tty else percent // 10 * 10
        if (event.package_id, step) == self.shown:
            return
        self.shown = (event.package_id, step)
        filled = self.WIDTH * percent // 100
        line = (f"{event.package_id:<20} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {percent:3d}% "
                f"{_mb(event.done_bytes)} of {_mb(event.total_bytes)} at {event.rate_bps / 1024:.0f} KiB/s")
        print(f"\r{line}" if self.tty else line, end="" if self.tty else "\n", flush=True)

    def _end_line(self) -> None:
        if self.tty and self.shown[1] >= 0:
            print()
        self.shown = ("", -1)


def _print_history(runs) -> None:
    print(f"{'run':>4} {'started':<21} {'outcome':<12} {'why':<24} {'bytes':>10} {'duration':>9} {'rate':>11}  +/~/-")
    for run in runs:
        print(f"{run['id']:>4} {run['started_at']:<21} {run['outcome']:<12} {run['reason']:<24} "
              f"{_mb(run['bytes_received']):>10} {run['duration_s']:>8.1f}s {run['throughput_bps'] / 1024:>7.0f} KiB/s"
              f"  {run['added']}/{run['updated']}/{run['removed']}")
    if not runs:
        print("(no sync has run on this kit yet)")


def _engine(settings: Settings, **options):
    from appliance.paths import Paths
    from appliance.services.sync import Engine
    from appliance.storage.database import Database

    paths = Paths.from_settings(settings)
    paths.ensure()
    db = Database(paths.database)
    db.migrate()
    return Engine(settings, db, **options), db


def _exit_on_signal(signum: int, frame) -> None:
    raise SystemExit(128 + signum)


def sync(settings: Settings, plan_only: bool, history: bool) -> int:
    """`tpkit sync`: run (with a progress bar), `--plan` (print the plan and disk check) or `--history`."""
    engine, db = _engine(settings, on_event=_ProgressBar())
    # systemd stops a unit with SIGTERM: unwind like Ctrl-C so rsync is stopped and the run recorded 'interrupted'.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        if history:
            _print_history(engine.runs.recent())
            return 0
        if plan_only:
            plan, check = engine.preview()
            _print_plan(plan, check)
            return 0 if check.ok else 1
        plan, result = engine.run()
        print(f"[✓] Sync done: {result.added} added, {result.updated} updated, {result.removed} removed; "
              f"{_mb(result.bytes_received)} received in {result.duration_s:.1f} s")
        for note in plan.notes:
            print(f"[i] skipped: {note}")
        return 0
    finally:
        db.close()


def _open_hub(settings: Settings):
    from appliance.hub.backend import open_database
    from appliance.hub.database import migrate

    db = open_database(settings)
    migrate(db)
    return db


def hub_serve(settings: Settings) -> int:
    """Migrate the hub's database, print the first technician's password once, and serve until SIGTERM/SIGINT."""
    import time

    import uvicorn

    from appliance.hub import technicians
    from appliance.hub.app import create_app

    db = _open_hub(settings)
    password = technicians.ensure_first(db, time.time())
    where = "PostgreSQL" if settings.hub_database_url else f"SQLite {settings.hub_data_dir / 'hub.sqlite3'}"
    url = f"http://{settings.hub_host}:{settings.hub_port}/"
    print(f"[✓] tpkit hub {__version__} serving on {url} ({where}, {settings.hub_workers} worker(s))", flush=True)
    if password:
        print(f"[i] One-time technician password (user '{technicians.FIRST_USERNAME}'): {password}")
        print(f"    It is shown only now; sign in at {url}signin and choose your own.", flush=True)
    options = dict(host=settings.hub_host, port=settings.hub_port, log_level=settings.log_level,
                   timeout_graceful_shutdown=5, server_header=False, access_log=settings.log_level == "debug")
    if settings.hub_workers == 1:
        uvicorn.run(create_app(settings, db), **options)
        return 0
    db.close()
    os.environ.pop("TPKIT_CONFIG", None)
    os.environ.update(as_environment(settings))
    uvicorn.run("appliance.hub.asgi:app_from_environment", factory=True, workers=settings.hub_workers, **options)
    return 0


def hub_kit(settings: Settings, args: argparse.Namespace) -> int:
    """`tpkit hub kit add|config|list`."""
    import time

    from appliance.hub import configs, enrolment, fleet

    db = _open_hub(settings)
    try:
        if args.kit_command == "add":
            token = enrolment.register(db, args.kit_id, args.school, args.district, args.location, time.time(),
                                       settings.hub_token_lifetime_h, new_token=args.new_token)
            print(f"[✓] Kit {args.kit_id} registered ({args.school}, {args.district}). One-time enrolment token "
                  f"(valid {settings.hub_token_lifetime_h:g} h, shown only now):")
            print(token)
            return 0
        if args.kit_command == "config":
            changes = {"sync_windows": args.sync_windows, "sync_rate_cap_kbps": args.sync_rate_cap_kbps,
                       "sync_month_budget_mb": args.sync_month_budget_mb,
                       "sync_channels": None if args.sync_channels is None else
                       [c.strip() for c in args.sync_channels.split(",") if c.strip()]}
            config = configs.set_config(db, args.kit_id, {k: v for k, v in changes.items() if v is not None},
                                        time.time(), "cli")
            print(f"[✓] Kit {args.kit_id}: desired configuration version {config['version']}: "
                  + json.dumps({k: v for k, v in config.items() if k != "version"}, ensure_ascii=False))
            return 0
        for kit in fleet.kits(db, time.time(), settings.hub_silent_after_h, sort="kit_id"):
            print(f"{kit.kit_id:<20} {kit.status:<8} {kit.school} / {kit.district}  last heard "
                  f"{kit.last_seen or 'never'}  {', '.join(a.code for a in kit.alerts)}")
        return 0
    finally:
        db.close()


def content_rollback(settings: Settings, book: str) -> int:
    """`tpkit content rollback BOOK`: put the previous version back."""
    engine, db = _engine(settings)
    try:
        row = engine.rollback(book)
    finally:
        db.close()
    print(f"[✓] {book} is back at version {row.version}; the library serves it within "
          f"{settings.library_scan_interval_s:g} s. Sync will not install the version rolled back from again.")
    return 0


def provision(args: argparse.Namespace) -> int:
    """Write checked kit.toml files for one kit or every CSV row into a boot folder, folders per kit, or an image."""
    from appliance.services import provisioner

    fields = {name: getattr(args, f"field_{name}") for name in provisioner.FIELDS}
    if args.csv:
        kits = provisioner.from_rows(provisioner.read_csv(args.csv), str(args.csv))
    else:
        kits = provisioner.from_rows([{k: v for k, v in fields.items() if v is not None}], "the command line",
                                     from_csv=False)
    if args.out:
        for path in provisioner.write_out_dir(kits, args.out):
            print(f"[✓] {path}")
        print(f"[✓] {len(kits)} kit.toml file(s) written; copy each onto its card's boot partition.")
        return 0
    kit = provisioner.pick(kits, fields["kit_id"] if args.csv else None)
    if args.image:
        offset = provisioner.write_image(kit, args.image)
        print(f"[✓] kit.toml for {kit.kit_id} written into {args.image} (FAT partition at byte {offset})")
    else:
        print(f"[✓] {provisioner.write_boot_dir(kit, args.boot_dir)} written for {kit.kit_id}")
    print("[i] It holds secrets until the kit's first boot removes them: keep the card safe until then.")
    return 0


def firstboot(args: argparse.Namespace) -> int:
    """Apply the boot partition's kit.toml; print what was applied and every problem; exit 1 on any problem."""
    from appliance.services import firstboot as first_boot

    overrides = {name: getattr(args, name) for name in ("data_dir", "content_dir") if getattr(args, name) is not None}
    outcome = first_boot.run(args.boot_dir, args.root, overrides)
    for line in outcome.applied:
        print(f"[✓] {line}")
    for problem in outcome.problems:
        print(f"[✗] {problem}")
    if outcome.problems:
        print(f"[✗] {len(outcome.problems)} problem(s) in {outcome.boot_file}; the valid values were applied and the "
              "kit serves. Fix: correct the file on the boot partition (any laptop can edit it) and reboot; the "
              "admin page shows these problems until then.")
        return 1
    print(f"[✓] {outcome.boot_file} applied.")
    return 0


def hub_import(settings: Settings, path: Path) -> int:
    """Ingest a USB stick's reports; print each refusal with its fix; exit 1 when any was refused."""
    import time

    from appliance.hub import ingest

    db = _open_hub(settings)
    try:
        result = ingest.import_bundle(db, path, time.time())
    finally:
        db.close()
    for report_path, error in result["refused"]:
        print(f"[✗] {report_path}: {error.code}: {error.message}\n    Fix: {error.fix}")
    print(f"[{'✓' if not result['refused'] else '✗'}] {len(result['accepted'])} accepted, "
          f"{len(result['duplicate'])} already stored, {len(result['refused'])} refused")
    return 1 if result["refused"] else 0


def hub_forward(settings: Settings, only_status: bool) -> int:
    """Forward due learning records to the LRS, or count them; exit 1 when the LRS failed or refused any."""
    import time

    from appliance.hub import lrs_forwarding

    db = _open_hub(settings)
    try:
        if not only_status and settings.hub_lrs_url:
            done = lrs_forwarding.forward(db, settings.hub_lrs_url, time.time(), auth=settings.hub_lrs_auth)
        counts = lrs_forwarding.status(db)
    finally:
        db.close()
    if only_status or not settings.hub_lrs_url:
        print(f"[i] learning records: {counts['queued']} queued, {counts['forwarded']} forwarded, "
              f"{counts['waiting']} waiting ({counts['failing']} after an error)")
        if not settings.hub_lrs_url and not only_status:
            print("[i] hub_lrs_url is not set: records are kept on the hub.\n    Fix: set hub_lrs_url (docs/settings.md).")
        return 0
    print(f"[{'✓' if not done.error else '✗'}] {done.forwarded} forwarded, {done.conflicts} conflicting, "
          f"{done.parked} refused, {done.backed_off} to retry later; {counts['waiting']} still waiting")
    if done.error:
        print(f"    Last error: {done.error}\n    Fix: check hub_lrs_url and hub_lrs_auth, and that the LRS is up; "
              "refused batches are kept (see docs/hub.md, \"xAPI\").")
        return 1
    return 0


def hub_technician(settings: Settings, username: str) -> int:
    """Add a technician with a password typed twice (or set an existing one's)."""
    import getpass
    import time

    from appliance.hub import technicians

    password = getpass.getpass("New password (at least 10 characters): ")
    if len(password) < 10 or password != getpass.getpass("Again: "):
        print("[✗] The passwords differ or are shorter than 10 characters.\n    Fix: run the command again.")
        return 1
    db = _open_hub(settings)
    try:
        technicians.add(db, username, password, time.time())
    finally:
        db.close()
    print(f"[✓] Technician {username} can sign in.")
    return 0


def hub(settings: Settings, args: argparse.Namespace) -> int:
    if args.hub_command == "serve":
        return hub_serve(settings)
    if args.hub_command == "kit":
        return hub_kit(settings, args)
    if args.hub_command == "import":
        return hub_import(settings, args.path)
    if args.hub_command == "forward":
        return hub_forward(settings, args.status)
    return hub_technician(settings, args.username)


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
        if args.command == "firstboot":
            # Not from the settings file: first boot is what rewrites it, so a broken one must not stop it.
            logging.basicConfig(level="INFO", format="%(levelname)s %(name)s: %(message)s")
            return firstboot(args)
        if args.command == "provision":
            return provision(args)
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
        if args.command == "sync":
            return sync(settings, plan_only=args.plan, history=args.history)
        if args.command == "content":
            return content_rollback(settings, args.book)
        if args.command == "hub":
            return hub(settings, args)
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
