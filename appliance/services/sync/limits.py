"""The kit's limits on a sync run: time windows, the monthly budget, yielding the uplink to people, the rate cap
(docs/sync.md, "Policy"; docs/uplink.md). Must not import web.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Callable

from appliance.config import Settings
from appliance.edges import system
from appliance.errors import ConfigError, SyncError
from appliance.services.sync import policy as sync_policy, uplink_rate
from appliance.services.sync.plan import MB, Step
from appliance.services.sync.sources import Source
from appliance.services.sync.uplink_yield import UplinkGuard, YieldPolicy, YieldWatch
from appliance.storage.sync_runs import SyncRuns


class Limits:
    """The limits in force for one engine; `windows_apply` is False for a run whose source is not the uplink (a
    stick). A ConfigError at once when sync_windows cannot be parsed."""

    def __init__(
        self, settings: Settings, clock: Callable[[], dt.datetime], runs: SyncRuns, *, windows_apply: bool
    ) -> None:
        self.settings, self.clock, self.runs, self.windows_apply = settings, clock, runs, windows_apply
        try:
            self.windows = sync_policy.parse_windows(settings.sync_windows)
        except ValueError as exc:
            raise ConfigError(
                f"sync_windows = {settings.sync_windows!r} ({self.origin('sync_windows')}) cannot be used: {exc}.",
                fix='Write windows like "Mon-Fri 16:00-07:00, Sat-Sun" (docs/settings.md).',
            ) from exc

    def origin(self, name: str) -> str:
        """Where a setting's value came from (kit.toml key, environment, the county hub…)."""
        return self.settings.sources.get(name, "default")

    def require_window(self, closed_during: str = "") -> None:
        """A SyncError when sync may not download now; `closed_during` names the book a closing window stopped."""
        now = self.clock()
        if not self.windows_apply or sync_policy.in_window(self.windows, now):
            return
        opening = sync_policy.next_opening(self.windows, now)
        when = opening.strftime("%a %H:%M") if opening else "never (no window opens within a week)"
        windows = f"sync_windows = {self.settings.sync_windows!r}"
        if closed_during:
            raise SyncError(
                f"The sync window closed while downloading {closed_during}; the download was stopped.",
                code="sync.window_closed",
                cause=f"{windows} ({self.origin('sync_windows')}).",
                fix=f"Nothing: the next run in a window resumes it (next window opens {when}).",
            )
        raise SyncError(
            f"Sync may not download now ({now.astimezone().strftime('%a %H:%M')} is outside "
            f"{windows}, from {self.origin('sync_windows')}).",
            code="sync.outside_window",
            fix=f"Wait for the next window ({when}), or change sync_windows.",
        )

    def require_budget(self, step: Step, source: Source, run_bytes: int) -> None:
        """A SyncError when the step's full size does not fit in what is left of this month's uplink budget (a step
        from a source that is not the uplink is not metered)."""
        budget = self.settings.sync_month_budget_mb * MB
        if not budget or not source.uplink:
            return
        since = sync_policy.month_start(self.clock()).strftime("%Y-%m-%dT%H:%M:%SZ")
        left = budget - self.runs.bytes_since(since) - run_bytes
        if step.size_bytes > left:
            raise SyncError(
                f"{step.package_id} ({step.size_bytes / MB:.1f} MB) does not fit in what is left of this "
                f"month's budget ({max(left, 0) / MB:.1f} MB of {self.settings.sync_month_budget_mb} MB).",
                code="sync.month_budget",
                cause="sync_month_budget_mb caps what a metered link receives "
                "per calendar month (counted at the package's full size, an upper bound of a delta).",
                fix="Wait for next month, raise sync_month_budget_mb, or narrow sync_packages/sync_tags.",
            )

    def guard(self, where: str) -> UplinkGuard | None:
        """A guard for a run from `where` when it is an rsync mirror, yielding is on and an uplink is known."""
        source = urllib.parse.urlsplit(where)
        if source.scheme != "rsync" or not source.hostname or not self.settings.sync_yield_kbps:
            return None
        interface = self.uplink_interface()
        if not interface:
            return None
        policy = YieldPolicy(
            self.settings.sync_yield_kbps * 1024, self.settings.sync_yield_pause_s, self.settings.sync_yield_resume_s
        )
        return UplinkGuard(YieldWatch(policy), interface, (source.hostname, source.port or 873))

    def uplink_interface(self) -> str:
        """uplink_interface, else the first interface with a default route other than the access point's."""
        return self.settings.uplink_interface or next(
            iter(system.uplink_interfaces(self.settings.ap_interface) or []), ""
        )

    def cap_kbps(self, uplink_bps: float | None) -> int:
        """rsync's --bwlimit now: the lower of sync_rate_cap_kbps and sync_rate_cap_percent of the uplink's speed."""
        percent = self.settings.sync_rate_cap_percent
        share = uplink_rate.share_kbps(percent, uplink_bps) if percent and uplink_bps else 0
        return uplink_rate.combined_cap_kbps(self.settings.sync_rate_cap_kbps, share)
