"""`tpkit sync`: fetch the subscribed channels' signed indexes, plan, download, verify, switch atomically.

Runs as its own process (a systemd timer, the panel's button, or by hand); one at a time (a lock in the sync
folder). docs/sync.md. Must not import web.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from appliance.config import Settings
from appliance.content import zimfile
from appliance.content.channel_index import INDEX_NAME, SIGNATURE_NAME, ChannelIndex, check_package_file
from appliance.edges import system, transfer
from appliance.errors import ConfigError, DamagedBookError, SyncError, TpkitError
from appliance.files import write_atomically
from appliance.paths import Paths
from appliance.services import activation, channel, hub_config, sync_policy
from appliance.services.uplink_yield import UplinkGuard, YieldPolicy, YieldWatch
from appliance.services.kit import claim_once
from appliance.services.sync_plan import MB, DiskCheck, Plan, Step, Subscription, make_plan, refuse_if_short
from appliance.storage.channel_sequences import ChannelSequences
from appliance.storage.database import Database
from appliance.storage.installed_packages import Installed, InstalledPackages
from appliance.storage.sync_runs import RunResult, SyncRuns

PARTIAL_DIR = ".partial"


@dataclasses.dataclass(frozen=True)
class Event:
    """What the engine is doing, for a progress display: `kind` is index, plan, download, verify, activate, remove."""

    kind: str
    package_id: str = ""
    done_bytes: int = 0
    total_bytes: int = 0
    rate_bps: int = 0
    text: str = ""


def recent_runs(db: Database, limit: int = 5) -> list[dict]:
    """The last `limit` sync runs, newest first (for the admin page; `tpkit sync --history` shows more)."""
    return SyncRuns(db).recent(limit)


def _utc(clock: Callable[[], dt.datetime]) -> str:
    return clock().astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _PeopleNeedTheUplink(Exception):
    """Raised from a transfer's progress callback: the transfer stops (its partial file kept) and waits."""


@dataclasses.dataclass
class Engine:
    """One kit's sync engine: settings, database tables, and the clocks (injectable for tests)."""

    settings: Settings
    db: Database
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)
    on_event: Callable[[Event], None] = lambda event: None
    bytes_received: int = 0
    guard: UplinkGuard | None = None  # made per run from the settings (None: not an rsync mirror, or yielding off)

    def __post_init__(self) -> None:
        # the county's configuration, once the kit applied it, wins over kit.toml for each field it sets
        self.settings = hub_config.in_force(self.settings, self.db)
        self.paths = Paths.from_settings(self.settings)
        self.installed = InstalledPackages(self.db)
        self.runs = SyncRuns(self.db)
        self.sequences = ChannelSequences(self.db)
        self.subscription = Subscription.from_settings(self.settings.sync_channels, self.settings.sync_packages,
                                                       self.settings.sync_tags)
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
        if sync_policy.in_window(self.windows, now):
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
        if not budget:
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
        source = urllib.parse.urlsplit(self.settings.sync_source)
        if source.scheme != "rsync" or not source.hostname or not self.settings.sync_yield_kbps:
            return None
        interface = self.settings.uplink_interface or next(
            iter(system.uplink_interfaces(self.settings.ap_interface) or []), "")
        if not interface:
            return None
        policy = YieldPolicy(self.settings.sync_yield_kbps * 1024, self.settings.sync_yield_pause_s,
                             self.settings.sync_yield_resume_s)
        return UplinkGuard(YieldWatch(policy), interface, (source.hostname, source.port or 873))

    # --- checks before anything moves ------------------------------------------------------
    def _require_setup(self) -> Path:
        if not self.settings.sync_source or not self.subscription.channels:
            missing = "sync_source" if not self.settings.sync_source else "sync_channels"
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

    def _free_bytes(self) -> int:
        use = system.filesystem_use(self.paths.content_dir)
        return use["free_bytes"] if use else 0

    def disk_check(self, plan: Plan) -> DiskCheck:
        """Free space on the content disk against the plan's downloads and `disk_reserve_mb`."""
        return DiskCheck(self._free_bytes(), plan.download_bytes, self.settings.disk_reserve_mb * MB)

    # --- fetching and trusting indexes ------------------------------------------------------
    def _source(self, name: str, relative: str) -> str:
        return f"{self.settings.sync_source.rstrip('/')}/{name}/{relative}"

    def _fetch(self, program: Path, source: str, dest: Path, *, basis: Path | None = None,
               package_id: str = "", total_bytes: int = 0) -> None:
        reserve = self.settings.disk_reserve_mb * MB

        def progress(p: transfer.Progress) -> None:
            if package_id:
                self._require_window(closed_during=package_id)
            if package_id and self._free_bytes() < reserve:  # index files are a few KB: not checked
                raise SyncError(f"The content disk fell below the {self.settings.disk_reserve_mb} MB reserve while "
                                f"downloading {package_id or source}; the download was stopped.",
                                code="sync.disk_reserve", cause="Something else is filling the disk during the sync.",
                                fix="Free space on the content disk (df -h), then run `tpkit sync` again: it resumes.")
            self.on_event(Event("download", package_id, p.done_bytes, total_bytes, p.rate_bps))
            if package_id and self.guard is not None and not self.guard.running_ok():
                self.on_event(Event("yield", package_id,
                                    text=f"{self.guard.watch.other_bytes_per_s / 1024:.0f} KiB/s of other traffic"))
                raise _PeopleNeedTheUplink

        while True:
            try:
                done = transfer.fetch(program, source, dest, partial_dir=dest.parent / PARTIAL_DIR,
                                      timeout_s=self.settings.sync_timeout_s,
                                      bwlimit_kbps=self.settings.sync_rate_cap_kbps, basis=basis, on_progress=progress)
                break
            except _PeopleNeedTheUplink:  # rsync is stopped, its partial file saved; wait, then resume it
                self.on_event(Event("paused", package_id))
                self.guard.wait_for_quiet(lambda: self._require_window(closed_during=package_id))
                self.on_event(Event("resume", package_id))
        self.bytes_received += done.received_bytes
        if done.returncode != 0:
            raise SyncError(f"Downloading {source} failed: {done.message}", code="sync.transfer_failed",
                            cause=f"rsync exit {done.returncode} (content-sync/README.md lists them).",
                            fix="Run `tpkit sync` again once the mirror and uplink are back: finished books are "
                                "kept and a cut download resumes.")

    def _accepted_copy(self, name: str) -> Path:
        return self.paths.sync_accepted_dir / name / INDEX_NAME

    def fetch_index(self, program: Path, name: str) -> ChannelIndex:
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
        channel.verify_index(stage, keys, last - 1 if same else last, now=now)  # refuses a replayed index
        if not same:
            accepted.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(accepted, raw)  # before the sequence, so a cut here never strands the channel
            self.sequences.accept(name, index.sequence)
        return index

    # --- the run ------------------------------------------------------------------------------
    def plan(self, program: Path) -> tuple[Plan, DiskCheck, list[ChannelIndex]]:
        """Fetch and verify every subscribed index; the plan against what is installed and the disk check."""
        indexes = [self.fetch_index(program, name) for name in self.subscription.channels]
        plan = make_plan(indexes, self.installed.all(), self.subscription)
        return plan, self.disk_check(plan), indexes

    def _download(self, program: Path, step: Step) -> Path:
        package = step.package
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

    def _collect_staging(self, plan: Plan) -> None:
        """Delete staging files no planned package needs (cut downloads of planned ones stay, to resume)."""
        keep = set()
        for step in plan.steps:
            if step.package is not None:
                staged = channel.package_path(self.paths.sync_staging_dir / step.channel, step.package)
                keep |= {staged, staged.parent / PARTIAL_DIR / staged.name}
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
            staged = self._download(program, step)
            self.on_event(Event("activate", step.package_id, text=step.version))
            activation.activate(self.paths, self.installed, step.package, step.channel, staged, run_id)

    def run(self) -> tuple[Plan, RunResult]:
        """One whole sync run under the lock, recorded in the run history; a TpkitError says why it stopped."""
        program = self._require_setup()
        with self.locked():
            started, self.bytes_received, self.guard = time.monotonic(), 0, self._make_guard()
            last_ok = self.runs.last_ok_id()
            run_id = self.runs.start(_utc(self.clock))
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
                result = self._result("ok", "done", "", started, plan)
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
