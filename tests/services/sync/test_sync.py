"""The sync engine against a real rsync daemon on loopback serving channels published by `services.channel`."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading

import pytest

from appliance.content.channel_index import INDEX_NAME, SIGNATURE_NAME
from appliance.content.zimfile import ZimFile
from appliance.errors import ChannelError, SyncError
from appliance.files import file_digest
from appliance.services.kit import claim_once
from appliance.services.sync import engine as sync_service
from tests.mirror import Mirror, RsyncDaemon, kit_settings, open_database, staged_files


def engine_for(settings, **options):
    return sync_service.Engine(settings, open_database(settings), **options)


def sha(path):
    return file_digest(path)[1]


def test_sync_plan_then_add_update_remove_over_the_daemon(tmp_path, mirror, daemon):
    water_v1 = mirror.book("water_en")
    mirror.book("moon_en", title="Moon")
    mirror.publish()
    settings = kit_settings(tmp_path, daemon.url, mirror)
    engine = engine_for(settings)
    plan, check = engine.preview()
    assert [(s.action, s.package_id) for s in plan.steps] == [("add", "moon_en"), ("add", "water_en")]
    assert check.ok and check.needed_bytes == plan.download_bytes > 0
    assert not (settings.content_dir / "water_en.zim").exists()  # a plan downloads nothing
    first_sha = sha(water_v1)
    plan, result = engine.run()
    assert (result.outcome, result.added) == ("ok", 2)
    assert sha(settings.content_dir / "water_en.zim") == first_sha
    assert result.bytes_received > 2 * 100_000

    mirror.book("water_en", body="<p>Now with clouds.</p>")
    (mirror.folder() / "moon_en.zim").unlink()
    mirror.book("sun_en", title="Sun")
    mirror.publish()
    plan, _ = engine.preview()
    assert [(s.action, s.package_id) for s in plan.steps] == [
        ("add", "sun_en"),
        ("update", "water_en"),
        ("remove", "moon_en"),
    ]
    plan, result = engine.run()
    assert (result.added, result.updated, result.removed) == (1, 1, 1)
    assert sha(settings.content_dir / "water_en.zim") == sha(mirror.folder() / "water_en.zim") != first_sha
    assert sorted(p.name for p in settings.content_dir.iterdir()) == ["sun_en.zim", "water_en.zim"]
    assert ZimFile(settings.content_dir / "water_en.zim").verify_checksum() is True
    previous = engine.installed.get("water_en")
    assert sha(settings.data_dir / "sync" / "previous" / previous.previous_file) == first_sha
    assert staged_files(settings) == []
    history = engine.runs.recent()
    assert [r["outcome"] for r in history] == ["ok", "ok"] and history[0]["throughput_bps"] > 0


def test_sync_rollback_puts_the_previous_version_back_and_holds_it(tmp_path, mirror, daemon):
    mirror.book("water_en")
    mirror.publish()
    settings = kit_settings(tmp_path, daemon.url, mirror)
    engine = engine_for(settings)
    engine.run()
    first = sha(settings.content_dir / "water_en.zim")
    mirror.book("water_en", body="<p>v2</p>")
    mirror.publish()
    engine.run()
    assert sha(settings.content_dir / "water_en.zim") != first
    row = engine.rollback("water_en")
    assert sha(settings.content_dir / "water_en.zim") == first == row.sha256
    plan, _ = engine.preview()
    assert plan.steps == () and any("held back" in note for note in plan.notes)
    with pytest.raises(SyncError) as caught:
        engine.rollback("water_en")
    assert caught.value.code == "sync.no_previous" and caught.value.fix


def test_sync_keeps_previous_versions_through_one_successful_run_then_collects_them(tmp_path, mirror, daemon):
    mirror.book("water_en")
    mirror.publish()
    settings = kit_settings(tmp_path, daemon.url, mirror)
    engine = engine_for(settings)
    engine.run()
    mirror.book("water_en", body="<p>v2</p>")
    mirror.publish()
    engine.run()
    previous = settings.data_dir / "sync" / "previous"
    assert len(list(previous.iterdir())) == 1
    engine.run()  # the next successful run: still kept during it
    assert len(list(previous.iterdir())) == 1
    engine.run()
    assert list(previous.iterdir()) == []


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_sync_tampered_or_truncated_package_is_refused_and_the_library_kept(tmp_path, mirror, daemon, damage):
    mirror.book("water_en")
    mirror.publish()
    settings = kit_settings(tmp_path, daemon.url, mirror)
    engine = engine_for(settings)
    engine.run()
    before = sha(settings.content_dir / "water_en.zim")
    mirror.book("water_en", body="<p>v2</p>")
    mirror.publish()
    path = mirror.folder() / "water_en.zim"
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
    else:
        del data[len(data) // 2 :]
    path.write_bytes(bytes(data))
    with pytest.raises(ChannelError) as caught:
        engine.run()
    assert caught.value.code == "channel.package_mismatch" and "fetch it again" in caught.value.fix
    assert sha(settings.content_dir / "water_en.zim") == before
    assert engine.runs.recent()[0]["reason"] == "channel.package_mismatch"


def test_sync_package_that_is_not_a_zim_is_refused_even_when_signed(tmp_path, mirror, daemon):
    mirror.book("water_en")
    mirror.publish()
    junk = b"<html>not a book</html>" * 100
    (mirror.folder() / "water_en.zim").write_bytes(junk)

    def point_at_junk(data):
        import hashlib

        data["packages"][0].update(size_bytes=len(junk), sha256=hashlib.sha256(junk).hexdigest())
        data["sequence"] += 1

    mirror.resign(point_at_junk)
    settings = kit_settings(tmp_path, daemon.url, mirror)
    with pytest.raises(SyncError) as caught:
        engine_for(settings).run()
    assert caught.value.code == "sync.package_damaged" and "publish the book again" in caught.value.fix
    assert not (settings.content_dir / "water_en.zim").exists()


def test_sync_replayed_index_is_refused(tmp_path, mirror, daemon):
    mirror.book("water_en")
    mirror.publish()
    old = {n: (mirror.folder() / n).read_bytes() for n in (INDEX_NAME, SIGNATURE_NAME)}
    mirror.publish()
    settings = kit_settings(tmp_path, daemon.url, mirror)
    engine = engine_for(settings)
    engine.run()
    for name, raw in old.items():
        (mirror.folder() / name).write_bytes(raw)
    with pytest.raises(ChannelError) as caught:
        engine.run()
    assert caught.value.code == "channel.replayed"


def test_sync_same_sequence_with_other_bytes_is_refused_but_a_rerun_is_not(tmp_path, mirror, daemon):
    mirror.book("water_en")
    mirror.publish()
    settings = kit_settings(tmp_path, daemon.url, mirror)
    engine = engine_for(settings)
    engine.run()
    assert engine.run()[1].outcome == "ok"  # the same index again: nothing to do, not a replay
    mirror.resign(lambda data: data["packages"][0].update(title="Swapped"))
    with pytest.raises(ChannelError) as caught:
        engine.run()
    assert caught.value.code == "channel.replayed"


def test_sync_index_signed_by_an_unknown_key_is_refused(tmp_path, mirror, daemon):
    mirror.book("water_en")
    mirror.publish()
    stranger = Mirror(tmp_path / "other", tmp_path / "other-keys")
    settings = kit_settings(tmp_path, daemon.url, stranger)
    with pytest.raises(ChannelError) as caught:
        engine_for(settings).run()
    assert caught.value.code == "channel.unknown_key" and "trusted_channel_keys" in caught.value.fix


def test_sync_expired_index_is_refused_by_the_kits_clock(tmp_path, mirror, daemon):
    mirror.book("water_en")
    mirror.publish(expires_days=1)
    settings = kit_settings(tmp_path, daemon.url, mirror)
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)
    with pytest.raises(ChannelError) as caught:
        engine_for(settings, clock=lambda: later).run()
    assert caught.value.code == "channel.expired"


def test_sync_index_path_escaping_the_channel_is_refused(tmp_path, mirror, daemon):
    mirror.book("water_en")
    mirror.publish()
    mirror.resign(lambda data: data["packages"][0].update(file="../../../etc/passwd"))
    settings = kit_settings(tmp_path, daemon.url, mirror)
    with pytest.raises(ChannelError) as caught:
        engine_for(settings).run()
    assert caught.value.code == "channel.path_escape"
    assert staged_files(settings) == [
        settings.data_dir / "sync" / "staging" / "primary-en" / n for n in (INDEX_NAME, SIGNATURE_NAME)
    ]


def test_sync_plan_over_the_disk_reserve_is_refused_before_any_download(tmp_path, mirror, daemon):
    mirror.book("water_en")
    mirror.publish()
    settings = kit_settings(tmp_path, daemon.url, mirror, disk_reserve_mb=1 << 30)  # a reserve of 1 PB
    engine = engine_for(settings)
    plan, check = engine.preview()
    assert not check.ok and check.short_bytes > 0
    with pytest.raises(SyncError) as caught:
        engine.run()
    error = caught.value
    assert error.code == "sync.disk_reserve" and "short" in error.message and "Free at least" in error.fix
    assert list(settings.content_dir.iterdir()) == [] and staged_files(settings)[-1].name == SIGNATURE_NAME


def test_sync_mirror_that_goes_away_mid_transfer_fails_then_resumes(tmp_path, mirror, daemon):
    mirror.book("water_en", size_kb=600)
    mirror.publish()
    settings = kit_settings(tmp_path, daemon.url, mirror, sync_rate_cap_kbps=100, sync_timeout_s=5)
    seen = threading.Event()

    def watch(event):
        if event.kind == "download" and event.done_bytes > 100_000:
            seen.set()

    engine = engine_for(settings, on_event=watch)
    killer = threading.Thread(target=lambda: seen.wait(30) and daemon.stop())
    killer.start()
    with pytest.raises(SyncError) as caught:
        engine.run()
    killer.join()
    assert caught.value.code == "sync.transfer_failed" and "resumes" in caught.value.fix
    assert not (settings.content_dir / "water_en.zim").exists()
    assert engine.runs.recent()[0]["outcome"] == "failed"
    partial = [p for p in staged_files(settings) if ".partial" in p.parts]
    assert partial and partial[0].stat().st_size > 50_000  # what came before the cut is kept for the resume
    restarted = RsyncDaemon(mirror.root, tmp_path / "again").start() if (tmp_path / "again").mkdir() is None else None
    try:
        settings = kit_settings(tmp_path, restarted.url, mirror, sync_timeout_s=5)
        _, result = engine_for(settings).run()
    finally:
        restarted.stop()
    assert result.outcome == "ok" and sha(settings.content_dir / "water_en.zim") == sha(
        mirror.folder() / "water_en.zim"
    )
    assert result.bytes_received < (mirror.folder() / "water_en.zim").stat().st_size  # resumed, not started over


def test_sync_update_uses_the_previous_version_as_delta_basis(tmp_path, mirror, daemon):
    noise = os.urandom(800 * 1024)  # stands in for clusters an edit leaves alone
    mirror.book("water_en", noise=noise)
    mirror.publish()
    settings = kit_settings(tmp_path, daemon.url, mirror)
    engine = engine_for(settings)
    engine.run()
    new = mirror.book("water_en", noise=noise, body="<p>An edited article.</p>")
    mirror.publish()
    _, result = engine.run()
    assert result.updated == 1 and sha(settings.content_dir / "water_en.zim") == sha(new)
    assert result.bytes_received < new.stat().st_size // 2  # the old book was the basis: most bytes stayed home


def test_sync_only_one_runs_at_a_time(tmp_path, mirror, daemon):
    mirror.book("water_en")
    mirror.publish()
    settings = kit_settings(tmp_path, daemon.url, mirror)
    engine = engine_for(settings)
    (settings.data_dir / "sync").mkdir(parents=True)
    held = claim_once(settings.data_dir / "sync" / "sync.lock")
    try:
        with pytest.raises(SyncError) as caught:
            engine.run()
    finally:
        os.close(held)
    assert caught.value.code == "sync.busy"


def test_sync_filters_leave_packages_out_and_a_patch_alone_installs_nothing(tmp_path, mirror, daemon):
    mirror.book("water_en", tags="grade:3;subject:science")
    mirror.book("sums_en", tags="grade:4;subject:maths")
    mirror.book("moon_en", tags="grade:3")
    mirror.publish()
    # moon_en (sorted first) becomes a patch with no full book beside it: nothing to install it on, nothing to add
    mirror.resign(
        lambda d: d["packages"][0].update(
            kind="patch",
            result_digest="0" * 64,
            base={"id": "moon_en", "version": "2026-01-01", "sha256": "1" * 64, "digest": "2" * 64},
        )
    )
    settings = kit_settings(tmp_path, daemon.url, mirror, sync_tags="grade:3")
    plan, _ = engine_for(settings).preview()
    assert [s.package_id for s in plan.steps] == ["water_en"] and not plan.steps[0].by_patch


def test_sync_without_source_says_what_to_set(tmp_path, mirror):
    settings = kit_settings(tmp_path, "", mirror)
    with pytest.raises(SyncError) as caught:
        engine_for(settings).run()
    assert caught.value.code == "sync.not_configured" and "sync_source" in caught.value.message
    assert json.dumps(caught.value.as_dict())
