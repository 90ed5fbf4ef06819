"""`tpkit export` and `tpkit import`: a kit writes its channels to a stick, another kit that never gets online
imports them with the same checks as a sync; loose .zim files (unsigned) wait for approval, unserved. Real ZIMs,
real rsync on local paths, a real small tmpfs as a full stick."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from appliance.content.channel_index import INDEX_NAME, SIGNATURE_NAME
from appliance.errors import StickError
from appliance.files import file_digest
from appliance.services.library import approval
from appliance.services.people.access import CONSOLE
from appliance.services.sync import channel, engine as sync_service, stick_export as export, stick_import
from appliance.services.sync.plan import LOCAL_CHANNEL
from tests.conftest import make_book
from tests.mirror import Mirror, kit_settings, open_database


def sha(path):
    return file_digest(path)[1]


def online_kit(tmp_path, mirror, **overrides):
    """Kit A: syncs primary-en from the county mirror (a folder source)."""
    settings = kit_settings(tmp_path / "a", str(mirror.root), mirror, **overrides)
    return settings, open_database(settings)


def offline_kit(tmp_path, mirror, **overrides):
    """Kit B: never online (no sync_source), trusts the county key."""
    settings = kit_settings(tmp_path / "b", "", mirror, **overrides)
    return settings, open_database(settings)


def export_from(settings, db, stick):
    engine = sync_service.Engine(settings, db, peers={})
    kept, skipped = engine.kept_channels()
    return export.export_to_stick(engine.paths, stick, kept, skipped)


def synced_kit_and_stick(tmp_path, mirror):
    mirror.book("water_en")
    mirror.book("moon_en", title="Moon")
    mirror.publish()
    a, db_a = online_kit(tmp_path, mirror)
    sync_service.Engine(a, db_a, peers={}).run()
    stick = tmp_path / "stick"
    stick.mkdir()
    return a, db_a, stick


def test_export_writes_the_kept_signed_pair_and_installed_books_in_mirror_layout(tmp_path, mirror):
    a, db_a, stick = synced_kit_and_stick(tmp_path, mirror)
    kept_dir = a.data_dir / "sync" / "channels" / "primary-en"
    assert (kept_dir / SIGNATURE_NAME).read_bytes() == (mirror.folder() / SIGNATURE_NAME).read_bytes()
    done = export_from(a, db_a, stick)
    folder = stick / "tpkit" / "primary-en"
    assert (folder / INDEX_NAME).read_bytes() == (mirror.folder() / INDEX_NAME).read_bytes()
    assert (folder / SIGNATURE_NAME).read_bytes() == (mirror.folder() / SIGNATURE_NAME).read_bytes()
    assert sorted(done.written) == ["moon_en", "water_en"] and done.unchanged == ()
    assert sha(folder / "water_en.zim") == sha(mirror.folder() / "water_en.zim")
    assert not [p for p in stick.rglob(".*")]  # no temporary file left
    channel.verify_index(folder, channel.trusted_keys(str(mirror.pub)), None, check_files=True)
    again = export_from(a, db_a, stick)  # a second export writes nothing new
    assert again.written == () and sorted(again.unchanged) == ["moon_en", "water_en"]


def test_export_then_import_on_a_kit_that_never_gets_online(tmp_path, mirror):
    a, db_a, stick = synced_kit_and_stick(tmp_path, mirror)
    export_from(a, db_a, stick)
    b, db_b = offline_kit(tmp_path, mirror)  # subscribes to primary-en, no sync_source
    report = stick_import.import_folder(b, db_b, stick)
    assert report.ok and report.channels == ("primary-en",) and report.result.added == 2
    assert sha(b.content_dir / "water_en.zim") == sha(mirror.folder() / "water_en.zim")
    assert not (b.data_dir / "sync" / "staging").exists()
    run = sync_service.Engine(b, db_b, peers={}).runs.recent()[0]
    assert run["outcome"] == "ok" and run["bytes_received"] == 0 and "USB stick" in run["detail"]
    again = stick_import.import_folder(b, db_b, stick)  # same stick again: same sequence, same bytes: nothing to do
    assert again.ok and again.plan.steps == ()


def test_export_only_the_books_the_kit_has_and_import_skips_the_missing(tmp_path, mirror):
    mirror.book("water_en")
    mirror.book("moon_en", title="Moon")
    mirror.publish()
    a, db_a = online_kit(tmp_path, mirror, sync_packages="water_en")
    sync_service.Engine(a, db_a, peers={}).run()
    stick = tmp_path / "stick"
    stick.mkdir()
    export_from(a, db_a, stick)
    assert sorted(p.name for p in (stick / "tpkit" / "primary-en").iterdir()) == [
        INDEX_NAME,
        SIGNATURE_NAME,
        "water_en.zim",
    ]
    b, db_b = offline_kit(tmp_path, mirror)
    report = stick_import.import_folder(b, db_b, stick)
    assert report.ok and report.result.added == 1
    assert any("moon_en" in note and "not on the stick" in note for note in report.plan.notes)


def test_export_refuses_a_stick_without_space_and_says_how_much(tmp_path, mirror):
    a, db_a, _ = synced_kit_and_stick(tmp_path, mirror)
    small = tmp_path / "small-stick"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs as a full stick here: {mounted.stderr.decode().strip()}")
    try:
        with pytest.raises(StickError) as caught:
            export_from(a, db_a, small)
        assert caught.value.code == "stick.no_space" and "MB more" in caught.value.message and caught.value.fix
        assert list(small.iterdir()) == []  # refused up front: nothing written
    finally:
        subprocess.run(["umount", str(small)], check=True)


def test_export_never_writes_through_a_link_out_of_the_stick(tmp_path, mirror):
    a, db_a, stick = synced_kit_and_stick(tmp_path, mirror)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (stick / "tpkit").symlink_to(elsewhere)
    with pytest.raises(StickError) as caught:
        export_from(a, db_a, stick)
    assert caught.value.code == "stick.not_found"
    assert list(elsewhere.iterdir()) == []


# --- importing: bad input leaves the library as it was ------------------------------------------


def stick_from_mirror(tmp_path, mirror) -> Path:
    """A stick whose tpkit/ folder is a copy of the county's channel folders (what `tpkit export` writes)."""
    stick = tmp_path / "stick"
    stick.mkdir(parents=True)
    shutil.copytree(mirror.root, stick / "tpkit")
    return stick


def imported_kit(tmp_path, mirror):
    """Kit B with water_en v1 imported from a stick; returns settings, db and the v1 digest."""
    mirror.book("water_en")
    mirror.publish()
    b, db_b = offline_kit(tmp_path, mirror)
    first = stick_from_mirror(tmp_path / "first", mirror)
    assert stick_import.import_folder(b, db_b, first).ok
    return b, db_b, sha(b.content_dir / "water_en.zim")


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_import_tampered_or_truncated_package_is_refused_library_intact(tmp_path, mirror, damage):
    b, db_b, before = imported_kit(tmp_path, mirror)
    mirror.book("water_en", body="<p>v2</p>")
    mirror.publish()
    stick = stick_from_mirror(tmp_path / "second", mirror)
    book = stick / "tpkit" / "primary-en" / "water_en.zim"
    data = bytearray(book.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
    else:  # the stick was pulled out while the file was being copied onto it
        del data[len(data) // 3 :]
    book.write_bytes(bytes(data))
    report = stick_import.import_folder(b, db_b, stick)
    assert not report.ok and report.error.code == "channel.package_mismatch"
    assert sha(b.content_dir / "water_en.zim") == before


def test_import_unknown_key_is_refused(tmp_path, mirror):
    b, db_b, before = imported_kit(tmp_path, mirror)
    other = Mirror(tmp_path / "other-county", tmp_path / "other-keys")
    other.book("water_en", body="<p>from elsewhere</p>")
    other.publish()
    stick = stick_from_mirror(tmp_path / "foreign", other)
    report = stick_import.import_folder(b, db_b, stick)
    assert report.error.code == "channel.unknown_key" and "trusted_channel_keys" in report.error.fix
    assert sha(b.content_dir / "water_en.zim") == before


def test_import_replayed_index_is_refused(tmp_path, mirror):
    mirror.book("water_en")
    mirror.publish()
    old_stick = stick_from_mirror(tmp_path / "old", mirror)
    mirror.book("water_en", body="<p>v2</p>")
    mirror.publish()
    b, db_b = offline_kit(tmp_path, mirror)
    assert stick_import.import_folder(b, db_b, stick_from_mirror(tmp_path / "new", mirror)).ok
    current = sha(b.content_dir / "water_en.zim")
    report = stick_import.import_folder(b, db_b, old_stick)  # an older stick: sequence 1 after 2
    assert report.error.code == "channel.replayed"
    assert sha(b.content_dir / "water_en.zim") == current


def test_import_path_escape_in_the_index_is_refused(tmp_path, mirror):
    b, db_b, before = imported_kit(tmp_path, mirror)
    mirror.resign(lambda data: data["packages"][0].update(file="../../outside.zim") or data.update(sequence=5))
    report = stick_import.import_folder(b, db_b, stick_from_mirror(tmp_path / "escape", mirror))
    assert report.error.code == "channel.path_escape"
    assert sha(b.content_dir / "water_en.zim") == before


# --- loose .zim files: waiting for approval, then the local channel ---------------------------------


def test_import_loose_zim_waits_unserved_then_enabled_joins_the_local_channel(tmp_path, mirror):
    b, db_b = offline_kit(tmp_path, mirror, sync_channels="")
    stick = tmp_path / "stick"
    make_book(stick, "Our Village", title="Our village")
    report = stick_import.import_folder(b, db_b, stick, source="/dev/sdz1")
    assert report.ok and [(r.outcome, r.book_id) for r in report.local] == [("waiting", "our_village")]
    assert list(b.content_dir.iterdir()) == []  # not served
    engine = sync_service.Engine(b, db_b, peers={})
    assert engine.installed.get("our_village") is None
    assert "1 waiting for approval" in engine.runs.recent()[0]["detail"]
    (waiting,) = approval.waiting_books(db_b, engine.paths)
    assert (waiting.title, waiting.source, waiting.original_name) == ("Our village", "/dev/sdz1", "Our Village.zim")
    again = stick_import.import_folder(b, db_b, stick)
    assert [(r.outcome, r.message) for r in again.local] == [("unchanged", "already waiting for approval")]
    approval.enable(b, db_b, CONSOLE, waiting.id)
    row = engine.installed.get("our_village")
    assert row.channel == LOCAL_CHANNEL and row.sha256 == sha(stick / "Our Village.zim")
    assert sync_service.local_books(db_b) == {"our_village.zim"}
    assert approval.waiting_books(db_b, engine.paths) == [] and list(engine.paths.books_waiting_dir.iterdir()) == []
    assert [r.outcome for r in stick_import.import_folder(b, db_b, stick).local] == ["unchanged"]


def test_import_loose_zim_never_shadows_a_signed_book_of_the_same_name(tmp_path, mirror):
    b, db_b, signed = imported_kit(tmp_path, mirror)
    stick = tmp_path / "teacher"
    make_book(stick, "water_en", title="My own water book")  # Name metadata water_en, like the county's
    report = stick_import.import_folder(b, db_b, stick)
    (book,) = report.local
    assert (book.outcome, book.book_id) == ("waiting", "water_en_local")
    assert "signed book water_en (primary-en) keeps its name" in book.message
    (waiting,) = approval.waiting_books(db_b, sync_service.Engine(b, db_b, peers={}).paths)
    assert waiting.replaces is None and not waiting.needs_admin
    approval.enable(b, db_b, CONSOLE, waiting.id)
    assert sha(b.content_dir / "water_en.zim") == signed
    assert (b.content_dir / "water_en_local.zim").is_file()


def test_import_loose_copy_of_a_served_book_is_not_served_twice(tmp_path, mirror):
    """Issue 16: a teacher's stick with a copy of a book the kit serves (signed, or placed by hand) waited for
    approval and, enabled, was served a second time as <id>_local: listed twice on the home page."""
    b, db_b, signed = imported_kit(tmp_path, mirror)
    stick = tmp_path / "teacher"
    stick.mkdir()
    shutil.copyfile(b.content_dir / "water_en.zim", stick / "Water (copy).zim")
    placed = make_book(b.content_dir, "maps", title="Maps")  # placed by hand: no installed row
    shutil.copyfile(placed, stick / "maps.zim")
    report = stick_import.import_folder(b, db_b, stick)
    assert report.ok and sorted((r.file, r.outcome, r.book_id, r.message) for r in report.local) == [
        ("Water (copy).zim", "unchanged", "water_en", "already in the library"),
        ("maps.zim", "unchanged", "maps", "already in the library"),
    ]
    assert approval.waiting_books(db_b, sync_service.Engine(b, db_b, peers={}).paths) == []
    assert sorted(p.name for p in b.content_dir.iterdir()) == ["maps.zim", "water_en.zim"]
    assert sha(b.content_dir / "water_en.zim") == signed


def test_import_local_books_survive_a_sync_and_bad_files_are_refused(tmp_path, mirror):
    b, db_b, _ = imported_kit(tmp_path, mirror)
    stick = tmp_path / "teacher"
    make_book(stick, "maps", title="Maps")
    good = make_book(tmp_path / "src", "rivers", title="Rivers")
    (stick / "notes.zim").write_bytes(b"<html>not a book</html>" * 50)
    data = good.read_bytes()
    (stick / "rivers.zim").write_bytes(data[: len(data) // 2])  # cut short: the stick was pulled mid-copy
    outside = tmp_path / "outside.zim"
    outside.write_bytes(data)
    (stick / "link.zim").symlink_to(outside)
    report = stick_import.import_folder(b, db_b, stick)
    outcomes = {r.file: r.outcome for r in report.local}
    assert outcomes == {"maps.zim": "waiting", "notes.zim": "refused", "rivers.zim": "refused", "link.zim": "refused"}
    assert not report.ok and all("libzim" in r.message for r in report.local if r.file in ("notes.zim", "rivers.zim"))
    assert sorted(p.name for p in b.content_dir.iterdir()) == ["water_en.zim"]
    assert not [p for p in (b.data_dir / "sync" / "staging").rglob("*") if p.is_file()]
    assert [p.name for p in (b.data_dir / "books-waiting").iterdir()] == [f"{sha(stick / 'maps.zim')}.zim"]
    (waiting,) = approval.waiting_books(db_b, sync_service.Engine(b, db_b, peers={}).paths)
    approval.enable(b, db_b, CONSOLE, waiting.id)
    # A later import from the county's channels keeps the teacher's book (the local channel is never removed).
    mirror.book("water_en", body="<p>v2</p>")
    mirror.publish()
    assert stick_import.import_folder(b, db_b, stick_from_mirror(tmp_path / "v2", mirror)).ok
    assert (b.content_dir / "maps.zim").is_file()


def test_import_takes_only_subscribed_channels_and_names_the_others(tmp_path, mirror):
    mirror.book("water_en")
    mirror.publish()
    mirror.book("map_en", channel_name="county-local", title="Maps")
    mirror.publish("county-local")
    b, db_b = offline_kit(tmp_path, mirror)  # subscribes to primary-en only
    report = stick_import.import_folder(b, db_b, stick_from_mirror(tmp_path, mirror))
    assert report.ok and report.channels == ("primary-en",) and report.skipped_channels == ("county-local",)
    assert sorted(p.name for p in b.content_dir.iterdir()) == ["water_en.zim"]


def test_import_a_stick_with_nothing_to_import_says_so(tmp_path, mirror):
    b, db_b = offline_kit(tmp_path, mirror)
    stick = tmp_path / "stick"
    (stick / "photos").mkdir(parents=True)
    with pytest.raises(StickError) as caught:
        stick_import.import_folder(b, db_b, stick)
    assert caught.value.code == "stick.empty" and ".zim" in caught.value.fix
