"""A county mirror for sync tests: a signing key, channel folders published with `services.channel.publish`,
and a real rsync daemon on a free loopback port running the shipped content-sync/rsyncd.conf."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from appliance.config import load_settings
from appliance.content.channel_index import INDEX_NAME, SIGNATURE_NAME
from appliance.edges import minisign
from appliance.services.sync import channel
from appliance.storage.database import Database
from tests.conftest import free_port, make_book

ROOT = Path(__file__).parents[1]
SHIPPED_RSYNCD = ROOT / "content-sync" / "rsyncd.conf"
MODULE = "tpkit"
START_TIMEOUT_S = 10


class Mirror:
    """Channel folders under `root`, signed with a county key made for the test."""

    def __init__(self, root: Path, keys_dir: Path) -> None:
        self.root = root
        self.key = keys_dir / "county.key"
        self.pub = keys_dir / "county.pub"
        keys_dir.mkdir(parents=True, exist_ok=True)
        channel.keygen(keys_dir / "county")

    def folder(self, name: str = "primary-en") -> Path:
        return self.root / name

    def book(
        self,
        name: str,
        *,
        body: str = "",
        channel_name: str = "primary-en",
        size_kb: int = 0,
        noise: bytes | None = None,
        **options,
    ) -> Path:
        """Write (or rewrite) a book in a channel; `body` changes its bytes; `size_kb` pads it with a random entry
        (random: compressed clusters of a real encyclopaedia do not shrink either)."""
        from appliance.content.zimwriter import Entry

        articles = {
            "index": ("Welcome", f"<p>Start here. {body}</p>"),
            "water": ("Water cycle", "<p>Rivers carry rain back to the sea.</p>" * 40 + body),
        }
        noise = noise if noise is not None else os.urandom(size_kb * 1024)
        extra = [Entry("media/noise.bin", "noise", "application/octet-stream", noise)] if noise else []
        return make_book(self.folder(channel_name), name, articles=articles, extra=extra, **options)

    def publish(self, channel_name: str = "primary-en", **options):
        return channel.publish(self.folder(channel_name), self.key, channel_name, **options)

    def resign(self, change, channel_name: str = "primary-en") -> None:
        """Edit the published index with `change(data)` and sign it again with the county key."""
        folder = self.folder(channel_name)
        data = json.loads((folder / INDEX_NAME).read_text())
        change(data)
        raw = json.dumps(data).encode()
        (folder / INDEX_NAME).write_bytes(raw)
        (folder / SIGNATURE_NAME).write_text(minisign.sign(minisign.read_secret_key(self.key), raw, "test"))


class RsyncDaemon:
    """`rsync --daemon --no-detach` with the shipped rsyncd.conf, its module path pointing at the mirror."""

    def __init__(self, mirror_root: Path, work: Path) -> None:
        self.port = free_port()
        self.config = work / "rsyncd.conf"
        self.log = work / "rsyncd.log"
        text = SHIPPED_RSYNCD.read_text()
        text = text.replace("path = /srv/tpkit/channels", f"path = {mirror_root}")
        # The test runs as whoever runs pytest: serve as that user, log to a file, no syslog in a container.
        text = text.replace("uid = nobody", f"uid = {os.getuid()}").replace("gid = nogroup", f"gid = {os.getgid()}")
        text = text.replace("port = 873", f"port = {self.port}\naddress = 127.0.0.1\nlog file = {self.log}")
        self.config.write_text(text)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"rsync://127.0.0.1:{self.port}/{MODULE}"

    def start(self) -> RsyncDaemon:
        self.process = subprocess.Popen(
            ["rsync", "--daemon", "--no-detach", f"--config={self.config}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError as exc:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(
                        f"rsync daemon did not start: {self.log.read_text() if self.log.exists() else ''}"
                    ) from exc
                time.sleep(0.05)

    def stop(self) -> None:
        """Kill the daemon and the children serving open sessions (its process group): the mirror is gone."""
        if self.process:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # already gone: stopping twice is fine
            self.process.wait()


def kit_settings(tmp_path: Path, source: str, mirror: Mirror, **overrides):
    """Settings of a kit subscribed to primary-en at `source`, trusting the mirror's key."""
    values = {
        "data_dir": str(tmp_path / "kit" / "data"),
        "content_dir": str(tmp_path / "kit" / "data" / "content"),
        "sync_source": source,
        "sync_channels": "primary-en",
        "trusted_channel_keys": str(mirror.pub),
        "disk_reserve_mb": 1,
        "sync_timeout_s": 10,
        "mdns_enabled": False,
        **overrides,
    }
    return load_settings(environ={}, overrides=values)


def open_database(settings) -> Database:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.data_dir / "tpkit.sqlite3")
    db.migrate()
    return db


def staged_files(settings) -> list[Path]:
    """Files left in the staging folder (garbage once a run has finished)."""
    staging = settings.data_dir / "sync" / "staging"
    return sorted(p for p in staging.rglob("*") if p.is_file()) if staging.exists() else []


def session_pids(session: int) -> list[int]:
    """Every process of a session (the sync, its tpkit-rsync shell, rsync, tr): a power cut takes them all."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[3]) == session and fields[0] != "Z":  # a zombie is dead already, waiting to be reaped
            pids.append(int(stat.parent.name))
    return pids


def run_while_serving(engine, path: str, before_absent: str, after: str, timeout_s: float = 20):
    """Run `engine` while a real uvicorn serves its kit; the run's result once `path` (absent `before_absent` before
    the run) carries `after`: the library picked the updated book up within `timeout_s`."""
    import httpx

    from appliance.services.kit import open_kit
    from appliance.web.app import create_app
    from tests.conftest import LiveServer

    kit = open_kit(engine.settings)
    try:
        with LiveServer(create_app(kit)) as server, httpx.Client(base_url=server.url, timeout=10) as http:
            assert before_absent not in http.get(path).text
            _, result = engine.run()
            deadline = time.monotonic() + timeout_s
            while after not in http.get(path).text:
                assert time.monotonic() < deadline, f"the library did not pick the update of {path} up"
                time.sleep(0.1)
    finally:
        kit.close()
    return result
