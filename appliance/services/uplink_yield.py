"""Yielding the uplink to people: a transfer pauses when other traffic rises and resumes when it falls.

The kit counts every byte on its uplink interface and every byte of its own transfer's TCP connections
to the mirror; the difference is people's traffic. Above `threshold` for `pause_after_s`, the transfer
is stopped (rsync keeps what it has in its partial folder); after `resume_after_s` of quiet it starts
again and carries on from there. No HTTP, no SQL (docs/sync.md, "Yielding to people").
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence

from appliance.edges import traffic
from appliance.edges.commands import Running


@dataclasses.dataclass(frozen=True)
class YieldPolicy:
    """When to step aside: people's traffic above `threshold_bytes_per_s` for `pause_after_s` seconds."""

    threshold_bytes_per_s: float
    pause_after_s: float = 2.0
    resume_after_s: float = 60.0


@dataclasses.dataclass
class YieldWatch:
    """Fed one sample a second; says whether the transfer should run. Knows nothing of processes."""

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
        own_delta = sum(value - own_then.get(local, 0) for local, value in own.items() if value >= own_then.get(local, 0))
        self.other_bytes_per_s = max(0, interface_total - interface_then - own_delta) / (now - then)
        busy = self.other_bytes_per_s > self.policy.threshold_bytes_per_s
        if busy != self.yielding:  # the condition that would change our mind holds
            self._since = self._since if self._since is not None else now
            wait = self.policy.pause_after_s if busy else self.policy.resume_after_s
            if now - self._since >= wait:
                self.yielding, self._since = busy, None
        else:
            self._since = None
        return not self.yielding


@dataclasses.dataclass
class TransferOutcome:
    """How a yielding transfer ended: the command's exit status and what happened on the way."""

    returncode: int | None
    pauses: int = 0
    yielded_s: float = 0.0
    events: list[tuple[float, str]] = dataclasses.field(default_factory=list)
    stopped_by_deadline: bool = False


def run_yielding(argv: Sequence[str], watch: YieldWatch, interface: str, peer: tuple[str, int], *,
                 sample_s: float = 1.0, stop_grace_s: float = 2.0, deadline: float | None = None, log_path: str | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 read_interface: Callable[[str], int | None] = traffic.interface_bytes,
                 read_connections: Callable[[str, int], dict[str, int] | None] = traffic.connection_bytes,
                 ) -> TransferOutcome:
    """Run `argv` (a resumable transfer: rsync --inplace --append-verify into a staging file) to its end, stopping it while
    people need the uplink and starting it again when they are done. Without interface counters (no such
    interface) it simply runs: yielding is a courtesy, never a reason to fail."""
    outcome, start = TransferOutcome(None), clock()
    process: Running | None = Running(argv, log_path=log_path)
    outcome.events.append((0.0, "started"))
    paused_at = 0.0
    while True:
        code = process.poll() if process else None
        if code is not None:
            outcome.returncode = code
            outcome.events.append((clock() - start, f"ended {code}"))
            return outcome
        if deadline is not None and clock() >= deadline:
            if process:
                outcome.returncode = process.stop()
            outcome.stopped_by_deadline = True
            outcome.events.append((clock() - start, "deadline"))
            return outcome
        sleep(sample_s)
        total = read_interface(interface)
        if total is None:
            continue
        run = watch.observe(clock(), total, (read_connections(*peer) or {}) if process else {})
        if process and not run:
            paused_at = clock()
            outcome.pauses += 1
            outcome.events.append((paused_at - start, f"yielded ({watch.other_bytes_per_s:.0f} B/s of other traffic)"))
            process.stop(grace_s=stop_grace_s)
            process = None
            outcome.events.append((clock() - start, "stopped"))
        elif process is None and run:
            outcome.yielded_s += clock() - paused_at
            process = Running(argv, log_path=log_path)
            outcome.events.append((clock() - start, "resumed"))
