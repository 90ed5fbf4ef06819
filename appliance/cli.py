"""The `tpkit` command: the only module that prints or exits.

Builds the settings once and passes them down; every TpkitError is shown with its fix.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from appliance import __version__
from appliance.config import SPEC, Settings, as_environment, load_settings
from appliance.errors import TpkitError

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
    demo = commands.add_parser("demo", help="write the bilingual demo books into the content folder")
    _add_setting_flags(demo, ("data_dir", "content_dir"))
    panel = commands.add_parser("panel", help="run the status lights and button (the only process that claims GPIO pins)")
    _add_setting_flags(panel, ("host", "port", "log_level", "panel_poll_interval_s"))
    return parser


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


def demo(settings: Settings) -> int:
    """Write the demo books into the content folder."""
    from appliance.services import demo_library

    for path in demo_library.build(settings.content_dir):
        print(f"[✓] {path}")
    return 0


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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
        logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
        if args.command == "serve":
            return serve(settings, demo_if_empty=args.demo_if_empty)
        if args.command == "check":
            return check(settings)
        if args.command == "panel":
            return panel(settings)
        return demo(settings)
    except TpkitError as exc:
        print(f"[✗] {exc.message}", file=sys.stderr)
        if exc.cause:
            print(f"    Likely cause: {exc.cause}", file=sys.stderr)
        print(f"    Fix: {exc.fix}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
