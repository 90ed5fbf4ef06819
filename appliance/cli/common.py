"""What every `tpkit` command shares: setting flags, settings from arguments, errors shown with their fix, the
web server's runner and the umask of commands that keep people's data."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.config import SPEC, Settings, as_environment, load_settings

if TYPE_CHECKING:  # the hub's settings type only: a kit's commands never load the hub
    from appliance.hub.settings import HubSettings
from appliance.errors import ConfigError, TpkitError


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
# How long the serving parent waits for a worker process to answer its health check before it kills and replaces
# it (edges/forked_workers.py). uvicorn's own 5 s, when uvicorn spawned the workers, was shorter than a worker's start
# on a loaded slow machine: the amd64 image under emulation, with a second guest beside it, killed every new worker
# ~5.5 s after its start, forever, and the kit never served (docs/image.md). A hung worker is replaced a minute later.
WORKER_HEALTHCHECK_S = 60
# How long a worker finishes its in-flight pages after SIGTERM before it closes them (uvicorn's
# timeout_graceful_shutdown), well inside systemd's TimeoutStopSec.
GRACEFUL_S = 5
# Connections a worker holds before it answers every new request 503 (uvicorn counts open connections, idle ones too):
# a back-stop that keeps a worker from running out of file descriptors mid-request (LimitNOFILE=8192 in
# tpkit-web.service leaves ~4,000 for ZIM files, SQLite and threads). Not lower: bench/slow_clients.py with 2,200
# idle connections against 512 a worker had every page refused for the 10 s until REQUEST_HEAD_S dropped them.
# One address's connections are capped by the firewall (images/files/common/etc/nftables.conf).
LIMIT_CONCURRENCY = 4000
# How long a new connection may take to send its whole request head (issue 14: 2,200 idle half-open connections from
# one client held every file descriptor and the kit answered nobody). A phone sends its head in one packet; 10 s
# covers a crowded Wi-Fi's retransmissions. uvicorn's keep-alive timeout covers idle time after a response only;
# nothing in uvicorn covers the time before the first request, or a head sent a byte at a time (Kludex/uvicorn#157).
REQUEST_HEAD_S = 10.0
# uvicorn's protocol with that deadline, by name: every worker process imports it itself (see __getattr__ below).
HTTP_PROTOCOL = "appliance.cli.common:RequestHeadDeadline"
# Files written by commands that keep people's data (the database, hand-ins, backups, reports) are for the kit's
# user alone: 0750 folders, 0640 files, as the units' UMask=0027 gives them. Outside systemd (`./build.sh run`,
# a technician's shell) the umask was 0022 and the database 0644 (issue 14). Never loosens a stricter umask.
PEOPLES_DATA_UMASK = 0o027


def keep_peoples_data_private() -> int:
    """Tighten this process's umask by PEOPLES_DATA_UMASK before anything is written; the umask now in force."""
    tighter = os.umask(0) | PEOPLES_DATA_UMASK
    os.umask(tighter)
    return tighter


def require_free_port(host: str, port: int, flag: str = "--port") -> None:
    """A ConfigError naming the port when this process could not listen there (another server holds it, it needs
    root, the address is not this machine's): asked before a server prints that it serves or a one-time password."""
    import errno
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(
            socket.SOL_SOCKET, socket.SO_REUSEADDR, 1
        )  # as uvicorn binds: a closed port's TIME_WAIT is free
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            if exc.errno == errno.EACCES:
                cause, fix = "Ports below 1024 need root.", f"Run it as the kit's service, or choose {flag} 8080."
            elif exc.errno == errno.EADDRNOTAVAIL:
                cause, fix = f"{host} is not an address of this machine.", "Use --host 0.0.0.0 (every address)."
            else:
                cause = (
                    "Another server is using it: the kit's own service (tpkit.service) or a `tpkit serve` left open."
                )
                fix = f"Stop the other one (sudo systemctl stop tpkit) or choose another port: {flag} {port + 1}."
            raise ConfigError(
                f"Cannot serve on {host}:{port}: {reason}.", code="config.port_unavailable", cause=cause, fix=fix
            ) from None


# How often a web worker serving HTTPS looks whether the kit's certificate file changed, and takes the new one
# (issue 18: a certificate that came back in a report reply is served without a restart, by every worker).
TLS_RELOAD_CHECK_S = 2.0


@dataclasses.dataclass(frozen=True)
class HttpsSocket:
    """HTTPS beside HTTP on `port`, serving the (certificate chain, key) files `files()` names at each look."""

    port: int
    files: Callable[[], tuple[Path, Path]]


def run_server(
    settings: Settings | HubSettings,
    *,
    host: str,
    port: int,
    workers: int,
    make_app: Callable[[], Any],
    factory: str,
    close: Callable[[], None],
    beside: Callable[[], None] | None = None,
    https: HttpsSocket | None = None,
) -> int:
    """Serve with uvicorn until SIGTERM/SIGINT (the only module importing uvicorn); the exit code. One worker runs
    `make_app()` in this process. More are forks of this process (edges/forked_workers.py), made once it has
    imported `factory` ("module:function") and `close()` has released what it opened; each builds its app with
    `factory()` from the settings handed down in the environment. `beside` (several workers only) runs in this
    process while the workers start (they wait for what it prepares at the start gate); no other thread may run in
    this process then, nor later (it forks replacements). With `https`, every worker also serves HTTPS, the same app,
    on its own socket (`_serve_both`)."""
    import uvicorn

    # timeout_graceful_shutdown: finish in-flight pages, then exit well inside systemd's TimeoutStopSec.
    # timeout_keep_alive: uvicorn's 5 s closed a phone's idle connection while a child was still reading the page,
    # and a request sent on it at that moment failed (bench/lesson.py saw 1 in ~1,000 requests); see KEEP_ALIVE_S.
    options: dict[str, Any] = dict(
        host=host,
        port=port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=GRACEFUL_S,
        timeout_keep_alive=KEEP_ALIVE_S,
        server_header=False,
        access_log=settings.log_level == "debug",
        limit_concurrency=LIMIT_CONCURRENCY,
        http=HTTP_PROTOCOL,
        ws="none",  # no page uses WebSockets: no worker loads their library
    )
    if workers == 1:
        if https is None:
            uvicorn.run(make_app(), **options)
            return 0
        config = uvicorn.Config(make_app(), **options)
        return _serve_both(config, config.bind_socket(), https, _bind(host, https.port, options))
    from importlib import import_module

    from appliance.edges.forked_workers import ForkedWorkers

    close()
    os.environ.pop("TPKIT_CONFIG", None)
    os.environ.update(as_environment(settings))
    module, _, function = factory.partition(":")
    # Imported here, once, so that every fork has them: the app factory (with the web pages) and the protocols.
    options.update(http=__getattr__("RequestHeadDeadline"))
    config = uvicorn.Config(getattr(import_module(module), function), factory=True, **options)
    listening = config.bind_socket()
    secure = None if https is None else _bind(host, https.port, options)

    def serve_one() -> int:
        if https is not None and secure is not None:
            return _serve_both(config, listening, https, secure)
        server = uvicorn.Server(config)
        server.run(sockets=[listening])
        return 0 if server.started else uvicorn.config.STARTUP_FAILURE

    forks = ForkedWorkers(
        workers,
        serve_one,
        stop_all_exit=uvicorn.config.STARTUP_FAILURE,
        health_timeout_s=WORKER_HEALTHCHECK_S,
        stop_grace_s=GRACEFUL_S + 5,
    )
    forks.start()
    try:
        if beside is not None:
            beside()
    except BaseException:
        forks.stop()
        raise
    return forks.supervise()


def _bind(host: str, port: int, options: dict[str, Any]):
    """A listening socket on host:port, bound as uvicorn binds its own."""
    import uvicorn

    return uvicorn.Config("", **{**options, "host": host, "port": port}).bind_socket()  # no app: only binds


def _serve_both(config: Any, listening: Any, https: HttpsSocket, secure: Any) -> int:
    """Serve `config`'s app on `listening` (HTTP, with its lifespan) and on `secure` (HTTPS, lifespan off: one kit,
    one app) in one event loop until SIGTERM/SIGINT; the exit code. Two uvicorn.Servers, each with its own Config:
    uvicorn puts one SSL context on every socket of a server. The HTTPS server installs its signal handlers last, so
    it gets SIGTERM first; when it has stopped, uvicorn restores the HTTP server's handlers and raises the signal
    again, which stops that one (with the kit) last. The HTTPS context takes a changed certificate file within
    TLS_RELOAD_CHECK_S (`_reload_certificates`)."""
    import asyncio

    import uvicorn

    config.load()
    cert, key = https.files()
    options = {name: getattr(config, name) for name in ("log_level", "timeout_graceful_shutdown", "server_header")}
    secure_config = uvicorn.Config(
        config.loaded_app,
        **options,
        timeout_keep_alive=KEEP_ALIVE_S,
        access_log=config.access_log,
        limit_concurrency=LIMIT_CONCURRENCY,
        http=config.http,
        ws="none",
        lifespan="off",
        proxy_headers=False,
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
    )
    secure_config.load()
    plain, encrypted = uvicorn.Server(config), uvicorn.Server(secure_config)

    async def both() -> None:
        watcher = asyncio.ensure_future(_reload_certificates(secure_config, https, (cert, _mtime(cert))))
        try:
            await asyncio.gather(plain.serve(sockets=[listening]), encrypted.serve(sockets=[secure]))
        finally:
            watcher.cancel()

    asyncio.run(both())
    return 0 if plain.started and encrypted.started else uvicorn.config.STARTUP_FAILURE


async def _reload_certificates(secure_config: Any, https: HttpsSocket, served: tuple[Path, int]) -> None:
    """Every TLS_RELOAD_CHECK_S, load the certificate `https.files()` names into the running SSL context when it is
    another file or was changed: new connections get it, open ones keep theirs. A file that does not load is
    logged and the old certificate kept."""
    import asyncio
    import logging

    log = logging.getLogger(__name__)
    while True:
        await asyncio.sleep(TLS_RELOAD_CHECK_S)
        cert, key = https.files()
        seen = (cert, _mtime(cert))
        if seen == served:
            continue
        try:
            secure_config.ssl.load_cert_chain(str(cert), str(key))
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            log.error("could not load the HTTPS certificate %s (%s): serving the one before", cert, exc)
        else:
            log.info("serving the HTTPS certificate %s", cert)
        served = seen


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


def __getattr__(name: str) -> type:
    """`RequestHeadDeadline`, made on first use (PEP 562): uvicorn is imported only by a command that serves, not by
    every `tpkit` command that imports this module."""
    if name != "RequestHeadDeadline":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = protocol = _request_head_deadline()
    return protocol


def _request_head_deadline() -> type:
    import asyncio

    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    head_end = b"\r\n\r\n"

    class RequestHeadDeadline(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
        """uvicorn's own protocol (httptools, else h11), closing a connection whose first request head is not
        complete within REQUEST_HEAD_S of its opening. Uses only the asyncio.Protocol interface, then hands on."""

        def connection_made(self, transport: asyncio.Transport) -> None:
            self._tpkit_transport, self._tpkit_tail = transport, b""
            self._tpkit_deadline: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(
                REQUEST_HEAD_S, self._tpkit_too_slow
            )
            super().connection_made(transport)

        def data_received(self, data: bytes) -> None:
            if self._tpkit_deadline is not None:
                seen = self._tpkit_tail + data
                if head_end in seen:
                    self._tpkit_deadline.cancel()
                    self._tpkit_deadline = None
                self._tpkit_tail = seen[-(len(head_end) - 1) :]
            super().data_received(data)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._tpkit_deadline is not None:
                self._tpkit_deadline.cancel()
                self._tpkit_deadline = None
            super().connection_lost(exc)

        def _tpkit_too_slow(self) -> None:
            self._tpkit_deadline = None
            self._tpkit_transport.abort()  # nothing to flush: frees the socket at once

    RequestHeadDeadline.__module__, RequestHeadDeadline.__qualname__ = __name__, "RequestHeadDeadline"
    return RequestHeadDeadline
