"""A channel tree reachable by rsync, `<root>/<channel>/<file>` (an rsync:// URL or a folder): what the county
mirror, a stick and a peer kit have in common. Must not import the engine or web.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from appliance.content.channel_index import INDEX_NAME, SIGNATURE_NAME
from appliance.errors import TpkitError
from appliance.services.sync.sources import Fetcher


@dataclasses.dataclass(frozen=True)
class ChannelTree:
    """The rsync half of a `Source`; a class of it sets the policy half (kind, uplink, faults, summary)."""

    where: str
    kind = "tree"
    uplink = True
    carries_all = True
    lan_stand_ins = False

    @property
    def name(self) -> str:
        return self.where

    def location(self, channel: str, relative: str) -> str:
        """The rsync source of one file of a channel."""
        return f"{self.where.rstrip('/')}/{channel}/{relative}"

    def fetch_index(self, fetcher: Fetcher, channel: str, stage: Path) -> None:
        for relative in (INDEX_NAME, SIGNATURE_NAME):
            fetcher.fetch(self, self.location(channel, relative), stage / relative)

    def fetch_package(
        self,
        fetcher: Fetcher,
        channel: str,
        package: Mapping[str, Any],
        dest: Path,
        *,
        basis: Path | None,
        package_id: str,
        total_bytes: int,
    ) -> None:
        fetcher.fetch(
            self,
            self.location(channel, package["file"]),
            dest,
            basis=basis,
            package_id=package_id,
            total_bytes=total_bytes,
        )

    def fetch_patch(
        self, fetcher: Fetcher, channel: str, patch: Mapping[str, Any], dest: Path, *, package_id: str
    ) -> None:
        fetcher.fetch(
            self, self.location(channel, patch["file"]), dest, package_id=package_id, total_bytes=patch["size_bytes"]
        )

    def carried(self, channel: str) -> frozenset[str] | None:
        return None  # a county mirror carries what its index lists

    def falls_back(self, exc: TpkitError, what: str) -> bool:
        return False

    def summary(self, received_bytes: int) -> str:
        return ""
