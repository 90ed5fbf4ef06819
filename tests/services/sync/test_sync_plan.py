"""The plan and the disk guard as pure functions of indexes and installed rows."""

from __future__ import annotations

import datetime as dt

import pytest

from appliance.content.channel_index import ChannelIndex
from appliance.errors import SyncError
from appliance.services.sync.plan import MB, DiskCheck, Plan, Subscription, make_plan, refuse_if_short
from appliance.storage.installed_packages import Installed

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)


def package(pid: str, sha: str, size: int = 10 * MB, **extra) -> dict:
    return {
        "id": pid,
        "title": pid,
        "language": "eng",
        "tags": {"grade": "3"},
        "version": "v-" + sha,
        "file": f"{pid}.zim",
        "size_bytes": size,
        "sha256": sha * 64,
        "replaces": [],
        **extra,
    }


def index(name: str, *packages: dict) -> ChannelIndex:
    return ChannelIndex(name, 1, NOW, NOW + dt.timedelta(days=30), tuple(packages))


def row(pid: str, sha: str, channel: str = "primary-en", **extra) -> Installed:
    return Installed(pid, channel, "v-" + sha, sha * 64, 10 * MB, f"{pid}.zim", **extra)


def test_sync_plan_first_channel_wins_and_unsubscribed_channels_are_removed():
    subscription = Subscription.from_settings("primary-en, county", "", "")
    plan = make_plan(
        [index("primary-en", package("water", "a")), index("county", package("water", "b"))],
        {"old": row("old", "c", channel="gone-channel")},
        subscription,
    )
    assert [(s.action, s.package_id, s.channel) for s in plan.steps] == [
        ("add", "water", "primary-en"),
        ("remove", "old", "gone-channel"),
    ]
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


def patch(pid: str, base_sha: str, base_digest: str, result_digest: str, size: int = MB) -> dict:
    return {
        **package(pid, "p" + result_digest[0], size),
        "kind": "patch",
        "file": f"patches/{pid}_{result_digest[0]}",
        "base": {"id": pid, "version": "v", "sha256": base_sha * 64, "digest": base_digest * 64},
        "result_digest": result_digest * 64,
    }


def _update(packages, installed_row, **options):
    plan = make_plan(
        [index("primary-en", *packages)],
        {"water": installed_row},
        Subscription.from_settings("primary-en", "", ""),
        **options,
    )
    (step,) = plan.steps
    return step


def test_sync_plan_updates_by_a_chain_of_patches_from_the_installed_file_or_its_entry_digest():
    full = package("water", "c", size=10 * MB, result_digest="3" * 64)
    chain = [patch("water", "a", "1", "2"), patch("water", "b", "2", "3", size=2 * MB)]
    by_file = _update([full, *chain], row("water", "a"))
    assert by_file.by_patch and [p["result_digest"][0] for p in by_file.patches] == ["2", "3"]
    # The patches, and the rebuild while it runs: the book, and its full-text index twice as libzim compacts it.
    assert by_file.size_bytes == 3 * MB and by_file.disk_bytes == 3 * MB + 2 * 10 * MB
    rebuilt = row("water", "e", digest="2" * 64)  # rebuilt here earlier: its own file hash, the publisher's entries
    assert [p["result_digest"][0] for p in _update([full, *chain], rebuilt).patches] == ["3"]
    current = make_plan(
        [index("primary-en", full, *chain)],
        {"water": row("water", "f", digest="3" * 64)},
        Subscription.from_settings("primary-en", "", ""),
    )
    assert current.steps == () and current.unchanged == ("water",)


@pytest.mark.parametrize(
    "case, why",
    [
        ("too_long", "2 patches in a row, more than sync_patch_chain_max = 1"),
        ("asked", "full package asked for (--full)"),
        ("failed", "the update by patch failed on the last run"),
        ("broken", "no chain of patches from the installed version v-a"),
    ],
)
def test_sync_plan_fetches_the_full_package_and_says_why(case, why):
    full = package("water", "c", size=10 * MB, result_digest="3" * 64)
    chain = [patch("water", "a", "1", "2"), patch("water", "b", "2", "3")]
    installed, options = row("water", "a"), {}
    if case == "too_long":
        options["chain_max"] = 1
    elif case == "asked":
        options["full_ids"] = frozenset({"water"})
    elif case == "failed":
        installed = row("water", "a", patch_failed_digest="3" * 64)
    else:
        chain = chain[:1]
    step = _update([full, *chain], installed, **options)
    assert (step.by_patch, step.why_full, step.size_bytes, step.disk_bytes) == (False, why, 10 * MB, 10 * MB)


def test_sync_plan_full_book_without_patches_needs_no_reason():
    step = _update([package("water", "c")], row("water", "a"))
    assert (step.by_patch, step.why_full) == (False, "")


def test_sync_plan_layers_a_large_book_and_rebuilds_one_with_layers_max():
    full = package("water", "c", size=10 * MB, result_digest="3" * 64)
    chain = [patch("water", "a", "1", "2"), patch("water", "b", "2", "3", size=2 * MB)]
    small = _update([full, *chain], row("water", "a"), layer_min_bytes=11 * MB)  # the installed file is 10 MB
    assert small.by_patch and small.patch_as == "rebuild" and not small.by_layer
    large = _update([full, *chain], row("water", "a"), layer_min_bytes=10 * MB)
    assert large.by_layer and large.disk_bytes == 4 * 3 * MB + MB  # the patches and their layers, not the book
    # a layered book: its file is v1 (sha "a") under a layer making v2 (digest 2): known by its digest only
    layered = row("water", "a", digest="2" * 64, layers=1)
    step = _update([full, *chain], layered, layer_min_bytes=0)
    assert [p["result_digest"][0] for p in step.patches] == ["3"] and step.by_layer and step.layers == 1
    full_at_v1 = package("water", "a", size=10 * MB, result_digest="1" * 64)  # the channel went back to v1
    assert _update([full_at_v1], layered, layer_min_bytes=0).action == "update"  # the base's hash is not the book's
    at_max = _update([full, *chain], row("water", "a", digest="2" * 64, layers=8), layer_min_bytes=0, layers_max=8)
    assert at_max.materialises and at_max.disk_bytes == 2 * MB + 2 * 10 * MB
