"""The county mirror: `sync_source`, an rsync:// URL (over the uplink) or a folder (docs/sync.md, "Sources").

Must not import the engine or web.
"""

from __future__ import annotations

import dataclasses

from appliance.services.sync.sources.tree import ChannelTree


@dataclasses.dataclass(frozen=True)
class MirrorSource(ChannelTree):
    """The county's channels, whole: its bytes are the uplink's (budget, windows, yielding, rate cap). Peer kits
    may stand in for an rsync:// mirror; a folder is local already."""

    kind = "mirror"

    @property
    def lan_stand_ins(self) -> bool:  # type: ignore[override]
        return self.where.startswith("rsync://")
