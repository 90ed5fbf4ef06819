"""A peer kit's mirror tree on the LAN (found by mDNS: services/sync/peers.py), tried before the county mirror for
a channel; everything it serves is verified against the county's signed index. Must not import the engine or web.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from appliance.edges import transfer
from appliance.errors import TpkitError
from appliance.services.sync.plan import MB
from appliance.services.sync.sources.tree import ChannelTree

# What a peer kit can get wrong with a book; the book is then fetched from sync_source against the same index.
PEER_FAULTS = ("channel.package_mismatch", "sync.package_damaged", "sync.transfer_failed")
LIST_TIMEOUT_S = 20  # listing a peer's channel folder (names and sizes) on the LAN


@dataclasses.dataclass(frozen=True)
class PeerSource(ChannelTree):
    """One peer kit's `rsync://<address>:<mirror_port>/tpkit`. Not the uplink (no budget, no rate probe); any fault
    of its index, and a bad or missing book, send the engine to the next source."""

    kind = "peer"
    uplink = False

    @property
    def name(self) -> str:
        return f"peer {self.where}"

    def carried(self, channel: str) -> frozenset[str] | None:
        """What the peer's tree holds of the channel (its books, and the patches it kept beside a book's layers): one
        `rsync --list-only` of the channel's folder; nothing when it cannot be listed (its books then come from the
        run's own source)."""
        listed = transfer.list_files(self.location(channel, ""), timeout_s=LIST_TIMEOUT_S)
        return listed if listed is not None else frozenset()

    def falls_back(self, exc: TpkitError, what: str) -> bool:
        # the kit's own limits (window, disk, budget) stop the run wherever a book comes from
        return what == "index" or exc.code in PEER_FAULTS

    def summary(self, received_bytes: int) -> str:
        return f"{received_bytes / MB:.1f} MB from peer kits on the LAN." if received_bytes else ""


def stand_ins(found: Mapping[str, list[str]]) -> dict[str, list[PeerSource]]:
    """Channel -> peer sources, in the order found (newest sequence first)."""
    return {name: [PeerSource(url) for url in urls] for name, urls in found.items()}
