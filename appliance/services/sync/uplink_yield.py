"""Yielding the uplink to people: a transfer pauses when other traffic rises and resumes when it falls.

The kit counts every byte on its uplink interface and every byte of its own transfer's TCP connections
to the mirror; the difference is people's traffic. Above `threshold` for `pause_after_s`, the sync engine
stops the transfer (rsync keeps what it has); after `resume_after_s` of quiet it starts it again and it
carries on from there. No HTTP, no SQL (docs/uplink.md).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from appliance.edges import traffic

# Counters are read twice a second: a decision then lands within half a second of people's traffic having been
# above the threshold for `pause_after_s`. Each sample costs two `ss` runs (~10 ms of CPU).
SAMPLE_S = 0.5


@dataclasses.dataclass(frozen=True)
class YieldPolicy:
    """When to step aside: people's traffic above `threshold_bytes_per_s` for `pause_after_s` seconds."""

    threshold_bytes_per_s: float
    pause_after_s: float = 2.0
    resume_after_s: float = 60.0


@dataclasses.dataclass
class YieldWatch:
    """Fed a sample every SAMPLE_S seconds; says whether the transfer should run. Knows nothing of processes."""

    policy: YieldPolicy
    yielding: bool = False
    other_bytes_per_s: float = 0.0
    _last: tuple[float, int, dict[str, int]] | None = None
    _since: float | None = None  # when the current run of "busy" (or, while yielding, "quiet") began

    def observe(self, now: float, interface_total: int, own: dict[str, int]) -> bool:
        """Take a sample (monotonic seconds, interface bytes, own bytes per connection); True = let it run."""
        last, self._last = self._last, (now, interface_total, dict(own))
        if last is None or now <= last[0]:
            return not self.yielding
        then, interface_then, own_then = last
        own_delta = sum(
            value - own_then.get(local, 0) for local, value in own.items() if value >= own_then.get(local, 0)
        )
        self.other_bytes_per_s = max(0, interface_total - interface_then - own_delta) / (now - then)
        busy = self.other_bytes_per_s > self.policy.threshold_bytes_per_s
        if busy != self.yielding:  # the condition that would change our mind holds
            # ...and has held since the start of this sample's interval, not only since the sample was taken:
            # counting from `now` would add one sample period to every decision.
            self._since = self._since if self._since is not None else then
            wait = self.policy.pause_after_s if busy else self.policy.resume_after_s
            if now - self._since >= wait:
                self.yielding, self._since = busy, None
        else:
            self._since = None
        return not self.yielding


class UplinkGuard:
    """The watch fed from the real counters: `running_ok()` between progress lines of a transfer, and
    `wait_for_quiet()` while it is stopped. Without counters (no such interface, no `ss`) it never yields."""

    def __init__(
        self,
        watch: YieldWatch,
        interface: str,
        peer: tuple[str, int],
        *,
        sample_s: float = SAMPLE_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        read_interface: Callable[[str], int | None] = traffic.interface_bytes,
        read_connections: Callable[[str, int], dict[str, int] | None] = traffic.connection_bytes,
    ) -> None:
        self.watch, self.interface, self.peer, self.sample_s = watch, interface, peer, sample_s
        self._clock, self._sleep = clock, sleep
        self._read_interface, self._read_connections = read_interface, read_connections
        self._last_sample = float("-inf")
        self.pauses, self.yielded_s = 0, 0.0

    def _observe(self, transfer_running: bool) -> bool:
        if not transfer_running:
            total = self._read_interface(self.interface)
            return True if total is None else self.watch.observe(self._clock(), total, {})
        # `ss` takes tens of milliseconds, during which a 5 Mbit/s transfer moves tens of KB: reading our own
        # connections once before and once after the interface, and taking the middle, keeps that skew from
        # being counted as people's traffic (or hiding it).
        before = self._read_connections(*self.peer) or {}
        total = self._read_interface(self.interface)
        after = self._read_connections(*self.peer) or {}
        if total is None:
            return True
        own = {local: (before.get(local, value) + value) // 2 for local, value in after.items()}
        return self.watch.observe(self._clock(), total, own)

    def running_ok(self) -> bool:
        """While the transfer runs: False when people have needed the uplink for `pause_after_s` (stop it now)."""
        now = self._clock()
        if now - self._last_sample < self.sample_s:
            return not self.watch.yielding
        self._last_sample = now
        return self._observe(transfer_running=True)

    def wait_for_quiet(self, still_allowed: Callable[[], None] = lambda: None) -> None:
        """While the transfer is stopped: return once the uplink has been quiet for `resume_after_s`.
        `still_allowed` is called every sample and may raise (the sync window closed)."""
        self.pauses += 1
        began = self._clock()
        while not self._observe(transfer_running=False):
            still_allowed()
            self._sleep(1.0)
        self.yielded_s += self._clock() - began
