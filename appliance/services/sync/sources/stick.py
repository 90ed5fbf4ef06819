"""A USB stick's channel tree, `<stick>/tpkit/<channel>/…` as `tpkit export` wrote it (`tpkit import`,
services/sync/stick_import.py). Must not import the engine or web.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from appliance.services.sync.plan import MB
from appliance.services.sync.sources.tree import ChannelTree


@dataclasses.dataclass(frozen=True)
class StickSource(ChannelTree):
    """A stick carries only the books its kit had, and only its channels: a listed book missing from it is skipped,
    and books of channels it does not carry stay. Not the uplink: no windows, budget, yielding or rate probe."""

    kind = "stick"
    uplink = False
    carries_all = False
    full_books_only = True  # `tpkit export` writes full books only

    @property
    def name(self) -> str:
        return "the stick"

    def has(self, channel: str, package: Mapping[str, Any]) -> bool:
        return (Path(self.where) / channel / package["file"]).is_file()

    def summary(self, received_bytes: int) -> str:
        return f"From a USB stick: {received_bytes / MB:.1f} MB copied."
