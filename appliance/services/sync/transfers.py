"""One sync run's rsync transfers under the kit's limits: a closing window or a full disk stops a book's download,
people's traffic pauses it, the rate cap bounds it (the uplink measured once when a share cap is set), and its bytes
are counted per source (docs/sync.md, docs/uplink.md). Must not import web.
"""

from __future__ import annotations

import urllib.parse
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from appliance.config import Settings
from appliance.edges import traffic, transfer
from appliance.errors import DiskFullError, SyncError
from appliance.services.sync import uplink_rate
from appliance.services.sync.events import Event
from appliance.services.sync.limits import Limits
from appliance.services.sync.plan import MB
from appliance.services.sync.sources import Source
from appliance.services.sync.uplink_yield import UplinkGuard

PARTIAL_DIR = ".partial"
RSYNC_FILE_IO = 11  # rsync's exit code for "error in file I/O": among others, a write that found the disk full
FULL_BELOW_BYTES = 1024 * 1024  # a disk with less than this free after such an exit is taken to be full
TICK_S = 0.5  # how often a transfer without a guard is looked at between rsync's progress lines


class _UplinkMeasured(transfer.StopAtOnce):
    """Raised from a transfer's tick when the probe has measured the uplink: rsync is restarted under the cap."""


class _PeopleNeedTheUplink(transfer.StopAtOnce):
    """Raised from a transfer's tick: rsync is killed at once (what it wrote is kept for the resume) and sync waits."""


class Transfers:
    """The transfers of one run (or one `--plan`): `uplink_bytes` crossed the uplink (the run's bytes_received, the
    budget's count), `received` counts every source's bytes by its kind (the run history's notes)."""

    def __init__(
        self,
        program: Path,
        settings: Settings,
        limits: Limits,
        *,
        free_bytes: Callable[[], int],
        on_event: Callable[[Event], None],
        record_uplink: Callable[[float], None],
        guard: UplinkGuard | None = None,
        uplink_bps: float | None = None,
        run_lock: int | None = None,
    ) -> None:
        self.program, self.settings, self.limits = program, settings, limits
        # The run lock's descriptor, inherited by every rsync: a transfer that outlives its `tpkit sync` (killed)
        # keeps the lock until it has ended, so no new run writes the same staging file meanwhile.
        self.hold_fds = () if run_lock is None else (run_lock,)
        self.guard, self.uplink_bps = guard, uplink_bps
        self.free_bytes, self.on_event, self.record_uplink = free_bytes, on_event, record_uplink
        self.uplink_bytes = 0
        self.received: Counter[str] = Counter()
        self._told_unmeasured = False

    def fetch(
        self,
        source: Source,
        location: str,
        dest: Path,
        *,
        basis: Path | None = None,
        package_id: str = "",
        total_bytes: int = 0,
    ) -> None:
        """Fetch one file of `source` to `dest` (resumable); a SyncError when the transfer fails or a limit stops it.
        `package_id` marks a book or patch: the window, the disk reserve, yielding and the probe apply to those."""
        while True:
            # While the probe measures the uplink the share cap is not applied (the absolute cap is); a source that
            # is not the uplink (a stick, a peer kit) is not measured.
            probe = self._probe(location, package_id) if package_id and source.uplink else None
            try:
                done = transfer.fetch(
                    self.program,
                    location,
                    dest,
                    partial_dir=dest.parent / PARTIAL_DIR,
                    timeout_s=self.settings.sync_timeout_s,
                    bwlimit_kbps=self.settings.sync_rate_cap_kbps if probe else self.cap_kbps(),
                    basis=basis,
                    on_progress=self._progress(package_id, location, total_bytes),
                    on_tick=self._tick(probe, location, package_id),
                    tick_s=self.guard.sample_s if self.guard else TICK_S,
                    hold_fds=self.hold_fds,
                )
                break
            except _PeopleNeedTheUplink:  # rsync is gone, what it wrote kept; wait, then resume from there
                self._wait_for_people(package_id)
            except _UplinkMeasured:  # rsync is gone, what it wrote kept; go on under the cap
                assert self.uplink_bps is not None  # the tick measured it before raising
                self.on_event(
                    Event(
                        "cap",
                        package_id,
                        text=f"uplink measured at {self.uplink_bps / 1024:.0f} KiB/s, "
                        f"{self.settings.sync_rate_cap_percent} % of it: {self.cap_kbps()} KiB/s",
                    )
                )
        self._count(source, done.received_bytes)
        if done.returncode == RSYNC_FILE_IO and package_id and self.free_bytes() < FULL_BELOW_BYTES:
            raise self._disk_full(dest, package_id, total_bytes)
        if done.returncode != 0:
            raise SyncError(
                f"Downloading {location} failed: {done.message}",
                code="sync.transfer_failed",
                cause=f"rsync exit {done.returncode} (content-sync/README.md lists them).",
                fix="Run `tpkit sync` again once the mirror and uplink are back: finished books are "
                "kept and a cut download resumes.",
            )

    def _disk_full(self, dest: Path, package_id: str, total_bytes: int) -> DiskFullError:
        """rsync could not write `dest` because the disk filled (the up-front check counted less than it wrote, or
        something else filled the disk): what it wrote is removed, so the database and the library keep working."""
        left = [dest, dest.parent / PARTIAL_DIR / dest.name, *dest.parent.glob(f".{dest.name}.??????")]
        written = sum(path.stat().st_size for path in left if path.is_file())
        for path in left:
            path.unlink(missing_ok=True)
        needed = total_bytes + self.settings.disk_reserve_mb * MB
        return DiskFullError(
            f"The content disk filled while downloading {package_id} ({written / MB:.1f} of {total_bytes / MB:.1f} "
            f"MB written): {self.free_bytes() / MB:.1f} MB are free now that the unfinished download was removed, so "
            "that the kit's database and library keep working.",
            cause="The disk check before the run counted less than the download wrote, or something else filled the "
            "disk during the sync.",
            fix=f"Free space on the content disk (df -h {dest.parent}) until at least {needed / MB:.1f} MB are free "
            "(the book and disk_reserve_mb), then run `tpkit sync` again.",
        )

    def cap_kbps(self) -> int:
        """rsync's --bwlimit now (the uplink's measured speed, once known, sets the share cap)."""
        return self.limits.cap_kbps(self.uplink_bps)

    def _count(self, source: Source, received_bytes: int) -> None:
        self.received[source.kind] += received_bytes
        if source.uplink:
            self.uplink_bytes += received_bytes

    def _progress(self, package_id: str, location: str, total_bytes: int) -> Callable[[transfer.Progress], None]:
        reserve_mb = self.settings.disk_reserve_mb

        def progress(p: transfer.Progress) -> None:
            if package_id:  # index files are a few KB: neither the window nor the disk is checked for them
                self.limits.require_window(closed_during=package_id)
                if self.free_bytes() < reserve_mb * MB:
                    raise SyncError(
                        f"The content disk fell below the {reserve_mb} MB reserve while downloading "
                        f"{package_id}; the download was stopped.",
                        code="sync.disk_reserve",
                        cause="Something else is filling the disk during the sync.",
                        fix="Free space on the content disk (df -h), then run `tpkit sync` again: it resumes.",
                    )
            self.on_event(Event("download", package_id, p.done_bytes, total_bytes, p.rate_bps))

        return progress

    def _tick(self, probe: uplink_rate.Probe | None, location: str, package_id: str) -> Callable[[], None]:
        def tick() -> None:  # twice a second, between progress lines too (rsync prints one a second)
            measured = probe.sample() if probe is not None else None
            if measured is not None:
                self.uplink_bps = measured
                self.record_uplink(measured)
                self.uplink_bytes += _attempt_bytes(location)
                raise _UplinkMeasured
            if package_id and self.guard is not None and not self.guard.running_ok():
                self.on_event(
                    Event(
                        "yield",
                        package_id,
                        text=f"{self.guard.watch.other_bytes_per_s / 1024:.0f} KiB/s of other traffic",
                    )
                )
                self.uplink_bytes += _attempt_bytes(location)
                raise _PeopleNeedTheUplink

        return tick

    def _wait_for_people(self, package_id: str) -> None:
        assert self.guard is not None  # only a guard stops a transfer for people
        self.on_event(Event("paused", package_id))
        self.guard.wait_for_quiet(lambda: self.limits.require_window(closed_during=package_id))
        self.on_event(Event("resume", package_id))

    def _probe(self, location: str, package_id: str) -> uplink_rate.Probe | None:
        """A probe for this download when a share cap is set, the uplink's speed is not known yet, and it can be
        measured (an rsync mirror, an uplink interface). Says once per run when it cannot."""
        if not self.settings.sync_rate_cap_percent or self.uplink_bps is not None:
            return None
        interface = self.limits.uplink_interface() if urllib.parse.urlsplit(location).scheme == "rsync" else ""
        probe = uplink_rate.Probe(interface) if interface else None
        if probe is not None and probe.available():
            return probe
        if not self._told_unmeasured:
            self._told_unmeasured = True
            self.on_event(
                Event(
                    "cap",
                    package_id,
                    text="the uplink's speed cannot be measured (not an rsync:// "
                    "mirror, or no uplink interface): sync_rate_cap_percent is not applied",
                )
            )
        return None


def _attempt_bytes(location: str) -> int:
    """Wire bytes of the transfer about to be killed (its connection to the mirror): rsync reports its totals only
    when it finishes, and the run's bytes (and the monthly budget) must count a cut attempt too."""
    source = urllib.parse.urlsplit(location)
    seen = traffic.connection_bytes(source.hostname, source.port or 873) if source.hostname else None
    return sum((seen or {}).values())
