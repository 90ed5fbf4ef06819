"""The `tpkit` command's parser and its commands (appliance/cli is the only package that prints or exits; one module
per group of commands). appliance/cli/__init__.py only calls `main()` here, lazily.

Builds the settings once and passes them down; every TpkitError is shown with its fix.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import shutil
import signal
import sys
import threading
from pathlib import Path

from appliance import __version__, strict_json
from appliance.cli import audit, books, content, hub, learning, packing, people, provisioning, reporting, roads
from appliance.cli.common import (
    HttpsSocket,
    add_setting_flags,
    keep_peoples_data_private,
    print_error,
    require_free_port,
    run_server,
    settings_from,
)
from appliance.config import SPEC, Settings
from appliance.errors import DiskFullError, TpkitError

log = logging.getLogger("tpkit")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tpkit",
        description="The teaching-point kit: serves ZIM books (Kiwix-compatible URLs) to a classroom.",
        epilog="Settings come from defaults < TOML file < TPKIT_* environment < flags; see docs/settings.md.",
    )
    parser.add_argument("--version", action="version", version=f"tpkit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser("serve", help="run the web server (library, home page, catalog)")
    add_setting_flags(
        serve, ("data_dir", "content_dir", "host", "port", "https_port", "school_name", "log_level", "web_workers")
    )
    serve.add_argument(
        "--demo-if-empty",
        action="store_true",
        help="build the demo library first when the content folder has no .zim file",
    )
    check = commands.add_parser("check", help="print effective settings and where each came from, and every problem")
    add_setting_flags(check, ("data_dir", "content_dir"))
    health = commands.add_parser("health", help="print the kit's health and every problem with its fix; exit 1 on any")
    add_setting_flags(health, ("data_dir", "content_dir", "ap_interface"))
    health.add_argument("--json", action="store_true", help="print the snapshot as JSON (as GET /-/health)")
    demo = commands.add_parser("demo", help="write the bilingual demo books into the content folder")
    add_setting_flags(demo, ("data_dir", "content_dir"))
    discover = commands.add_parser(
        "discover",
        help="list the kits that answer on this LAN (mDNS)",
        epilog="Exit status: 0 when at least one kit answered, 1 when none did.",
    )
    add_setting_flags(discover, ("mdns_interfaces",))
    discover.add_argument("--timeout-s", type=float, default=3.0, help="how long to listen at most (default: 3)")
    discover.add_argument(
        "--count",
        type=int,
        metavar="N",
        help="stop listening as soon as N kits answered (default: listen the whole --timeout-s)",
    )
    discover.add_argument(
        "--kit-id",
        metavar="ID",
        help="list only the kit with this kit_id, and stop listening as "
        "soon as it answers (is that kit reachable from here?)",
    )
    discover.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    panel = commands.add_parser(
        "panel", help="run the status lights and button (the only process that claims GPIO pins)"
    )
    add_setting_flags(panel, ("host", "port", "log_level", "panel_poll_interval_s"))
    for group in (content, roads, books, packing, learning, people, reporting, audit, provisioning, hub):
        group.add_parsers(commands)
    return parser


def serve(settings: Settings, demo_if_empty: bool) -> int:
    """Open the kit, print how to reach it, and run uvicorn until SIGTERM/SIGINT. With several web workers the
    kit is prepared while they start (services/start_gate.py), not before."""
    from appliance.edges.memory import ARENAS, limit_malloc_arenas
    from appliance.services.library import demo_books

    require_free_port(settings.host, settings.port)  # before the demo, "serving on" and a one-time password
    if settings.https_port:
        require_free_port(settings.host, settings.https_port, "--https-port")
    if demo_if_empty and not demo_books.has_books(settings.content_dir):
        print(f"[i] {settings.content_dir} has no books: building the demo library…")
        for path in demo_books.build(settings.content_dir):
            print(f"[✓] {path}")
    limit_malloc_arenas()
    os.environ.setdefault("MALLOC_ARENA_MAX", str(ARENAS))  # inherited by worker processes at their start
    if settings.web_workers == 1:
        kit = _prepare(settings)
        run_server(
            settings,
            host=settings.host,
            port=settings.port,
            workers=1,
            make_app=lambda: _web_app(kit),
            factory="appliance.web.asgi:app_from_environment",
            close=kit.close,
            https=_https(settings),
        )
        return 0
    return _serve_beside_workers(settings)


def _https(settings: Settings) -> HttpsSocket | None:
    """HTTPS beside HTTP when https_port is set: the kit's key, request and stand-in certificate made now (before
    any worker forks), the certificate to serve looked up again by each worker (services/security/kit_certificate)."""
    from appliance.services.kit import kit_paths
    from appliance.services.security import kit_certificate

    if not settings.https_port:
        return None
    paths = kit_paths(settings)
    kit_certificate.prepare(paths, settings)
    return HttpsSocket(settings.https_port, lambda: kit_certificate.serving_files(paths))


def _serve_beside_workers(settings: Settings) -> int:
    """Shut the start gate, fork the web workers from this process (which has imported the web pages once for
    all of them), prepare the kit while they wait at the gate, open it; re-raise the preparation's error once the
    workers have stopped."""
    from appliance.services import start_gate

    gate = start_gate.shut_gate(settings.data_dir)
    failures: list[BaseException] = []

    def prepare() -> None:
        try:
            _prepare(settings).close()
        except Exception as exc:  # re-raised below once the workers have stopped, shown with its fix by main()
            failures.append(exc)
            gate.open(failure=str(exc) or type(exc).__name__)
        else:
            gate.open()

    try:
        code = run_server(
            settings,
            host=settings.host,
            port=settings.port,
            workers=settings.web_workers,
            make_app=_no_app_in_supervisor,
            factory="appliance.web.asgi:app_from_environment",
            close=lambda: None,  # prepare() opens and closes its own kit
            beside=prepare,
            https=_https(settings),
        )
    finally:
        gate.open()  # the server never forked (it failed to bind): nothing waits, but leave the gate open
    if failures:
        raise failures[0]
    return code


def _no_app_in_supervisor():
    raise AssertionError("with several web workers, this process only supervises them")


def _prepare(settings: Settings):
    """Open (migrate) the kit, start compiling templates, make the key and the first password, print the library
    and how to reach the kit; the kit, still open."""
    from appliance.services.kit import open_kit
    from appliance.services.people import auth
    from appliance.services.reporting import kit_key

    kit = open_kit(settings)
    try:
        _compile_templates(kit.paths)  # the workers then load them compiled (web/precompile.py)
        kit_key.ensure(kit.paths)  # made at first start, so a technician can register it before the first report
        password = auth.ensure_first_admin(kit.accounts)
        _print_library(kit)
    except BaseException:
        kit.close()
        raise
    url = f"http://{settings.host}:{settings.port}/"
    print(f"[✓] tpkit {__version__} serving on {url}", flush=True)
    if password:
        print(f"[i] One-time administrator password (user 'admin'): {password}")
        print(f"    It is shown only now; sign in at {url}admin and choose your own.", flush=True)
    return kit


def _compile_templates(paths) -> None:
    """Start `python -m appliance.web.precompile` beside the server unless this version's templates are compiled
    already (edges/commands.start_beside: not waited for), so that no worker compiles them at its first pages."""
    from appliance.edges import commands

    if not paths.templates_compiled.exists():
        commands.start_beside([sys.executable, "-m", "appliance.web.precompile", str(paths.template_cache_dir)])


def _web_app(kit):
    """The app of a single web worker, made in this process. With several, each forked worker makes its own
    (web/asgi.py)."""
    from appliance.web.app import create_app

    return create_app(kit)


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
        problems = len(kit.load_library().damaged())  # open_kit loaded it: the same object
    finally:
        kit.close()
    print("[✓] No problems found." if not problems else f"[✗] {problems} problem(s) found (see above).")
    return 1 if problems else 0


PROBLEM_LINE = {
    "health.under_voltage": "power",
    "health.hot": "temperature",
    "health.disk_nearly_full": "disk",
    "health.books_damaged": "books",
    "health.clock_unsynchronised": "clock",
    "health.root_read_only": "sd card",
    "health.fs_errors": "sd card",
    "health.memory_kills": "memory",
}


def _unit(value, unit: str) -> str:
    return value if isinstance(value, str) else f"{value} {unit}"


def _memory(memory) -> str:
    if isinstance(memory, str):
        return memory
    text = f"{memory['available_bytes'] // 2**20} MB available of {memory['total_bytes'] // 2**20} MB"
    if memory.get("swap_total_bytes"):
        text += f", swap {memory['swap_used_bytes'] // 2**20} MB used of {memory['swap_total_bytes'] // 2**20} MB"
    if memory.get("oom_kills"):
        text += f", {memory['oom_kills']} process(es) killed for memory since boot"
    return text


def _writes(disk_writes) -> str:
    if isinstance(disk_writes, str):
        return disk_writes
    return "; ".join(f"{d['mount']} ({d['device']}) {d['written_bytes'] // 2**20} MB" for d in disk_writes) or "none"


def _health_lines(snap: dict) -> list[tuple[str, str]]:
    """(line name, text) for each part of the snapshot a technician looks at."""
    power = snap["throttled"]
    power_text = (
        power
        if isinstance(power, str)
        else ", ".join(
            f"{when.replace('_', ' ')}: " + (", ".join(k.replace("_", " ") for k, v in flags.items() if v) or "fine")
            for when, flags in power.items()
        )
    )
    disks = "; ".join(f"{fs['path']} {fs['use_percent']} % used" for fs in snap["filesystems"])
    card = snap["sd_card"]
    return [
        ("uptime", f"{snap['uptime_s']} s, boot number {snap['boot_count']}"),
        ("clock", f"synchronised: {snap['clock']['synchronized']}"),
        ("temperature", _unit(snap["cpu_temp_c"], "°C")),
        ("power", power_text),
        ("load", _unit(snap["load"], "(1, 5, 15 min)")),
        ("memory", _memory(snap["memory"])),
        ("disk", disks),
        ("written since boot", _writes(snap["disk_writes"])),
        ("sd card", f"root read-only: {card['root_read_only']}, kernel disk errors: {card['fs_errors']}"),
        ("wi-fi clients", str(snap["wifi_clients"])),
        (
            "books",
            "{served} served, {damaged} damaged, {pending} being checked, {waiting} waiting for approval "
            "(tpkit books waiting)".format(**snap["books"]),
        ),
        ("services", str(snap["services"])),
        ("outbox", f"{snap['outbox_depth']} report(s) waiting for the hub (tpkit report --status)"),
        ("learning, sync", "not available until issues 4 and 3 add them"),
    ]


def health(settings: Settings, as_json: bool) -> int:
    """Print the health snapshot (readable, or JSON) with each problem's fix; exit 1 unless status is ok."""
    from appliance.services.device import health as health_service
    from appliance.services.kit import open_kit

    kit = open_kit(settings)
    try:
        snap = health_service.snapshot(kit)
    finally:
        kit.close()
    if as_json:
        print(strict_json.dumps(snap, ensure_ascii=False, indent=2))
        return 0 if snap["status"] == "ok" else 1
    print(f"tpkit {snap['version']} — health of {snap['kit_id']} ({snap['school_name']}) at {snap['time']}")
    for name, text in _health_lines(snap):
        found = [p for p in snap["problems"] if PROBLEM_LINE[p["code"]] == name]
        mark = "[✗]" if found else "[i]" if health_service.NOT_AVAILABLE in text else "[✓]"
        print(f"{mark} {name}: {text}")
        for problem in found:
            print(f"    {problem['severity']}: {problem['message']}\n    Fix: {problem['fix']}")
    print(
        "[✓] status: ok"
        if snap["status"] == "ok"
        else f"[✗] status: {snap['status']} — "
        f"{len(snap['problems'])} problem(s); each fix is printed under its line above."
    )
    return 0 if snap["status"] == "ok" else 1


def demo(settings: Settings) -> int:
    """Write the demo books into the content folder."""
    from appliance.services.library import demo_books

    for path in demo_books.build(settings.content_dir):
        print(f"[✓] {path}")
    return 0


def discover(
    settings: Settings, timeout_s: float, as_json: bool, count: int | None = None, kit_id: str | None = None
) -> int:
    """Print the kits (or the one with `kit_id`) that answered on the LAN within `timeout_s`, listening no longer
    than until `count` kits or that one did; exit 1 when none did."""
    from appliance.services.device import lan

    if not as_json:
        where = settings.mdns_interfaces
        print(f"[i] Listening for kits on the LAN for {timeout_s:g} s (mdns_interfaces = {where})…")
    if kit_id:
        kits = [kit for kit in lan.discover(settings, timeout_s, lan.with_kit_id(kit_id)) if kit.kit_id == kit_id]
    elif count:
        kits = lan.discover(settings, timeout_s, lan.at_least(count))
    else:
        kits = lan.discover(settings, timeout_s)
    if as_json:
        print(
            strict_json.dumps(
                [
                    {
                        "name": k.name,
                        "school": k.school,
                        "kit_id": k.kit_id,
                        "version": k.version,
                        "content": k.content,
                        "mirror_port": k.mirror_port,
                        "channels": k.channels,
                        "addresses": list(k.addresses),
                        "port": k.port,
                        "urls": k.urls,
                    }
                    for k in kits
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0 if kits else 1
    if not kits:
        print(f"[✗] No kit answered within {timeout_s:g} s.")
        print(
            "    Fix: join the kit's Wi-Fi (or its LAN), turn off client isolation on the access point, "
            'allow UDP 5353 in the firewall; see docs/field-guide.md, "Finding a kit on the LAN".'
        )
        return 1
    print(f"[✓] {len(kits)} kit(s) found")
    for kit in kits:
        print(f"  {kit.school}  (kit {kit.kit_id}, tpkit {kit.version}, content {kit.content})")
        for url in kit.urls:
            print(f"      {url}")
        if kit.mirror_port:
            served = (
                ", ".join(f"{name} (sequence {seq})" for name, seq in sorted(kit.channels.items())) or "nothing yet"
            )
            print(f"      peer mirror on port {kit.mirror_port}: {served}")
    return 0


def panel(settings: Settings) -> int:
    """Show the kit's health on the lights and act on the button until SIGTERM/SIGINT; pins released on exit."""
    from appliance.services.device.panel import start_panel

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    kit_panel = start_panel(settings)
    where = "lights and button on GPIO" if kit_panel.hardware else "no lights (no GPIO), still logging the kit's state"
    print(
        f"[✓] tpkit panel {__version__}: {where}; asking {kit_panel.url} every {settings.panel_poll_interval_s:g} s",
        flush=True,
    )
    try:
        kit_panel.run(stop)
    finally:
        kit_panel.close()
    return 0


# Commands that write people's data (accounts, hand-ins, records, backups, reports, the hub's database): their files
# are the kit user's alone. Content commands (sync, channel, content, demo, import, mirror) keep their units' 0022, and
# firstboot/provision write /etc files others must read (kit.toml 0644).
PEOPLES_DATA_COMMANDS = (
    "serve",
    "check",
    "health",
    "audit",
    "people",
    "records",
    "backup",
    "restore",
    "export",
    "report",
    "hub",
)


def _disk_full(exc: OSError) -> DiskFullError:
    """A write that found its disk full (ENOSPC) outside the places that say more (sync, the database)."""
    where = Path(exc.filename or ".").parent
    usage = shutil.disk_usage(where) if where.exists() else None
    free = f"{usage.free / 2**20:.1f} MB free" if usage else "free space unknown"
    return DiskFullError(
        f"The disk is full: writing {exc.filename or 'a file'} failed ({free}); nothing of it was kept.",
        fix=f"Free space on that disk (df -h {where}): delete books the kit no longer needs or old backups, "
        "then run the command again.",
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in PEOPLES_DATA_COMMANDS:
        keep_peoples_data_private()
    try:
        if args.command in ("firstboot", "provision"):
            return provisioning.run(args)
        if args.command == "hub":  # the county hub builds its own settings (hub/settings.py)
            return hub.run(args)
        settings = settings_from(args)
        logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
        if args.command == "serve":
            return serve(settings, demo_if_empty=args.demo_if_empty)
        if args.command == "check":
            return check(settings)
        if args.command == "health":
            return health(settings, as_json=args.json)
        if args.command == "discover":
            return discover(settings, args.timeout_s, args.json, args.count, args.kit_id)
        if args.command == "panel":
            return panel(settings)
        if args.command == "demo":
            return demo(settings)
        group = {
            "channel": content,
            "sync": content,
            "content": content,
            "backup": learning,
            "restore": learning,
            "people": people,
            "records": learning,
            "report": reporting,
            "audit": audit,
            "import": roads,
            "export": roads,
            "mirror": roads,
            "books": books,
            "pack": packing,
        }[args.command]
        return group.run(settings, args)
    except TpkitError as exc:
        print_error(exc, sys.stderr)
        return 1
    except OSError as exc:  # a roster file that cannot be read: name it, never a traceback
        if exc.errno == errno.ENOSPC:
            print_error(_disk_full(exc), sys.stderr)
        else:
            print(f"[✗] Cannot read {exc.filename}: {exc.strerror}.\n    Fix: check the path.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
