"""`tpkit sync`: fetch the subscribed channels' signed indexes, plan, download, verify, switch atomically.

Runs as its own process (a systemd timer, the panel's button, or by hand); one at a time (a lock in the sync
folder). Books come from a `Source` (the county mirror, a stick, peer kits standing in: services/sync/sources/);
the engine asks only that interface. docs/sync.md. Must not import web.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from appliance.config import Settings
from appliance.content.channel_index import INDEX_NAME, SIGNATURE_NAME, ChannelIndex
from appliance.edges import system, transfer
from appliance.errors import ChannelError, DiskFullError, SyncError, TpkitError
from appliance.files import file_digest
from appliance.services.kit import claim_once, kit_paths
from appliance.services.reporting import desired_config
from appliance.services.sync import activation, channel, indexes, stick_export as export, uplink_rate
from appliance.services.sync.events import Event
from appliance.services.sync.limits import Limits
from appliance.services.sync.plan import (
    LOCAL_CHANNEL,
    MB,
    Carried,
    DiskCheck,
    Plan,
    Step,
    Subscription,
    keep_layering,
    make_plan,
    refuse_if_short,
)
from appliance.services.sync.route import Route
from appliance.services.sync.sources import Source
from appliance.services.sync.sources.mirror import MirrorSource
from appliance.services.sync.sources.peer import stand_ins
from appliance.services.sync.staging import Staged, StagedLayers, Staging
from appliance.services.sync.transfers import Transfers
from appliance.storage.channel_sequences import ChannelSequences
from appliance.storage.database import Database
from appliance.storage.installed_packages import Installed, InstalledPackages
from appliance.storage.sync_runs import RunResult, SyncRuns

__all__ = ["Engine", "Event", "local_books", "recent_runs"]

log = logging.getLogger(__name__)


def _routes(plan: Plan) -> str:
    """How each update came, for the run history: by patch (and bytes), or whole and why although patches exist."""
    parts = [
        f"{s.package_id} by {len(s.patches)} patch(es), {s.size_bytes:,} of {s.offered['size_bytes']:,} bytes"
        if s.by_patch
        else f"{s.package_id} as the full package: {s.why_full}"
        for s in plan.steps
        if s.by_patch or s.why_full
    ]
    return "; ".join(parts) + ("." if parts else "")


# A book's own faults: the run records them and goes on to the next book (a channel's files are checked one by one).
BOOK_FAULTS = ("sync.transfer_failed", "sync.package_damaged", "sync.patch_failed")


def _book_fault(exc: TpkitError) -> bool:
    return isinstance(exc, ChannelError) or exc.code in BOOK_FAULTS


def _not_updated(failed: list[tuple[Step, TpkitError]]) -> str:
    """The books a run could not update, each with its error code and message, for the run history."""
    return " ".join(f"{s.package_id} {s.version} not updated: {exc.code}: {exc.message}" for s, exc in failed)


def _not_all_updated(failed: list[tuple[Step, TpkitError]], done: Plan) -> TpkitError:
    """What a run with failed books raises: the one book's own error when nothing else was to be done, else one
    naming every book (its code, cause and fix the first failure's)."""
    first = failed[0][1]
    if len(failed) == 1 and not done.steps:
        return first
    error = SyncError(
        f"{len(failed)} book(s) were not updated; {len(done.steps)} other step(s) were done. {_not_updated(failed)}",
        code=first.code,
        cause=first.cause,
        fix=f"{first.fix} The books that were switched stay; the others are tried again on the next run.",
    )
    error.__cause__ = first
    return error


def recent_runs(db: Database, limit: int = 5) -> list[dict]:
    """The last `limit` sync runs, newest first (for the admin page; `tpkit sync --history` shows more)."""
    return SyncRuns(db).recent(limit)


def local_books(db: Database) -> set[str]:
    """File names (in the content folder) of the unsigned books teachers imported: the local channel."""
    return {row.file for row in InstalledPackages(db).all().values() if row.channel == LOCAL_CHANNEL}


def _utc(clock: Callable[[], dt.datetime]) -> str:
    return clock().astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass
class Engine:
    """One kit's sync engine: settings, database tables, the source, and the clocks (injectable for tests)."""

    settings: Settings
    db: Database
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)
    on_event: Callable[[Event], None] = lambda event: None
    # Where books come from (docs/sync.md, "Sources"): by default the county mirror at sync_source; a stick's tree
    # for `tpkit import` (only the subscribed channels on the stick).
    source: Source | None = None
    channels: tuple[str, ...] | None = None
    # Peer kits tried before the source for each channel (channel -> rsync URLs of kits advertising a newer
    # sequence); None: look for them with mDNS (sync_peer_browse_s) at the start, when the source allows stand-ins.
    peers: dict[str, list[str]] | None = None
    full_ids: frozenset[str] = frozenset()  # `tpkit sync --full BOOK`: fetch these whole even when patches are offered

    def __post_init__(self) -> None:
        # the county's configuration, once the kit applied it, wins over kit.toml for each field it sets
        self.settings = desired_config.in_force(self.settings, self.db)
        self.paths = kit_paths(self.settings)
        self.installed = InstalledPackages(self.db)
        self.runs = SyncRuns(self.db)
        self.sequences = ChannelSequences(self.db)
        self.subscription = Subscription.from_settings(
            self.settings.sync_channels, self.settings.sync_packages, self.settings.sync_tags
        )
        if self.channels is not None:
            self.subscription = dataclasses.replace(self.subscription, channels=self.channels)
        self.source = self.source or MirrorSource(self.settings.sync_source)
        self.limits = Limits(self.settings, self.clock, self.runs, windows_apply=self.source.uplink)
        self.staging = Staging(self.paths, self.installed, self.on_event, self.free_bytes)
        self.route = Route(self.source, self.on_event)
        self.transfers: Transfers | None = None
        self.run_id = 0
        self.lock_fd: int | None = None  # the run lock's descriptor while `locked` holds it
        self.planned: Plan | None = None  # the plan the run is carrying out (for a full disk's message)
        self.carried: dict[str, Carried] = {}  # what the source of each channel carries (plan time)

    @property
    def uplink_bps(self) -> float | None:
        """The uplink's speed (bytes per second) the last run measured or reused; None when not known."""
        return self.transfers.uplink_bps if self.transfers else None

    # --- checks before anything moves ------------------------------------------------------
    def _require_setup(self) -> Path:
        if LOCAL_CHANNEL in self.subscription.channels:
            raise SyncError(
                f"sync_channels names the channel {LOCAL_CHANNEL!r}, the name of the kit's own unsigned books.",
                code="sync.not_configured",
                fix=f"Remove {LOCAL_CHANNEL!r} from sync_channels; ask the "
                "county to publish that channel under another name.",
            )
        if not self._source.where or not self.subscription.channels:
            missing = "sync_source" if not self._source.where else "sync_channels"
            raise SyncError(
                f"Nothing to sync: {missing} is not set.",
                code="sync.not_configured",
                fix="Set sync_source (rsync://mirror:873/module or a folder) and sync_channels in the "
                "kit's settings (docs/settings.md), then run `tpkit sync --plan`.",
            )
        program = transfer.wrapper()
        if program is None:
            raise SyncError(
                "The transfer program tpkit-rsync is not installed.",
                code="sync.no_transport",
                fix="Install content-sync/tpkit-rsync on PATH (e.g. /usr/local/bin/tpkit-rsync) and "
                "rsync (sudo apt-get install rsync).",
            )
        self.paths.ensure()
        if self.paths.sync_dir.stat().st_dev != self.paths.content_dir.stat().st_dev:
            raise SyncError(
                f"The content folder {self.paths.content_dir} is on another disk than {self.paths.sync_dir}.",
                code="sync.cross_device",
                cause="Books are switched with a rename, which cannot cross disks.",
                fix="Put data_dir and content_dir on the same disk (e.g. both on the USB disk).",
            )
        return program

    @property
    def _source(self) -> Source:
        assert self.source is not None  # set in __post_init__
        return self.source

    def free_bytes(self) -> int:
        use = system.filesystem_use(self.paths.content_dir)
        return use["free_bytes"] if use else 0

    def disk_check(self, plan: Plan) -> DiskCheck:
        """Free space on the content disk against the plan's downloads and `disk_reserve_mb`."""
        return DiskCheck(self.free_bytes(), plan.disk_bytes, self.settings.disk_reserve_mb * MB)

    # --- a run's sources and transfers -------------------------------------------------------
    def _begin(self, program: Path, *, guard: bool, uplink_bps: float | None) -> Transfers:
        """A new route and new transfers (a run's, or `--plan`'s: no guard, no probe for index files)."""
        self.route = Route(self._source, self.on_event)
        self.transfers = Transfers(
            program,
            self.settings,
            self.limits,
            free_bytes=self.free_bytes,
            on_event=self.on_event,
            record_uplink=self._record_uplink,
            guard=self.limits.guard(self._source.where) if guard else None,
            uplink_bps=uplink_bps,
            run_lock=self.lock_fd,
        )
        return self.transfers

    def _record_uplink(self, bytes_per_s: float) -> None:
        self.runs.record_uplink(self.run_id, bytes_per_s)

    def _look_for_peers(self) -> None:
        """Peer kits on the LAN whose mirror has a subscribed channel's newest sequence (when the source allows)."""
        if self.peers is None:
            channels = self.subscription.channels
            self.peers = {}
            if self._source.lan_stand_ins:
                from appliance.services.sync import peers  # zeroconf adds ~1 s to start-up: imported only to look

                self.peers = peers.find(self.settings, channels, {name: self.sequences.last(name) for name in channels})
            for name, urls in self.peers.items():
                self.on_event(Event("peer", text=f"{name}: peer kit(s) first: {', '.join(urls)}"))
        self.route.add_stand_ins(stand_ins(self.peers))

    # --- fetching and trusting indexes ------------------------------------------------------
    def fetch_index(self, name: str) -> ChannelIndex:
        """The channel's verified index: from the first stand-in that serves a good one, else from the source."""
        return self.route.index(name, lambda source: self._fetch_index(source, name))

    def _fetch_index(self, source: Source, name: str) -> ChannelIndex:
        assert self.transfers is not None  # made by _begin
        stage = self.staging.folder(name)
        self.on_event(Event("index", text=name))
        for path in (stage / INDEX_NAME, stage / SIGNATURE_NAME):
            path.unlink(missing_ok=True)  # never verify a stale copy from an earlier run
        source.fetch_index(self.transfers, name, stage)
        accepted = self.paths.sync_accepted_dir / name / INDEX_NAME
        return indexes.accept(stage, name, self.settings, self.sequences, accepted, self.clock())

    # --- planning --------------------------------------------------------------------------------
    def settings_channels(self) -> tuple[str, ...]:
        """The channels this kit holds: sync_channels, or (when it subscribes to none: a stick-fed kit) every
        channel it has accepted an index of."""
        named = Subscription.from_settings(self.settings.sync_channels, "", "").channels
        accepted = self.paths.sync_accepted_dir
        if named or not accepted.is_dir():
            return named
        return tuple(sorted(p.name for p in accepted.iterdir() if p.is_dir()))

    def plan(self) -> tuple[Plan, DiskCheck, list[ChannelIndex]]:
        """Fetch and verify every subscribed index; the plan against what is installed and the disk check."""
        self._look_for_peers()
        fetched = [self.fetch_index(name) for name in self.subscription.channels]
        plan = make_plan(
            fetched,
            self.installed.all(),
            self.subscription,
            remove_unfetched=self._source.carries_all,
            chain_max=self.settings.sync_patch_chain_max,
            full_ids=self.full_ids,
            carried=self._carried(),  # sets self.carried
            layer_min_bytes=self.settings.sync_layer_min_bytes,
            layers_max=self.settings.sync_layers_max,
        )
        plan = keep_layering(plan, self.disk_check(plan))
        return plan, self.disk_check(plan), fetched

    def _carried(self) -> dict[str, Carried]:
        """Channel -> what the source that served its index carries of it, when that is not everything (a stick, a
        peer kit: asked once here); for a peer, the run's own source stands behind it."""
        carried = {}
        for name in self.subscription.channels:
            source = self.route.source(name)
            files = source.carried(name)
            if files is not None:
                behind = self.route.primary.name if source is not self.route.primary else ""
                carried[name] = Carried(source.name, files, behind)
        self.carried = carried
        return carried

    # --- applying ----------------------------------------------------------------------------------
    def _download(self, step: Step) -> Staged:
        """Fetch and verify one book; a stand-in that serves it badly is dropped and the source asked instead."""
        transfers = self.transfers
        assert transfers is not None  # made by _begin
        if step.primary:  # the peer that served the index does not carry it (the plan's notes say so)
            return self.staging.book(transfers, self.route.primary, step)
        return self.route.package(
            step.channel,
            step.package_id,
            lambda source: self.staging.book(transfers, source, step),
            clean=lambda: self.staging.discard_book(step),
        )

    def _apply(self, plan: Plan, run_id: int) -> tuple[list[Step], list[tuple[Step, TpkitError]]]:
        """Each step in turn: the steps done (an update by patch that fell back to the full book as such) and the
        books that failed with a fault of their own (the run goes on to the next book); the kit's own limits
        (window, disk, budget) stop the run."""
        assert self.transfers is not None  # made by _begin
        done: list[Step] = []
        failed: list[tuple[Step, TpkitError]] = []
        for step in plan.steps:
            if step.action == "remove":
                self.on_event(Event("remove", step.package_id, text=step.version))
                activation.remove(self.paths, self.installed, step.package_id)
                done.append(step)
                continue
            try:
                step, staged, package, digest = self._fetched(step)
            except TpkitError as exc:
                if not _book_fault(exc):
                    raise
                self.on_event(Event("failed", step.package_id, text=f"{step.version}: {exc.code}"))
                failed.append((step, exc))
                continue
            self.on_event(Event("activate", step.package_id, text=step.version))
            if isinstance(staged, StagedLayers):
                activation.install_layers(
                    self.paths,
                    self.installed,
                    package,
                    step.channel,
                    staged.layers,
                    run_id,
                    staged.digest,
                    staged.patches,
                )
            else:
                activation.activate(self.paths, self.installed, package, step.channel, staged, run_id, digest)
            done.append(step)
        return done, failed

    def _fetched(self, step: Step) -> tuple[Step, Path | StagedLayers, Mapping[str, Any], str | None]:
        """The step's book staged and verified (by patch, falling back to the full book when the patch fails): the
        step as done, the staged file (or the staged layers and patches of an update by layer), the package to record
        (the file's own size and SHA-256) and its entry digest. A step the peer lacks comes from the run's own source."""
        assert self.transfers is not None  # made by _begin
        source = self.route.primary if step.primary else self.route.source(step.channel)
        self.limits.require_budget(step, source, self.transfers.uplink_bytes)
        if step.by_patch:
            try:
                if step.by_layer:
                    layers = self.staging.layered(self.transfers, source, step)
                    return step, layers, step.offered, layers.digest
                staged, digest = self.staging.rebuilt(self.transfers, source, step)
            except SyncError as exc:
                if exc.code != "sync.patch_failed":
                    raise
                why = getattr(exc.__cause__, "code", exc.code)
                step = dataclasses.replace(
                    step,
                    patches=(),
                    size_bytes=step.offered["size_bytes"],
                    why_full=f"the update by patch failed ({why}), so the full package instead",
                )
                carrier = self.carried.get(step.channel)
                if carrier is not None and carrier.behind and not carrier.has(step.offered):
                    step = dataclasses.replace(step, primary=True)  # the peer has no full file of it: the county has
                self.on_event(Event("whole", step.package_id, text=f"{step.version}: {why}"))
                whole_from = self.route.primary if step.primary else source
                self.limits.require_budget(step, whole_from, self.transfers.uplink_bytes)
            else:
                size, sha256 = file_digest(staged)  # the rebuilt file's own bytes, not the publisher's
                return step, staged, {**step.offered, "size_bytes": size, "sha256": sha256}, digest
        book = self._download(step)
        return step, book.path, book.package, book.digest

    def kept_channels(self) -> tuple[list[export.KeptChannel], list[str]]:
        """What this kit can pass on (`tpkit export`, a test's stick): each subscribed channel's verified index with
        the books it holds of it, and what was left out and why (stick_export.kept_channels)."""
        return export.kept_channels(
            self.paths,
            self.settings_channels(),
            self.installed.all(),
            channel.trusted_keys(self.settings.trusted_channel_keys),
            self.clock(),
        )

    def _refresh_mirror_tree(self) -> None:
        """After a good run the kit's own peer mirror serves what it now holds; a failure there never fails the run."""
        try:
            export.refresh_mirror(
                self.paths, self.settings, self.settings_channels(), self.installed.all(), self.clock()
            )
        except (TpkitError, OSError) as exc:
            log.warning(
                "sync: the peer mirror tree %s was not refreshed (%s); other kits keep getting the previous "
                "one until the next sync",
                self.paths.mirror_dir,
                exc,
            )

    # --- the run ------------------------------------------------------------------------------
    def run(self) -> tuple[Plan, RunResult]:
        """One whole sync run under the lock, recorded in the run history; a TpkitError says why it stopped."""
        program = self._require_setup()
        with self.locked():
            started, last_ok = time.monotonic(), self.runs.last_ok_id()
            self.run_id = run_id = self.runs.start(_utc(self.clock))
            reused = (
                uplink_rate.reusable(self.runs.last_uplink(), self.clock())
                if self.settings.sync_rate_cap_percent
                else None
            )
            self._begin(program, guard=True, uplink_bps=reused)
            plan = None
            try:
                try:
                    plan, failed = self._steps(last_ok)
                except OSError as exc:
                    if isinstance(exc, TpkitError) or exc.errno != errno.ENOSPC:
                        raise
                    raise self._disk_full(exc) from exc
                result = self._result("ok", "done", _routes(plan), started, plan)
            except TpkitError as exc:
                self._finish(run_id, self._result("failed", exc.code, exc.message, started, plan))
                raise
            except BaseException as exc:  # Ctrl-C, SIGTERM (the CLI exits): recorded, re-raised; a SIGKILL: next run
                self._finish(run_id, self._result("interrupted", "sync.interrupted", repr(exc), started, plan))
                raise
            if failed:  # some books were not updated: recorded per book, the run is partial (or failed: none done)
                outcome = "partial" if plan.steps else "failed"
                detail = " ".join(part for part in (_not_updated(failed), _routes(plan)) if part)
                result = self._result(outcome, failed[0][1].code, detail, started, plan)
                self.runs.finish(run_id, _utc(self.clock), result)
                raise _not_all_updated(failed, plan)
            self.runs.finish(run_id, _utc(self.clock), result)
            return plan, result

    def _finish(self, run_id: int, result: RunResult) -> None:
        """Record how a run that stopped ended. On a full disk the database may refuse even that: the journal says
        so, and the error that stopped the run is the one shown (the history keeps the run without its end)."""
        try:
            self.runs.finish(run_id, _utc(self.clock), result)
        except DiskFullError as exc:
            log.warning("sync: run %s (%s) could not be recorded: %s", run_id, result.reason, exc.message)

    def _disk_full(self, exc: OSError) -> DiskFullError:
        """A write of the run that found the disk full (ENOSPC): what was being written, what is free, what to free."""
        free, reserve = self.free_bytes(), self.settings.disk_reserve_mb * MB
        needed = (self.planned.disk_bytes if self.planned else 0) + reserve
        return DiskFullError(
            f"The content disk is full ({free / MB:.1f} MB free): writing {exc.filename or 'a file'} failed "
            f"({exc.strerror}). The sync stopped; the library still serves the books it had.",
            cause="Something else filled the disk during the sync, or the kit's books leave too little room.",
            fix=f"Free space on the content disk (df -h {self.paths.content_dir}) until at least {needed / MB:.1f} MB "
            "are free (this run's downloads and disk_reserve_mb), then run `tpkit sync` again: finished books are "
            "kept.",
        )

    def _steps(self, last_ok: int | None) -> tuple[Plan, list[tuple[Step, TpkitError]]]:
        """A run's steps once its history row exists: window, recovery, plan, disk guard, apply, clean up. The plan
        as done (the steps that were) and the books that failed."""
        self.limits.require_window()
        activation.recover(self.paths, self.installed)
        activation.collect_previous(self.paths, self.installed, last_ok)
        activation.collect_layers(self.paths, self.installed)
        plan, check, _ = self.plan()
        self.planned = plan
        self.on_event(Event("plan", total_bytes=plan.download_bytes))
        refuse_if_short(check, plan, self.installed.all())
        self.staging.collect(plan, self.subscription.channels)
        done, failed = self._apply(plan, self.run_id)
        if not failed:
            shutil.rmtree(self.paths.sync_staging_dir, ignore_errors=True)  # else a cut download stays, to resume
        if done or not failed:
            self._refresh_mirror_tree()
        return dataclasses.replace(plan, steps=tuple(done)), failed

    def _result(self, outcome: str, reason: str, detail: str, started: float, plan: Plan | None) -> RunResult:
        transfers = self.transfers
        assert transfers is not None  # made by _begin
        counts = (
            {a: plan.count(a) for a in ("add", "update", "remove")} if plan and outcome in ("ok", "partial") else {}
        )
        first_of_kind: dict[str, Source] = {}
        for source in self.route.sources():
            first_of_kind.setdefault(source.kind, source)
        said = [source.summary(transfers.received[kind]) for kind, source in first_of_kind.items()]
        detail = " ".join(part for part in (detail, *said, *self.route.notes) if part)
        guard = transfers.guard
        if guard is not None and guard.pauses:
            detail = (detail + " " if detail else "") + (
                f"Stepped aside for people {guard.pauses} time(s), {guard.yielded_s:.0f} s in all."
            )
        return RunResult(
            outcome,
            reason,
            detail,
            transfers.uplink_bytes,
            time.monotonic() - started,
            counts.get("add", 0),
            counts.get("update", 0),
            counts.get("remove", 0),
        )

    def preview(self) -> tuple[Plan, DiskCheck]:
        """`tpkit sync --plan`: fetch and verify the indexes and say what a run would do; nothing is downloaded."""
        program = self._require_setup()
        with self.locked():
            self._begin(program, guard=False, uplink_bps=self.uplink_bps)
            plan, check, _ = self.plan()
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
            raise SyncError(
                "Another sync is running on this kit, or the download of one that was stopped is still ending.",
                code="sync.busy",
                fix="Wait for it to finish (`tpkit sync --history`, or journalctl -u tpkit-sync), then run again.",
            )
        self.lock_fd = fd  # rsync inherits it (Transfers): a download that outlives its run still holds the lock
        try:
            yield
        finally:
            self.lock_fd = None
            os.close(fd)
