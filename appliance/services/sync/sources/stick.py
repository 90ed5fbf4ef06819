"""A USB stick's channel tree, `<stick>/tpkit/<channel>/…` as `tpkit export` wrote it (`tpkit import`,
services/sync/stick_import.py). Must not import the engine or web.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from appliance.services.sync.plan import MB
from appliance.services.sync.sources.tree import ChannelTree


@dataclasses.dataclass(frozen=True)
class StickSource(ChannelTree):
    """A stick carries only the books its kit had, and only its channels: a listed book missing from it is skipped,
    and books of channels it does not carry stay. Not the uplink: no windows, budget, yielding or rate probe."""

    kind = "stick"
    uplink = False
    carries_all = False

    @property
    def name(self) -> str:
        return "the stick"

    def carried(self, channel: str) -> frozenset[str] | None:
        """The files on the stick under the channel's folder (`tpkit export` writes the books it could pass on, and
        the patches a kit kept beside a book's layers): names only, nothing is read."""
        folder = Path(self.where) / channel
        return frozenset(
            (Path(top) / name).relative_to(folder).as_posix()
            for top, _, names in os.walk(folder)
            for name in names
            if not name.startswith(".")  # an export's temporary file
        )

    def summary(self, received_bytes: int) -> str:
        return f"From a USB stick: {received_bytes / MB:.1f} MB copied."
