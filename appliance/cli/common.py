"""What every `tpkit` command shares: setting flags, settings from arguments, errors shown with their fix."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.config import SPEC, Settings, as_environment, load_settings

if TYPE_CHECKING:  # the hub's settings type only: a kit's commands never load the hub
    from appliance.hub.settings import HubSettings
from appliance.errors import TpkitError


def add_setting_flags(parser: argparse.ArgumentParser, names: tuple[str, ...]) -> None:
    parser.add_argument("--config", type=Path, help="TOML settings file (default: $TPKIT_CONFIG, else none)")
    for setting in SPEC:
        if setting.name in names:
            parser.add_argument(f"--{setting.name.replace('_', '-')}", dest=setting.name, help=_literal(setting.help))


def _literal(text: str) -> str:
    """A help text as argparse prints it: argparse expands %-formats (%(default)s) in help, so a plain "%" doubles."""
    return text.replace("%", "%%")


def settings_from(args: argparse.Namespace) -> Settings:
    overrides = {s.name: getattr(args, s.name, None) for s in SPEC}
    settings = load_settings(args.config, overrides=overrides)
    for warning in settings.warnings:
        print(f"[i] {warning}", file=sys.stderr)
    return settings


def print_error(exc: TpkitError, stream=None) -> None:
    stream = stream or sys.stdout
    print(f"[✗] {exc.message}", file=stream)
    for problem in getattr(exc, "problems", []):  # a roster's every wrong line, not just the first
        print(f"    - {problem}", file=stream)
    if exc.cause:
        print(f"    Likely cause: {exc.cause}", file=stream)
    print(f"    Fix: {exc.fix}", file=stream)


def mb(size_bytes: int) -> str:
    return f"{size_bytes / 2**20:.1f} MB"


def day(text: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-01") from None


# How long an idle keep-alive connection stays open: longer than a child reads a short page or answers a quiz page
# (so the next page reuses it, without a new TCP handshake over the Wi-Fi), short enough that 60 idle phones hold
# only 60 idle sockets for a little while.
KEEP_ALIVE_S = 30
# How long uvicorn's parent waits for a worker process to answer its health check before it kills and replaces
# it. uvicorn's 5 s is shorter than a worker's start on a loaded slow machine (spawning Python and importing
# tpkit): the amd64 image under emulation, with a second guest beside it, killed every new worker ~5.5 s after
# its start, forever, and the kit never served (docs/image.md). A hung worker is still replaced, a minute later.
WORKER_HEALTHCHECK_S = 60


def run_server(settings: Settings | HubSettings, *, host: str, port: int, workers: int, make_app: Callable[[], Any],
               factory: str, close: Callable[[], None]) -> None:
    """Serve with uvicorn until SIGTERM/SIGINT (the only module importing uvicorn): one worker runs `make_app()` in
    this process; more are processes that each build the app from the settings handed down in their environment
    (`factory`, "module:function"), after `close()` has released what this process opened."""
    import uvicorn

    # timeout_graceful_shutdown: finish in-flight pages, then exit well inside systemd's TimeoutStopSec.
    # timeout_keep_alive: uvicorn's 5 s closed a phone's idle connection while a child was still reading the page,
    # and a request sent on it at that moment failed (bench/lesson.py saw 1 in ~1,000 requests); see KEEP_ALIVE_S.
    options: dict[str, Any] = dict(host=host, port=port, log_level=settings.log_level, timeout_graceful_shutdown=5,
                   timeout_keep_alive=KEEP_ALIVE_S, server_header=False, access_log=settings.log_level == "debug",
                   timeout_worker_healthcheck=WORKER_HEALTHCHECK_S)
    if workers == 1:
        uvicorn.run(make_app(), **options)
        return
    close()
    os.environ.pop("TPKIT_CONFIG", None)
    os.environ.update(as_environment(settings))
    uvicorn.run(factory, factory=True, workers=workers, **options)
