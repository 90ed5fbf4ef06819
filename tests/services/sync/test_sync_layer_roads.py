"""Every road updates a large book by patch (issue 21, "apply ∝ edit"; docs/sync.md, "Roads and patches"): a kit that
applied a patch as a layer keeps the patch beside it, so its stick (`tpkit export` → `tpkit import`) and its peer tree
(`tpkit mirror serve`) carry that patch at its index path and a kit at the base version takes a layer from them, never
the whole book; a fresh kit takes the full book (from the stick, or from the county mirror behind a peer). Real
libzim books, a real rsync daemon, the real `tpkit mirror serve`; TPKIT_SYNC_LAYER_MIN_BYTES = 0 (sync_layer_min_bytes)
so small books take the large books' road."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from appliance.cli import content as content_cli
from appliance.content import zimlayers
from appliance.content.channel_index import package_path
from appliance.files import file_digest
from appliance.services.sync import engine as sync_service, stick_export as export, stick_import
from appliance.services.sync.sources.stick import StickSource
from tests.mirror import kit_settings, open_database, staged_files
from tests.services.sync.test_peer_mirror import PeerKit
from tests.services.sync.test_sync_layers import County, book_of, kept_patches, layer_files, served_text

CHANNEL = "primary-en"


@pytest.fixture
def county(tmp_path, mirror):
    return County(mirror, tmp_path / "published-before")


def engine_of(tmp_path, name, source, mirror, **overrides):
    settings = kit_settings(tmp_path / name, source, mirror, sync_layer_min_bytes=0, **overrides)
    return sync_service.Engine(settings, open_database(settings), peers={})


def stick_preview(engine, stick):
    source = StickSource(str(stick / "tpkit"))
    return sync_service.Engine(engine.settings, engine.db, source=source, channels=(CHANNEL,), peers={}).preview()[0]


def export_to(engine, stick):
    stick.mkdir(exist_ok=True)
    kept, skipped = engine.kept_channels()
    return export.export_to_stick(engine.paths, stick, kept, skipped)


def kit_at_v1_and_a_stick_from_v2(tmp_path, mirror, daemon, county):
    """Kit A (took v2 by layer), kit B at v1 ("v1 rain"), the patch to v2 ("v2 clouds"), and the stick A exported."""
    county.release("v1 rain")
    a = engine_of(tmp_path, "a", daemon.url, mirror)
    b = engine_of(tmp_path, "b", daemon.url, mirror)
    a.run()
    b.run()
    county.release("v2 clouds")
    (patch,) = county.patches()
    a.run()
    stick = tmp_path / "stick"
    export_to(a, stick)
    return a, b, patch, stick


def base_of(engine):
    stat = book_of(engine).stat()
    return stat.st_ino, stat.st_mtime_ns


def test_a_stick_from_a_layered_kit_updates_a_kit_at_the_base_by_patch(tmp_path, mirror, daemon, county):
    county.release("v1 rain")
    a = engine_of(tmp_path, "a", daemon.url, mirror)
    b = engine_of(tmp_path, "b", daemon.url, mirror)
    a.run()
    b.run()  # kit B at v1, then off the network
    county.release("v2 clouds")
    (patch,) = county.patches()
    v2 = county.full()
    a.run()  # by layer from the mirror: the patch kept beside the layer
    assert layer_files(a) and kept_patches(a) == [patch["file"].split("/")[-1]]
    stick = tmp_path / "stick"
    done = export_to(a, stick)
    assert done.written == ("water_en",) and done.patches == (patch["file"],) and not done.skipped
    folder = stick / "tpkit" / CHANNEL
    assert file_digest(package_path(folder, patch))[1] == patch["sha256"]  # at its index path, as signed

    # kit B at the base version: the plan takes the patch from the stick, as a layer; no full book is copied
    inode = base_of(b)
    (step,) = stick_preview(b, stick).steps
    assert step.by_layer and not step.primary and step.size_bytes == patch["size_bytes"] and not step.why_full
    report = stick_import.import_folder(b.settings, b.db, stick)
    assert report.ok, report.error
    assert base_of(b) == inode and layer_files(b) and "v2 clouds" in served_text(b)
    row = b.installed.get("water_en")
    assert (row.version, row.digest, row.layers) == (v2["version"], v2["result_digest"], 1)
    assert kept_patches(b) == kept_patches(a)  # and B can pass it on again
    assert "water_en by 1 patch(es)" in report.result.detail and staged_files(b.settings) == []
    assert export_to(b, tmp_path / "stick-b").patches == (patch["file"],)

    # kit C with nothing: the full book, materialised by kit A's export
    c = engine_of(tmp_path, "c", "", mirror)
    report = stick_import.import_folder(c.settings, c.db, stick)
    assert report.ok, report.error
    (step,) = report.plan.steps
    assert step.action == "add" and "v2 clouds" in served_text(c) and layer_files(c) == []
    assert c.installed.get("water_en").digest == v2["result_digest"]


def test_a_tampered_kept_patch_on_a_stick_is_refused_and_the_book_comes_whole(tmp_path, mirror, daemon, county):
    a, b, patch, stick = kit_at_v1_and_a_stick_from_v2(tmp_path, mirror, daemon, county)
    on_stick = package_path(stick / "tpkit" / CHANNEL, patch)
    data = bytearray(on_stick.read_bytes())
    data[len(data) // 2] ^= 0xFF
    on_stick.write_bytes(bytes(data))
    (step,) = stick_preview(b, stick).steps
    assert step.by_layer  # the stick carries a file at the patch's path: its bytes are checked when it comes
    report = stick_import.import_folder(b.settings, b.db, stick)
    assert report.ok, report.error
    assert "v2 clouds" in served_text(b) and layer_files(b) == [] and b.installed.get("water_en").layers == 0
    assert "the update by patch failed (channel.package_mismatch)" in report.result.detail
    assert b.installed.get("water_en").patch_failed_digest is None  # the full book came: nothing left to retry


def test_a_stick_without_the_patch_gives_the_book_whole_naming_the_patch(tmp_path, mirror, daemon, county):
    a, b, patch, stick = kit_at_v1_and_a_stick_from_v2(tmp_path, mirror, daemon, county)
    package_path(stick / "tpkit" / CHANNEL, patch).unlink()
    (step,) = stick_preview(b, stick).steps
    why = f"the stick does not carry the patch from {patch['base']['version']} to {patch['version']}"
    assert not step.by_patch and step.why_full == why
    report = stick_import.import_folder(b.settings, b.db, stick)
    assert report.ok and f"water_en as the full package: {why}" in report.result.detail
    # neither the patch nor the book: not offered by the stick, and the plan says so
    (stick / "tpkit" / CHANNEL / "water_en.zim").unlink()
    county.release("v3 snow")
    a.run()
    export_to(a, stick)
    shutil.rmtree(stick / "tpkit" / CHANNEL / "patches")
    (stick / "tpkit" / CHANNEL / "water_en.zim").unlink()
    plan = stick_preview(b, stick)
    assert plan.steps == () and [n for n in plan.notes if "water_en" in n and "not on the stick" in n]
    assert [n for n in plan.notes if "does not carry the patch from" in n]


@pytest.fixture
def layered_peer(tmp_path, mirror, daemon):
    peer = PeerKit(tmp_path, mirror, daemon.url)
    peer.settings = dataclasses.replace(peer.settings, sync_layer_min_bytes=0)
    yield peer
    peer.stop()


def test_a_layered_peer_updates_a_neighbour_by_patch_and_sends_a_fresh_one_to_the_county(
    tmp_path, mirror, daemon, county, layered_peer
):
    county.release("v1 rain")
    layered_peer.sync()
    b = engine_of(tmp_path, "b", daemon.url, mirror)
    b.run()
    county.release("v2 clouds")
    (patch,) = county.patches()
    v2 = county.full()
    layered_peer.sync()  # by layer: its peer tree holds the kept patch, and no full file of the book
    tree = layered_peer.paths.mirror_dir / CHANNEL
    assert file_digest(package_path(tree, patch))[1] == patch["sha256"]
    assert not (tree / "water_en.zim").exists()
    kept = zimlayers.layers_dir(layered_peer.settings.content_dir / "water_en.zim") / patch["file"].split("/")[-1]
    assert package_path(tree, patch).stat().st_ino == kept.stat().st_ino  # a hard link, no copy
    layered_peer.serve()
    peer_url = f"rsync://127.0.0.1:{layered_peer.settings.mirror_port}/tpkit"

    # kit B at v1: by patch from the peer, as a layer over its untouched file
    inode = base_of(b)
    engine = sync_service.Engine(b.settings, b.db, peers={CHANNEL: [peer_url]})
    (step,) = engine.preview()[0].steps
    assert step.by_layer and not step.primary and not step.why_full
    _, result = engine.run()
    assert result.outcome == "ok" and "v2 clouds" in served_text(b) and base_of(b) == inode
    assert engine.transfers is not None and engine.transfers.received["peer"] > 0
    assert "water_en by 1 patch(es)" in result.detail and "refused" not in result.detail
    assert result.bytes_received < patch["size_bytes"]  # the patch did not cross the uplink
    assert b.installed.get("water_en").digest == v2["result_digest"]

    # a fresh kit D: the peer has no full file; the plan says so and the book comes whole from the county mirror
    d = engine_of(tmp_path, "d", daemon.url, mirror)
    engine = sync_service.Engine(d.settings, d.db, peers={CHANNEL: [peer_url]})
    plan = engine.preview()[0]
    (step,) = plan.steps
    assert step.action == "add" and step.primary
    assert content_cli._how(step) == "full package, from sync_source (not on the peer)"  # `tpkit sync --plan`
    (note,) = plan.notes
    assert note == f"water_en {v2['version']} ({CHANNEL}): not on peer {peer_url}; it comes whole from {daemon.url}"
    _, result = engine.run()
    assert result.outcome == "ok" and "v2 clouds" in served_text(d) and "refused" not in result.detail
    assert file_digest(book_of(d))[1] == v2["sha256"] and result.bytes_received >= v2["size_bytes"] // 2


def test_a_tampered_patch_on_a_layered_peer_sends_the_book_to_the_county_whole(
    tmp_path, mirror, daemon, county, layered_peer
):
    county.release("v1 rain")
    layered_peer.sync()
    b = engine_of(tmp_path, "b", daemon.url, mirror)
    b.run()
    county.release("v2 clouds")
    (patch,) = county.patches()
    layered_peer.sync()
    served = package_path(layered_peer.paths.mirror_dir / CHANNEL, patch)
    data = bytearray(served.read_bytes())
    data[len(data) // 2] ^= 0xFF
    served.write_bytes(bytes(data))
    layered_peer.serve()
    peer_url = f"rsync://127.0.0.1:{layered_peer.settings.mirror_port}/tpkit"
    engine = sync_service.Engine(b.settings, b.db, peers={CHANNEL: [peer_url]})
    _, result = engine.run()
    # refused by its SHA-256; the peer has no full file of the book, so the full book comes from the county at once
    assert result.outcome == "ok" and "v2 clouds" in served_text(b) and layer_files(b) == []
    assert "the update by patch failed (channel.package_mismatch)" in result.detail
    assert "refused" not in result.detail  # no attempt at a full file the peer does not have
    assert file_digest(book_of(b))[1] == county.full()["sha256"]
