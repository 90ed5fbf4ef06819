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
    return parser


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
        return demo(settings)
    except TpkitError as exc:
        print(f"[✗] {exc.message}", file=sys.stderr)
        if exc.cause:
            print(f"    Likely cause: {exc.cause}", file=sys.stderr)
        print(f"    Fix: {exc.fix}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
