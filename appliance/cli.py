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
    _add_hub_commands(commands.add_parser("hub", help="the county hub: serve, register kits, import USB reports"))
    return parser


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
    for action in (add, config, listing, imports, technician):
        _add_setting_flags(action, HUB_SETTINGS)


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
    verify = actions.add_parser("verify", help="check a channel's signature, expiry, paths and files; exit 1 on any fault")
    verify.add_argument("dir", type=Path, help="the channel folder")
    verify.add_argument("--pub", action="append", help="trusted public key: .pub file or base64 line "
                        "(repeatable; default: the trusted_channel_keys setting)")
    verify.add_argument("--last-sequence", type=int, help="refuse an index whose sequence is not greater")
    for action in (keygen, publish, verify):
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
    from appliance.services import auth, demo_library
    from appliance.services.kit import open_kit
    from appliance.web.app import create_app

    if demo_if_empty and not demo_library.has_books(settings.content_dir):
        print(f"[i] {settings.content_dir} has no books: building the demo library…")
        for path in demo_library.build(settings.content_dir):
            print(f"[✓] {path}")
    limit_malloc_arenas()
    os.environ.setdefault("MALLOC_ARENA_MAX", str(ARENAS))  # inherited by worker processes at their start
    kit = open_kit(settings)
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
            ("learning, sync, reports", "not available until issues 4, 3 and 5 add them")]


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
    """Run `tpkit channel keygen|publish|verify`; exit 1 when verification fails."""
    from appliance.services import channel as channels

    if args.channel_command == "keygen":
        public = channels.keygen(args.out)
        print(f"[✓] Secret key {args.out}.key (mode 0600: keep it offline), public key {args.out}.pub (id {public.id_hex})")
        print(public.line)
        return 0
    if args.channel_command == "publish":
        index = channels.publish(args.dir, args.key, args.name, args.sequence, args.expires_days)
        print(f"[✓] Channel {index.channel!r} sequence {index.sequence}: {len(index.packages)} package(s), "
              f"signed, expires {index.expires.isoformat()}")
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
    return hub_technician(settings, args.username)


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
        if args.command == "hub":
            return hub(settings, args)
        return demo(settings)
    except TpkitError as exc:
        print(f"[✗] {exc.message}", file=sys.stderr)
        if exc.cause:
            print(f"    Likely cause: {exc.cause}", file=sys.stderr)
        print(f"    Fix: {exc.fix}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
