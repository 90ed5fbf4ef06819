"""Where a channel's files come from: the one interface every source of books implements (docs/sync.md, "Sources").

The county mirror (`mirror`), a USB stick's channel tree (`stick`) and a peer kit on the LAN (`peer`) are classes
of it; the engine asks only this interface. Must not import the engine or web.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from appliance.errors import TpkitError


class Fetcher(Protocol):
    """The run's transfers (services/sync/transfers.py): one file from `location` into `dest`, under the kit's limits
    and counted for `source` (its bytes against the uplink or not)."""

    def fetch(
        self,
        source: Source,
        location: str,
        dest: Path,
        *,
        basis: Path | None = None,
        package_id: str = "",
        total_bytes: int = 0,
    ) -> None: ...


class Source(Protocol):
    """One source of signed channels. Everything it serves is verified by the engine against the signed index, so a
    source is trusted for nothing but availability."""

    @property
    def kind(self) -> str:
        """One word per class ("mirror", "stick", "peer"): the run history counts bytes by it."""

    @property
    def where(self) -> str:
        """Its rsync URL or folder, as settings and errors quote it ("" when not configured)."""

    @property
    def name(self) -> str:
        """How notes name it: "the stick", "peer rsync://10.0.0.7:8730/tpkit"."""

    @property
    def uplink(self) -> bool:
        """Its bytes cross the uplink: the monthly budget, windows, yielding and the rate cap's probe apply."""

    @property
    def carries_all(self) -> bool:
        """It carries every subscribed channel and every listed book; False: a missing book is skipped, and only
        the channels it carries can lose books."""

    def carried(self, channel: str) -> frozenset[str] | None:
        """The channel's files it carries, as paths relative to the channel's folder (full books and patches); None:
        every file the channel's index lists (a mirror, asked without looking). Asked once per run and channel, after
        its index: the plan takes a chain of patches only when it carries all of them (docs/sync.md, "Roads and
        patches"). A book it serves may be a kit's own rebuild, verified by the entry digest the index signs."""

    @property
    def lan_stand_ins(self) -> bool:
        """Peer kits on the LAN may stand in for it (looked for with mDNS before a run)."""

    def fetch_index(self, fetcher: Fetcher, channel: str, stage: Path) -> None:
        """Fetch the channel's `index.json` and `index.json.minisig` into `stage` (unverified)."""

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
        """Fetch a full book listed in the channel's index to `dest` (`basis`: the installed version, for a delta)."""

    def fetch_patch(
        self, fetcher: Fetcher, channel: str, patch: Mapping[str, Any], dest: Path, *, package_id: str
    ) -> None:
        """Fetch one patch listed in the channel's index to `dest`."""

    def falls_back(self, exc: TpkitError, what: str) -> bool:
        """Whether `exc`, met fetching `what` ("index" or "package") from here, means: ask the next source instead."""

    def summary(self, received_bytes: int) -> str:
        """A sentence for the run history about the bytes it supplied ("" when there is nothing to say)."""
