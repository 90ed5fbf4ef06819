"""Kits as mirrors for each other on the LAN: the kit's own read-only mirror tree, and finding peers (mDNS) that
hold a channel's newest sequence, tried by sync before the uplink. Everything a peer serves is verified against
the county's signatures like any mirror's (docs/sync.md, "Other roads in"). Must not import web.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from appliance.config import Settings
from appliance.edges import commands
from appliance.errors import ConfigError, TpkitError
from appliance.paths import Paths
from appliance.services.device import lan
from appliance.services.sync import stick_export as export

log = logging.getLogger(__name__)

MODULE = "tpkit"  # the module name in content-sync/rsyncd-kit.conf, as on a county mirror
CHECKOUT_CONFIG = Path(__file__).resolve().parents[3] / "content-sync" / "rsyncd-kit.conf"


def advertised_channels(paths: Paths) -> str:
    """What the kit's mirror tree serves, as its `channels` TXT record ("primary-en:5,county-local:2")."""
    return lan.format_channels(export.tree_sequences(paths))


def find(settings: Settings, channels: Iterable[str], last: Mapping[str, int | None]) -> dict[str, list[str]]:
    """Channel -> rsync URLs of peer kits whose mirror serves a sequence not older than `last`, newest first."""
    if settings.sync_peer_browse_s <= 0 or not settings.mdns_enabled:
        return {}
    try:
        kits = lan.discover(settings, settings.sync_peer_browse_s)
    except TpkitError as exc:
        log.warning(
            "peers: tried to look for peer kits with mDNS and could not (%s); syncing from %s",
            exc.message,
            settings.sync_source,
        )
        return {}
    found: dict[str, list[tuple[int, str]]] = {}
    for kit in kits:
        if kit.kit_id == settings.kit_id or not kit.mirror_port:
            continue
        for name, sequence in kit.channels.items():
            if name in channels and ((known := last.get(name)) is None or sequence >= known):
                found.setdefault(name, []).extend(
                    (sequence, f"rsync://{address}:{kit.mirror_port}/{MODULE}") for address in kit.addresses
                )
    return {name: [url for _, url in sorted(urls, key=lambda pair: -pair[0])] for name, urls in found.items()}


def rsyncd_config() -> Path:
    """content-sync/rsyncd-kit.conf: installed in /etc/tpkit, else the source checkout's copy."""
    installed = Path("/etc/tpkit/rsyncd-kit.conf")
    return installed if installed.is_file() else CHECKOUT_CONFIG


def serve(paths: Paths, settings: Settings) -> None:
    """Become the read-only rsync daemon over the mirror tree on `host`:`mirror_port` (does not return)."""
    # Serve as whoever runs this (tpkit-mirror.service: the tpkit user, who owns the tree); rsyncd run by root would
    # otherwise switch to "nobody", who may not read <data_dir>.
    argv = [
        "rsync",
        "--daemon",
        "--no-detach",
        f"--config={rsyncd_config()}",
        f"--port={settings.mirror_port}",
        f"--dparam=uid={os.getuid()}",
        f"--dparam=gid={os.getgid()}",
    ]
    if settings.host not in ("", "0.0.0.0"):
        argv.append(f"--address={settings.host}")
    try:
        commands.become(argv, env={"TPKIT_MIRROR_DIR": str(paths.mirror_dir)})
    except FileNotFoundError as exc:
        raise ConfigError(
            "rsync is not installed, so this kit cannot be a peer mirror.", fix="sudo apt-get install rsync"
        ) from exc
