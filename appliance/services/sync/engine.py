"""`tpkit sync`: fetch the subscribed channels' signed indexes, plan, download, verify, switch atomically.

Runs as its own process (a systemd timer, the panel's button, or by hand); one at a time (a lock in the sync
folder). docs/sync.md. Must not import web.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import shutil
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from appliance.config import Settings
from appliance.content import zimfile
from appliance.content.channel_index import INDEX_NAME, SIGNATURE_NAME, ChannelIndex, check_package_file
from appliance.edges import system, traffic, transfer
from appliance.errors import ChannelError, ConfigError, DamagedBookError, StorageError, SyncError, TpkitError
from appliance.files import file_digest, write_atomically
from appliance.paths import Paths
from appliance.services.kit import claim_once
from appliance.services.reporting import desired_config
from appliance.services.sync import activation, channel, policy as sync_policy, stick_export as export, uplink_rate
from appliance.services.sync.plan import (
    LOCAL_CHANNEL,
    MB,
    DiskCheck,
    Plan,
    Step,
    Subscription,
    make_plan,
    refuse_if_short,
)
from appliance.services.sync.uplink_yield import UplinkGuard, YieldPolicy, YieldWatch
from appliance.storage.channel_sequences import ChannelSequences
from appliance.storage.database import Database
from appliance.storage.installed_packages import Installed, InstalledPackages
from appliance.storage.sync_runs import RunResult, SyncRuns

log = logging.getLogger(__name__)

PARTIAL_DIR = ".partial"
# What a peer kit can get wrong with a book; the book is then fetched from sync_source against the same index.
PEER_FAULTS = ("channel.package_mismatch", "sync.package_damaged", "sync.transfer_failed")
REBUILT_SUFFIX = ".rebuilt.zim"  # a book rebuilt from patches in staging, before its switch


def _routes(plan: Plan) -> str:
    """How each update came, for the run history: by patch (and bytes), or whole and why although patches exist."""
    parts = [f"{s.package_id} by {len(s.patches)} patch(es), {s.size_bytes:,} of {s.offered['size_bytes']:,} bytes"
             if s.by_patch else f"{s.package_id} as the full package: {s.why_full}"
             for s in plan.steps if s.by_patch or s.why_full]
    return "; ".join(parts) + ("." if parts else "")


@dataclasses.dataclass(frozen=True)
class Event:
    """What the engine is doing, for a progress display: `kind` is index, plan, download, verify, rebuild, activate,
    remove (and yield, paused, resume)."""

    kind: str
    package_id: str = ""
    done_bytes: int = 0
    total_bytes: int = 0
    rate_bps: int = 0
    text: str = ""


def recent_runs(db: Database, limit: int = 5) -> list[dict]:
    """The last `limit` sync runs, newest first (for the admin page; `tpkit sync --history` shows more)."""
    return SyncRuns(db).recent(limit)


def local_books(db: Database) -> set[str]:
    """File names (in the content folder) of the unsigned books teachers imported: the local channel."""
    return {row.file for row in InstalledPackages(db).all().values() if row.channel == LOCAL_CHANNEL}


def _utc(clock: Callable[[], dt.datetime]) -> str:
    return clock().astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _UplinkMeasured(transfer.StopAtOnce):
    """Raised from a transfer's tick when the probe has measured the uplink: rsync is restarted under the cap."""


class _PeopleNeedTheUplink(transfer.StopAtOnce):
    """Raised from a transfer's tick: rsync is killed at once (what it wrote is kept for the resume) and sync waits."""


@dataclasses.dataclass
class Engine:
    """One kit's sync engine: settings, database tables, and the clocks (injectable for tests)."""

    settings: Settings
    db: Database
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)
    on_event: Callable[[Event], None] = lambda event: None
    bytes_received: int = 0
    guard: UplinkGuard | None = None  # made per run from the settings (None: not an rsync mirror, or yielding off)
    # Other roads in (docs/sync.md): a USB stick's `tpkit/` folder instead of sync_source ("usb": no windows, budget
    # or yielding, only the subscribed channels on the stick, books missing from it skipped), and peer kits tried
    # before the uplink for each channel (peers: channel -> rsync URLs of kits advertising a newer sequence).
    source: str = ""
    road: str = "mirror"
    channels: tuple[str, ...] | None = None
    peers: dict[str, list[str]] | None = None  # None: look for them with mDNS (sync_peer_browse_s) at the start
    full_ids: frozenset[str] = frozenset()  # `tpkit sync --full BOOK`: fetch these whole even when patches are offered

    def __post_init__(self) -> None:
        # the county's configuration, once the kit applied it, wins over kit.toml for each field it sets
        self.settings = desired_config.in_force(self.settings, self.db)
        self.paths = Paths.from_settings(self.settings)
        self.installed = InstalledPackages(self.db)
        self.runs = SyncRuns(self.db)
        self.sequences = ChannelSequences(self.db)
        self.uplink_bps: float | None = None
        self.run_id, self._told_unmeasured = 0, False
        self.subscription = Subscription.from_settings(self.settings.sync_channels, self.settings.sync_packages,
                                                       self.settings.sync_tags)
        if self.channels is not None:
            self.subscription = dataclasses.replace(self.subscription, channels=self.channels)
        self.source = self.source or self.settings.sync_source
        self.channel_sources: dict[str, str] = {}  # the peer a channel's index came from, while it serves well
        self.peer_notes: list[str] = []
        self.peer_bytes = 0
        try:
            self.windows = sync_policy.parse_windows(self.settings.sync_windows)
        except ValueError as exc:
            raise ConfigError(f"sync_windows = {self.settings.sync_windows!r} ({self._from('sync_windows')}) cannot be "
                              f"used: {exc}.",
                              fix="Write windows like \"Mon-Fri 16:00-07:00, Sat-Sun\" (docs/settings.md).") from exc

    def _from(self, name: str) -> str:
        return self.settings.sources.get(name, "default")

    # --- policy: time windows and the monthly budget (docs/sync.md) -------------------------
    def _require_window(self, closed_during: str = "") -> None:
        now = self.clock()
        if self.road == "usb" or sync_policy.in_window(self.windows, now):  # a stick uses no uplink
            return
        opening = sync_policy.next_opening(self.windows, now)
        when = opening.strftime("%a %H:%M") if opening else "never (no window opens within a week)"
        if closed_during:
            raise SyncError(f"The sync window closed while downloading {closed_during}; the download was stopped.",
                            code="sync.window_closed",
                            cause=f"sync_windows = {self.settings.sync_windows!r} ({self._from('sync_windows')}).",
                            fix=f"Nothing: the next run in a window resumes it (next window opens {when}).")
        raise SyncError(f"Sync may not download now ({now.astimezone().strftime('%a %H:%M')} is outside "
                        f"sync_windows = {self.settings.sync_windows!r}, from {self._from('sync_windows')}).",
                        code="sync.outside_window",
                        fix=f"Wait for the next window ({when}), or change sync_windows.")

    def _require_budget(self, step: Step) -> None:
        budget = self.settings.sync_month_budget_mb * MB
        if not budget or self.road == "usb" or step.channel in self.channel_sources:  # a stick or a peer: not metered
            return
        since = sync_policy.month_start(self.clock()).strftime("%Y-%m-%dT%H:%M:%SZ")
        left = budget - self.runs.bytes_since(since) - self.bytes_received
        if step.size_bytes > left:
            raise SyncError(f"{step.package_id} ({step.size_bytes / MB:.1f} MB) does not fit in what is left of this "
                            f"month's budget ({max(left, 0) / MB:.1f} MB of {self.settings.sync_month_budget_mb} MB).",
                            code="sync.month_budget", cause="sync_month_budget_mb caps what a metered link receives "
                            "per calendar month (counted at the package's full size, an upper bound of a delta).",
                            fix="Wait for next month, raise sync_month_budget_mb, or narrow sync_packages/sync_tags.")

    # --- policy: yielding the uplink to people (docs/uplink.md) ----------------------------
    def _make_guard(self) -> UplinkGuard | None:
        """A guard for this run when the source is an rsync mirror, yielding is on and an uplink is known."""
        source = urllib.parse.urlsplit(self.source)
        if source.scheme != "rsync" or not source.hostname or not self.settings.sync_yield_kbps:
            return None
        interface = self._uplink_interface()
        if not interface:
            return None
        policy = YieldPolicy(self.settings.sync_yield_kbps * 1024, self.settings.sync_yield_pause_s,
                             self.settings.sync_yield_resume_s)
        return UplinkGuard(YieldWatch(policy), interface, (source.hostname, source.port or 873))

    def _uplink_interface(self) -> str:
        return self.settings.uplink_interface or next(iter(system.uplink_interfaces(self.settings.ap_interface) or []), "")

    # --- policy: a rate cap as a share of the measured uplink (docs/uplink.md) ----------------
    def _cap_kbps(self) -> int:
        """rsync's --bwlimit now: the lower of sync_rate_cap_kbps and sync_rate_cap_percent of the uplink's speed."""
        percent = self.settings.sync_rate_cap_percent
        share = uplink_rate.share_kbps(percent, self.uplink_bps) if percent and self.uplink_bps else 0
        return uplink_rate.combined_cap_kbps(self.settings.sync_rate_cap_kbps, share)

    def _probe(self, package_id: str) -> uplink_rate.Probe | None:
        """A probe for this download when a share cap is set, the uplink's speed is not known yet, and it can be
        measured (an rsync mirror, an uplink interface). Says once per run when it cannot."""
        if not self.settings.sync_rate_cap_percent or self.uplink_bps is not None:
            return None
        interface = self._uplink_interface() if urllib.parse.urlsplit(self.settings.sync_source).scheme == "rsync" else ""
        probe = uplink_rate.Probe(interface) if interface else None
        if probe is not None and probe.available():
            return probe
        if not self._told_unmeasured:
            self._told_unmeasured = True
            self.on_event(Event("cap", package_id, text="the uplink's speed cannot be measured (not an rsync:// "
                                "mirror, or no uplink interface): sync_rate_cap_percent is not applied"))
        return None

    # --- checks before anything moves ------------------------------------------------------
    def _require_setup(self) -> Path:
        if LOCAL_CHANNEL in self.subscription.channels:
            raise SyncError(f"sync_channels names the channel {LOCAL_CHANNEL!r}, the name of the kit's own unsigned books.",
                            code="sync.not_configured", fix=f"Remove {LOCAL_CHANNEL!r} from sync_channels; ask the "
                            "county to publish that channel under another name.")
        if not self.source or not self.subscription.channels:
            missing = "sync_source" if not self.source else "sync_channels"
            raise SyncError(f"Nothing to sync: {missing} is not set.", code="sync.not_configured",
                            fix="Set sync_source (rsync://mirror:873/module or a folder) and sync_channels in the "
                                "kit's settings (docs/settings.md), then run `tpkit sync --plan`.")
        program = transfer.wrapper()
        if program is None:
            raise SyncError("The transfer program tpkit-rsync is not installed.", code="sync.no_transport",
                            fix="Install content-sync/tpkit-rsync on PATH (e.g. /usr/local/bin/tpkit-rsync) and "
                                "rsync (sudo apt-get install rsync).")
        self.paths.ensure()
        if self.paths.sync_dir.stat().st_dev != self.paths.content_dir.stat().st_dev:
            raise SyncError(f"The content folder {self.paths.content_dir} is on another disk than {self.paths.sync_dir}.",
                            code="sync.cross_device", cause="Books are switched with a rename, which cannot cross disks.",
                            fix="Put data_dir and content_dir on the same disk (e.g. both on the USB disk).")
        return program

    def free_bytes(self) -> int:
        use = system.filesystem_use(self.paths.content_dir)
        return use["free_bytes"] if use else 0

    def disk_check(self, plan: Plan) -> DiskCheck:
        """Free space on the content disk against the plan's downloads and `disk_reserve_mb`."""
        return DiskCheck(self.free_bytes(), plan.disk_bytes, self.settings.disk_reserve_mb * MB)

    # --- fetching and trusting indexes ------------------------------------------------------
    def _source(self, name: str, relative: str) -> str:
        root = self.channel_sources.get(name, self.source)
        return f"{root.rstrip('/')}/{name}/{relative}"

    def _fetch(self, program: Path, source: str, dest: Path, *, basis: Path | None = None,
               package_id: str = "", total_bytes: int = 0) -> None:
        reserve = self.settings.disk_reserve_mb * MB

        def progress(p: transfer.Progress) -> None:
            if package_id:
                self._require_window(closed_during=package_id)
            if package_id and self.free_bytes() < reserve:  # index files are a few KB: not checked
                raise SyncError(f"The content disk fell below the {self.settings.disk_reserve_mb} MB reserve while "
                                f"downloading {package_id or source}; the download was stopped.",
                                code="sync.disk_reserve", cause="Something else is filling the disk during the sync.",
                                fix="Free space on the content disk (df -h), then run `tpkit sync` again: it resumes.")
            self.on_event(Event("download", package_id, p.done_bytes, total_bytes, p.rate_bps))

        def tick() -> None:  # twice a second, between progress lines too (rsync prints one a second)
            measured = probe.sample() if probe is not None else None
            if measured is not None:
                self.uplink_bps = measured
                self.runs.record_uplink(self.run_id, measured)
                self.bytes_received += self._attempt_bytes()
                raise _UplinkMeasured
            if package_id and self.guard is not None and not self.guard.running_ok():
                self.on_event(Event("yield", package_id,
                                    text=f"{self.guard.watch.other_bytes_per_s / 1024:.0f} KiB/s of other traffic"))
                self.bytes_received += self._attempt_bytes()
                raise _PeopleNeedTheUplink

        from_lan = self.road == "usb" or any(source.startswith(peer) for peer in self.channel_sources.values())
        while True:
            # While the probe measures the uplink the share cap is not applied (the absolute cap is); a stick or a
            # peer kit is not the uplink, so it is not measured there.
            probe = self._probe(package_id) if package_id and not from_lan else None
            try:
                done = transfer.fetch(program, source, dest, partial_dir=dest.parent / PARTIAL_DIR,
                                      timeout_s=self.settings.sync_timeout_s,
                                      bwlimit_kbps=self.settings.sync_rate_cap_kbps if probe else self._cap_kbps(),
                                      basis=basis, on_progress=progress,
                                      on_tick=tick, tick_s=self.guard.sample_s if self.guard else 0.5)
                break
            except _PeopleNeedTheUplink:  # rsync is gone, what it wrote kept; wait, then resume from there
                self.on_event(Event("paused", package_id))
                assert self.guard is not None  # only a guard raises _PeopleNeedTheUplink
                self.guard.wait_for_quiet(lambda: self._require_window(closed_during=package_id))
                self.on_event(Event("resume", package_id))
            except _UplinkMeasured:  # rsync is gone, what it wrote kept; go on under the cap
                assert self.uplink_bps is not None  # tick() measured it before raising
                self.on_event(Event("cap", package_id, text=f"uplink measured at {self.uplink_bps / 1024:.0f} KiB/s, "
                                    f"{self.settings.sync_rate_cap_percent} % of it: {self._cap_kbps()} KiB/s"))
        if from_lan:
            self.peer_bytes += done.received_bytes  # a stick or the LAN: not the uplink's (metered) bytes
        else:
            self.bytes_received += done.received_bytes
        if done.returncode != 0:
            raise SyncError(f"Downloading {source} failed: {done.message}", code="sync.transfer_failed",
                            cause=f"rsync exit {done.returncode} (content-sync/README.md lists them).",
                            fix="Run `tpkit sync` again once the mirror and uplink are back: finished books are "
                                "kept and a cut download resumes.")

    def _attempt_bytes(self) -> int:
        """Wire bytes of the transfer about to be killed (its connection to the mirror): rsync reports its totals
        only when it finishes, and the run's bytes (and the monthly budget) must count a cut attempt too."""
        source = urllib.parse.urlsplit(self.settings.sync_source)
        seen = traffic.connection_bytes(source.hostname, source.port or 873) if source.hostname else None
        return sum((seen or {}).values())

    def _accepted_copy(self, name: str) -> Path:
        return self.paths.sync_accepted_dir / name / INDEX_NAME

    def fetch_index(self, program: Path, name: str) -> ChannelIndex:
        """The channel's verified index: from the first peer that serves a good one, else from the source."""
        for peer in (self.peers or {}).get(name, []):
            self.channel_sources[name] = peer
            try:
                return self._fetch_index(program, name)
            except TpkitError as exc:
                self._refuse_peer(name, f"its index: {exc.code}")
        self.channel_sources.pop(name, None)
        return self._fetch_index(program, name)

    def _refuse_peer(self, name: str, why: str) -> None:
        peer = self.channel_sources.pop(name)
        note = f"peer {peer} refused for {name} ({why}); the next peer or {self.source} is used instead"
        self.peer_notes.append(note)
        self.on_event(Event("peer", text=note))

    def _fetch_index(self, program: Path, name: str) -> ChannelIndex:
        """Fetch and verify one channel's index; record its sequence and keep a copy of what was accepted."""
        stage = self.paths.sync_staging_dir / name
        self.on_event(Event("index", text=name))
        for relative in (INDEX_NAME, SIGNATURE_NAME):
            (stage / relative).unlink(missing_ok=True)  # never verify a stale copy from an earlier run
            self._fetch(program, self._source(name, relative), stage / relative)
        keys = channel.trusted_keys(self.settings.trusted_channel_keys)
        now = self.clock()
        index = channel.verify_index(stage, keys, None, now=now)
        if index.channel != name:
            raise SyncError(f"The index served as channel {name!r} names itself {index.channel!r}.",
                            code="sync.wrong_channel", cause="The mirror's folders are mixed up, or it is hostile.",
                            fix="Tell the county; check the channel names in sync_channels.")
        raw, accepted = (stage / INDEX_NAME).read_bytes(), self._accepted_copy(name)
        last = self.sequences.last(name)
        same = last is not None and accepted.is_file() and accepted.read_bytes() == raw
        channel.verify_index(stage, keys, last - 1 if same and last is not None else last, now=now)  # refuses a replayed index
        if not same:
            accepted.parent.mkdir(parents=True, exist_ok=True)
            # The signature is kept too (`tpkit export`, the peer mirror); written first, so a cut between the two
            # leaves an old index that the next run replaces, never a kept pair that claims to match.
            write_atomically(accepted.with_name(SIGNATURE_NAME), (stage / SIGNATURE_NAME).read_bytes())
            write_atomically(accepted, raw)  # before the sequence, so a cut here never strands the channel
            self.sequences.accept(name, index.sequence)
        elif not accepted.with_name(SIGNATURE_NAME).is_file():  # accepted before signatures were kept
            write_atomically(accepted.with_name(SIGNATURE_NAME), (stage / SIGNATURE_NAME).read_bytes())
        return index

    # --- the run ------------------------------------------------------------------------------
    def _look_for_peers(self) -> None:
        """Peer kits on the LAN whose mirror has a subscribed channel's newest sequence (not for a stick)."""
        if self.peers is None:
            from appliance.services.sync import peers  # zeroconf adds ~1 s to start-up: imported only to look for peers

            channels = self.subscription.channels
            # Peers stand in for an uplink mirror only: a stick or a folder source is local already.
            self.peers = {} if self.road == "usb" or not self.source.startswith("rsync://") else peers.find(
                self.settings, channels, {name: self.sequences.last(name) for name in channels})
            for name, urls in self.peers.items():
                self.on_event(Event("peer", text=f"{name}: peer kit(s) first: {', '.join(urls)}"))

    def _refresh_mirror_tree(self) -> None:
        """After a good run the kit's own peer mirror serves what it now holds; a failure there never fails the run."""
        try:
            export.refresh_mirror(self.paths, self.settings, self.settings_channels(), self.installed.all(),
                                  self.clock())
        except (TpkitError, OSError) as exc:
            log.warning("sync: the peer mirror tree %s was not refreshed (%s); other kits keep getting the previous "
                        "one until the next sync", self.paths.mirror_dir, exc)

    def settings_channels(self) -> tuple[str, ...]:
        """The channels this kit holds: sync_channels, or (when it subscribes to none: a stick-fed kit) every
        channel it has accepted an index of."""
        named = Subscription.from_settings(self.settings.sync_channels, "", "").channels
        accepted = self.paths.sync_accepted_dir
        if named or not accepted.is_dir():
            return named
        return tuple(sorted(p.name for p in accepted.iterdir() if p.is_dir()))

    def plan(self, program: Path) -> tuple[Plan, DiskCheck, list[ChannelIndex]]:
        """Fetch and verify every subscribed index; the plan against what is installed and the disk check."""
        self._look_for_peers()
        indexes = [self.fetch_index(program, name) for name in self.subscription.channels]
        plan = make_plan(indexes, self.installed.all(), self.subscription, remove_unfetched=self.road != "usb",
                         chain_max=self.settings.sync_patch_chain_max, full_ids=self.full_ids)
        if self.road == "usb":
            plan = self._present_only(plan)
        return plan, self.disk_check(plan), indexes

    def _present_only(self, plan: Plan) -> Plan:
        """A stick carries only the books its kit had: a listed book missing from it is skipped, not an error."""
        steps, notes = [], list(plan.notes)
        for step in plan.steps:
            if step.package is not None and not (Path(self.source) / step.channel / step.package["file"]).is_file():
                notes.append(f"{step.package_id} {step.version} ({step.channel}): not on the stick")
            else:
                steps.append(step)
        return dataclasses.replace(plan, steps=tuple(steps), notes=tuple(notes))

    def _download(self, program: Path, step: Step) -> Path:
        """Fetch and verify one package; a peer that serves it badly is dropped and the source asked instead."""
        if step.channel not in self.channel_sources:
            return self._download_from(program, step)
        try:
            return self._download_from(program, step)
        except TpkitError as exc:
            if exc.code not in PEER_FAULTS:
                raise  # the kit's own limits (window, disk, budget) stop the run wherever the book comes from
            staged = channel.package_path(self.paths.sync_staging_dir / step.channel, step.offered)
            staged.unlink(missing_ok=True)
            self._refuse_peer(step.channel, f"{step.package_id}: {exc.code}")
            return self._download_from(program, step)

    def _download_from(self, program: Path, step: Step) -> Path:
        package = step.offered
        stage_dir = self.paths.sync_staging_dir / step.channel
        staged = channel.package_path(stage_dir, package)
        current = activation.book_path(self.paths, step.package_id)
        self._fetch(program, self._source(step.channel, package["file"]), staged,
                    basis=current if current.is_file() else None, package_id=step.package_id,
                    total_bytes=step.size_bytes)
        self.on_event(Event("verify", step.package_id, text=package["version"]))
        check_package_file(stage_dir, package)
        try:
            zimfile.check_whole(staged)
        except DamagedBookError as exc:
            staged.unlink(missing_ok=True)
            raise SyncError(f"Package {step.package_id!r} {package['version']} matches the signed index but is not a "
                            f"usable ZIM book: {exc.message}", code="sync.package_damaged",
                            cause="The county published a broken file (signed as it is).",
                            fix="Tell the county to publish the book again; the current version stays in the "
                                "library.") from exc
        return staged

    def _update_by_patch(self, program: Path, step: Step) -> tuple[Path, str]:
        """Fetch the step's patches, rebuild the book from the installed one into staging and check it: the staged
        book and its entry digest. A patch or rebuild that fails is remembered: the next run fetches the full book."""
        stage_dir = self.paths.sync_staging_dir / step.channel
        current, target = activation.book_path(self.paths, step.package_id), step.offered["result_digest"]
        staged_patches = [channel.package_path(stage_dir, patch) for patch in step.patches]
        out = stage_dir / f"{step.package_id}{REBUILT_SUFFIX}"
        try:
            for patch, staged in zip(step.patches, staged_patches):
                self._fetch(program, self._source(step.channel, patch["file"]), staged, package_id=step.package_id,
                            total_bytes=patch["size_bytes"])
                self.on_event(Event("verify", step.package_id, text=f"patch to {patch['version']}"))
                check_package_file(stage_dir, patch)
            self.on_event(Event("rebuild", step.package_id, text=f"from {len(step.patches)} patch(es)"))
            rebuilt = channel.rebuild(current, staged_patches, out)
            zimfile.check_whole(out)
        except (ChannelError, StorageError, DamagedBookError) as exc:
            activation.mark_patch_failed(self.installed, step.package_id, target)
            for path in (*staged_patches, out):
                path.unlink(missing_ok=True)
            raise SyncError(f"Updating {step.package_id} to {step.version} by patch failed: {exc.message}",
                            code="sync.patch_failed", cause=exc.cause or "A patch was damaged or changed, or the "
                            "disk filled during the rebuild.",
                            fix=f"Nothing to do: the library still serves {step.installed_version}, and the next "
                                f"`tpkit sync` fetches the full book ({step.offered['size_bytes'] / MB:.1f} MB) instead. "
                                "If the disk is full, free space first.") from exc
        return out, rebuilt.digest

    def _collect_staging(self, plan: Plan) -> None:
        """Delete staging files no planned package needs (cut downloads of planned ones stay, to resume)."""
        keep = set()
        for step in plan.steps:
            packages = step.patches if step.by_patch else (step.package,) if step.package is not None else ()
            for package in packages:
                staged = channel.package_path(self.paths.sync_staging_dir / step.channel, package)
                keep |= {staged, staged.parent / PARTIAL_DIR / staged.name}
                keep |= set(staged.parent.glob(f".{staged.name}.??????"))  # rsync's temporary file after a kill -9
        for name in self.subscription.channels:
            keep |= {self.paths.sync_staging_dir / name / INDEX_NAME, self.paths.sync_staging_dir / name / SIGNATURE_NAME}
        for path in sorted(self.paths.sync_staging_dir.rglob("*"), reverse=True):
            if path.is_dir() and not path.is_symlink():
                if not any(path.iterdir()):
                    path.rmdir()
            elif path not in keep:
                path.unlink()

    def _apply(self, program: Path, plan: Plan, run_id: int) -> None:
        for step in plan.steps:
            if step.action == "remove":
                self.on_event(Event("remove", step.package_id, text=step.version))
                activation.remove(self.paths, self.installed, step.package_id)
                continue
            self._require_budget(step)
            package: Mapping[str, Any]
            digest: str | None
            if step.by_patch:
                staged, digest = self._update_by_patch(program, step)
                size, sha256 = file_digest(staged)  # the rebuilt file's own bytes, not the publisher's
                package = {**step.offered, "size_bytes": size, "sha256": sha256}
            else:
                staged, package, digest = self._download(program, step), step.offered, step.offered.get("result_digest")
            self.on_event(Event("activate", step.package_id, text=step.version))
            activation.activate(self.paths, self.installed, package, step.channel, staged, run_id, digest)

    def run(self) -> tuple[Plan, RunResult]:
        """One whole sync run under the lock, recorded in the run history; a TpkitError says why it stopped."""
        program = self._require_setup()
        with self.locked():
            started, self.bytes_received, self.guard = time.monotonic(), 0, self._make_guard()
            self.peer_bytes, self.peer_notes = 0, []
            last_ok = self.runs.last_ok_id()
            run_id = self.runs.start(_utc(self.clock))
            self.run_id, self._told_unmeasured = run_id, False
            self.uplink_bps = (uplink_rate.reusable(self.runs.last_uplink(), self.clock())
                               if self.settings.sync_rate_cap_percent else None)
            plan = None
            try:
                self._require_window()
                activation.recover(self.paths, self.installed)
                activation.collect_previous(self.paths, self.installed, last_ok)
                plan, check, _ = self.plan(program)
                self.on_event(Event("plan", total_bytes=plan.download_bytes))
                refuse_if_short(check, plan, self.installed.all())
                self._collect_staging(plan)
                self._apply(program, plan, run_id)
                shutil.rmtree(self.paths.sync_staging_dir, ignore_errors=True)
                self._refresh_mirror_tree()
                result = self._result("ok", "done", _routes(plan), started, plan)
            except TpkitError as exc:
                self.runs.finish(run_id, _utc(self.clock), self._result("failed", exc.code, exc.message, started, plan))
                raise
            except BaseException as exc:  # Ctrl-C, SIGTERM (the CLI exits): recorded, re-raised; a SIGKILL: next run
                self.runs.finish(run_id, _utc(self.clock),
                                 self._result("interrupted", "sync.interrupted", repr(exc), started, plan))
                raise
            self.runs.finish(run_id, _utc(self.clock), result)
            return plan, result

    def _result(self, outcome: str, reason: str, detail: str, started: float, plan: Plan | None) -> RunResult:
        counts = {a: plan.count(a) for a in ("add", "update", "remove")} if plan and outcome == "ok" else {}
        road = {"usb": f"From a USB stick: {self.peer_bytes / MB:.1f} MB copied.",
                "mirror": f"{self.peer_bytes / MB:.1f} MB from peer kits on the LAN." if self.peer_bytes else ""}[self.road]
        detail = " ".join(part for part in (detail, road, *self.peer_notes) if part)
        if self.guard is not None and self.guard.pauses:
            detail = (detail + " " if detail else "") + (f"Stepped aside for people {self.guard.pauses} time(s), "
                                                         f"{self.guard.yielded_s:.0f} s in all.")
        return RunResult(outcome, reason, detail, self.bytes_received, time.monotonic() - started,
                         counts.get("add", 0), counts.get("update", 0), counts.get("remove", 0))

    def preview(self) -> tuple[Plan, DiskCheck]:
        """`tpkit sync --plan`: fetch and verify the indexes and say what a run would do; nothing is downloaded."""
        program = self._require_setup()
        with self.locked():
            plan, check, _ = self.plan(program)
            return plan, check

    def rollback(self, package_id: str) -> Installed:
        """`tpkit content rollback BOOK` under the sync lock."""
        self.paths.ensure()
        with self.locked():
            return activation.rollback(self.paths, self.installed, package_id)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the sync lock for the block; a SyncError (sync.busy) when another sync holds it."""
        self.paths.sync_dir.mkdir(parents=True, exist_ok=True)
        fd = claim_once(self.paths.sync_lock)
        if fd is None:
            raise SyncError("Another sync is running on this kit.", code="sync.busy",
                            fix="Wait for it to finish (`tpkit sync --history`, or journalctl -u tpkit-sync), "
                                "then run again.")
        try:
            yield
        finally:
            os.close(fd)
