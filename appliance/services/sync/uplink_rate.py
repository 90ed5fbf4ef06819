"""The uplink's speed, for a rate cap given as a share of it (`sync_rate_cap_percent`, docs/uplink.md).

A probe watches the uplink interface's received bytes during the first seconds of an uncapped download; the
engine keeps the result in the run history and reuses it for a day. No HTTP, no SQL; must not import web.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from appliance.edges import traffic

# Seconds of an uncapped download the probe watches, and the first of them it ignores: TCP's slow start over a
# 4-10 Mbit/s link with a few hundred ms of queue needs ~1-2 s to fill the link.
PROBE_S = 6.0
RAMP_S = 2.0
# A measurement is reused this long, so a kit on a capped link runs uncapped for PROBE_S at most once a day.
REUSE_S = 24 * 3600.0
# rsync --bwlimit limits payload; the link carries each 1448-byte TCP payload in a 1514-byte Ethernet frame.
PAYLOAD_PER_WIRE_BYTE = 1448 / 1514


class Probe:
    """Fed by `sample()` while an uncapped download runs: the received bytes per second on `interface` between
    RAMP_S and PROBE_S after the first sample (everyone's traffic: on a full link, that is the link's speed)."""

    def __init__(
        self,
        interface: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        read_received: Callable[[str], int | None] = traffic.interface_received_bytes,
    ) -> None:
        self.interface, self._clock, self._read = interface, clock, read_received
        self._began: float | None = None
        self._from: tuple[float, int] | None = None

    def available(self) -> bool:
        """Whether the interface's counters can be read at all."""
        return self._read(self.interface) is not None

    def sample(self) -> float | None:
        """Take a reading; the link's bytes per second once PROBE_S have passed, else None (also without counters)."""
        now, total = self._clock(), self._read(self.interface)
        if total is None:
            return None
        if self._began is None:
            self._began = now
        elif self._from is None and now - self._began >= RAMP_S:
            self._from = (now, total)
        elif self._from is not None and now - self._began >= PROBE_S and now > self._from[0]:
            return (total - self._from[1]) / (now - self._from[0])
        return None


def share_kbps(percent: int, link_bytes_per_s: float) -> int:
    """rsync's --bwlimit (KiB/s of payload) that puts `percent` % of the link's bytes on the wire; at least 1."""
    return max(1, int(link_bytes_per_s * percent / 100 * PAYLOAD_PER_WIRE_BYTE / 1024))


def combined_cap_kbps(absolute_kbps: int, share_cap_kbps: int) -> int:
    """The lower of two caps where 0 means none; 0 when neither is set."""
    caps = [cap for cap in (absolute_kbps, share_cap_kbps) if cap > 0]
    return min(caps) if caps else 0


def reusable(last: tuple[float, str] | None, now: dt.datetime) -> float | None:
    """A measurement from the run history ((bytes per second, its run's UTC start as stored)) while younger than
    REUSE_S, else None (measure again)."""
    if last is None:
        return None
    measured = dt.datetime.strptime(last[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    return last[0] if 0 <= (now - measured).total_seconds() < REUSE_S else None
