"""The plan and the disk guard as pure functions of indexes and installed rows."""

from __future__ import annotations

import datetime as dt

import pytest

from appliance.content.channel_index import ChannelIndex
from appliance.errors import SyncError
from appliance.services.sync_plan import MB, DiskCheck, Plan, Subscription, make_plan, refuse_if_short
from appliance.storage.installed_packages import Installed

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)


def package(pid: str, sha: str, size: int = 10 * MB, **extra) -> dict:
    return {"id": pid, "title": pid, "language": "eng", "tags": {"grade": "3"}, "version": "v-" + sha,
            "file": f"{pid}.zim", "size_bytes": size, "sha256": sha * 64, "replaces": [], **extra}


def index(name: str, *packages: dict) -> ChannelIndex:
    return ChannelIndex(name, 1, NOW, NOW + dt.timedelta(days=30), tuple(packages))


def row(pid: str, sha: str, channel: str = "primary-en", **extra) -> Installed:
    return Installed(pid, channel, "v-" + sha, sha * 64, 10 * MB, f"{pid}.zim", **extra)


def test_sync_plan_first_channel_wins_and_unsubscribed_channels_are_removed():
    subscription = Subscription.from_settings("primary-en, county", "", "")
    plan = make_plan([index("primary-en", package("water", "a")), index("county", package("water", "b"))],
                     {"old": row("old", "c", channel="gone-channel")}, subscription)
    assert [(s.action, s.package_id, s.channel) for s in plan.steps] == [("add", "water", "primary-en"),
                                                                          ("remove", "old", "gone-channel")]
    assert any("also in county" in note for note in plan.notes)


def test_sync_plan_held_version_is_not_installed_again_but_a_newer_one_is():
    subscription = Subscription.from_settings("primary-en", "", "")
    held = {"water": row("water", "a", held_sha256="b" * 64)}
    assert make_plan([index("primary-en", package("water", "b"))], held, subscription).steps == ()
    assert make_plan([index("primary-en", package("water", "c"))], held, subscription).steps[0].action == "update"


def test_sync_disk_check_counts_downloads_against_the_reserve():
    assert DiskCheck(free_bytes=100 * MB, needed_bytes=50 * MB, reserve_bytes=50 * MB).ok
    short = DiskCheck(free_bytes=100 * MB, needed_bytes=60 * MB, reserve_bytes=50 * MB)
    assert not short.ok and short.short_bytes == 10 * MB
    assert DiskCheck(free_bytes=10 * MB, needed_bytes=0, reserve_bytes=50 * MB).ok  # removals only: always run
    plan = Plan((make_plan([index("p", package("w", "a", 60 * MB))], {}, Subscription(("p",))).steps), (), ())
    with pytest.raises(SyncError) as caught:
        refuse_if_short(short, plan, {"big": row("big", "z")})
    assert "10.0 MB short" in caught.value.message and "big (10.0 MB)" in caught.value.cause
