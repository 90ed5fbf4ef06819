"""Every road in when the channel publishes patches (issue 21, items 1–3): a stick or a peer kit that does not carry
the patch (a kit that got the book whole, or rebuilt it, keeps none) gives the update whole, saying which patch it
lacks; a failed patch falls back to the full book and never stops the books after
it; a book a kit updated by patch leaves it again (export, peer tree) and is verified on the other side by the entry
digest the county signed. Real libzim books, real rsync (local folders, a daemon, `tpkit mirror serve`)."""

from __future__ import annotations

import os
import shutil

import pytest

from appliance.content import zimdelta
from appliance.content.channel_index import INDEX_NAME
from appliance.errors import TpkitError
from appliance.files import file_digest
from appliance.services.sync import engine as sync_service, stick_export as export, stick_import
from appliance.services.sync.channel import read_index
from appliance.services.sync.sources.stick import StickSource
from tests.conftest import make_book
from tests.mirror import Mirror, kit_settings, open_database, staged_files
from tests.services.sync.test_peer_mirror import PeerKit

# Articles no release edits (random text, so a patch is much smaller than the book)
ARTICLES = {f"a{n}": (f"Article {n}", f"<p>{os.urandom(600).hex()}</p>") for n in range(60)}


def not_carried(road: str, patch: dict) -> str:
    """The plan's reason for a whole update from a road that lacks the patch (plan.Carried.missing_patch)."""
    return f"{road} does not carry the patch from {patch['base']['version']} to {patch['version']}"


class County:
    """The county: each release rewrites the books it names and publishes the channel with patches from the last."""

    def __init__(self, mirror: Mirror, previous_dir) -> None:
        self.mirror, self.previous_dir = mirror, previous_dir

    def release(self, **bodies: str) -> None:
        for name, body in bodies.items():
            articles = {**ARTICLES, "index": ("Welcome", "<p>Start here.</p>"), "water": ("Water", f"<p>{body}</p>")}
            make_book(self.mirror.folder(), name, articles=articles)
        self.mirror.publish(previous_dir=self.previous_dir if self.previous_dir.exists() else None)
        shutil.rmtree(self.previous_dir, ignore_errors=True)
        shutil.copytree(self.mirror.folder(), self.previous_dir, ignore=shutil.ignore_patterns("patches", "index*"))

    def package(self, package_id: str, kind: str = "full") -> dict:
        (found,) = [
            p for p in read_index(self.mirror.folder()).packages if p["id"] == package_id and p.get("kind") == kind
        ]
        return found


@pytest.fixture
def county(tmp_path, mirror):
    return County(mirror, tmp_path / "published-before")


def kit(tmp_path, name, source, mirror, **overrides):
    settings = kit_settings(tmp_path / name, source, mirror, **overrides)
    return settings, open_database(settings)


def sync(settings, db, **options):
    return sync_service.Engine(settings, db, peers=options.pop("peers", {}), **options).run()


def export_from(settings, db, stick):
    engine = sync_service.Engine(settings, db, peers={})
    kept, skipped = engine.kept_channels()
    stick.mkdir(exist_ok=True)
    return export.export_to_stick(engine.paths, stick, kept, skipped)


def text(settings, book="water_en"):
    from appliance.content.zimfile import ZimFile

    return bytes(ZimFile(settings.content_dir / f"{book}.zim").lookup("water").data).decode()


def sha(path):
    return file_digest(path)[1]


def last_run(db):
    return sync_service.recent_runs(db, 1)[0]


def test_stick_updates_a_book_whose_channel_publishes_patches_by_full_book(tmp_path, mirror, county):
    """The issue's reproduction: v1 → kit A syncs and exports → kit B imports; v2 published with --previous → a
    fresh kit C syncs and exports → kit B imports: the stick has no patches, so B takes the full book."""
    county.release(water_en="spring")
    a, db_a = kit(tmp_path, "a", str(mirror.root), mirror)
    sync(a, db_a)
    b, db_b = kit(tmp_path, "b", "", mirror)
    export_from(a, db_a, tmp_path / "stick1")
    assert stick_import.import_folder(b, db_b, tmp_path / "stick1").ok
    county.release(water_en="summer rain")
    assert county.package("water_en", "patch")  # the channel offers B's version a patch
    c, db_c = kit(tmp_path, "c", str(mirror.root), mirror)
    sync(c, db_c)
    assert export_from(c, db_c, tmp_path / "stick2").written == ("water_en",)
    stick_tree = StickSource(str(tmp_path / "stick2" / "tpkit"))
    preview = sync_service.Engine(b, db_b, source=stick_tree, channels=("primary-en",), peers={}).preview()[0]
    (step,) = preview.steps
    stick_why = not_carried("the stick", county.package("water_en", "patch"))
    assert step.action == "update" and not step.by_patch and step.why_full == stick_why
    for _ in range(2):  # on main this failed every time (rsync exit 23 on the patch the stick never had)
        report = stick_import.import_folder(b, db_b, tmp_path / "stick2")
        assert report.ok and report.error is None, report.error
    assert sha(b.content_dir / "water_en.zim") == county.package("water_en")["sha256"]
    assert "summer rain" in text(b)
    runs = sync_service.recent_runs(db_b, 2)
    assert f"water_en as the full package: {stick_why}" in runs[1]["detail"]
    assert runs[0]["updated"] == 0  # the second import found it unchanged


@pytest.fixture
def peer_kit(tmp_path, mirror, daemon):
    peer = PeerKit(tmp_path, mirror, daemon.url)
    yield peer
    peer.stop()


def test_peer_kit_serves_neighbours_of_a_channel_with_patches_whole(tmp_path, mirror, county, daemon, peer_kit):
    county.release(water_en="spring")
    b, db_b = kit(tmp_path, "b", daemon.url, mirror)
    sync(b, db_b)
    county.release(water_en="summer rain")
    peer_kit.sync()  # a fresh kit: the publisher's file, whole
    peer_kit.serve()
    peer_url = f"rsync://127.0.0.1:{peer_kit.settings.mirror_port}/tpkit"
    engine = sync_service.Engine(b, db_b, peers={"primary-en": [peer_url]})
    (step,) = engine.preview()[0].steps
    peer_why = not_carried(f"peer {peer_url}", county.package("water_en", "patch"))
    assert not step.by_patch and step.why_full == peer_why
    plan, result = engine.run()
    assert result.outcome == "ok" and "summer rain" in text(b)
    assert sha(b.content_dir / "water_en.zim") == county.package("water_en")["sha256"]
    assert engine.transfers is not None and engine.transfers.received["peer"] > 0
    assert result.bytes_received < county.package("water_en")["size_bytes"] // 2  # the book did not cross the uplink
    assert f"water_en as the full package: {peer_why}" in result.detail


def test_a_book_updated_by_patch_leaves_its_kit_by_stick_and_as_a_peer(tmp_path, mirror, county, daemon, peer_kit):
    county.release(water_en="spring")
    a, db_a = peer_kit.settings, peer_kit.db
    peer_kit.sync()
    b, db_b = kit(tmp_path, "b", daemon.url, mirror)
    sync(b, db_b)
    c, db_c = kit(tmp_path, "c", "", mirror)
    export_from(a, db_a, tmp_path / "stick1")
    assert stick_import.import_folder(c, db_c, tmp_path / "stick1").ok
    county.release(water_en="summer rain")
    peer_kit.sync()  # kit A updates by patch: its file is its own rebuild
    row = sync_service.Engine(a, db_a, peers={}).installed.get("water_en")
    published = county.package("water_en")
    assert row.sha256 != published["sha256"] and row.digest == published["result_digest"]

    # by stick: exported (on main: "0 book(s)", the old book left beside the new index), imported whole on kit C
    done = export_from(a, db_a, tmp_path / "stick1")
    assert done.written == ("water_en",) and not done.skipped
    on_stick = tmp_path / "stick1" / "tpkit" / "primary-en" / "water_en.zim"
    assert sha(on_stick) == row.sha256 and zimdelta.book_digest(on_stick) == published["result_digest"]
    report = stick_import.import_folder(c, db_c, tmp_path / "stick1")
    assert report.ok, report.error
    assert sha(c.content_dir / "water_en.zim") == row.sha256 and "summer rain" in text(c)
    imported = sync_service.Engine(c, db_c, peers={}).installed.get("water_en")
    assert imported.digest == published["result_digest"] and imported.sha256 == row.sha256
    assert "water_en as the full package" in last_run(db_c)["detail"]
    assert export_from(c, db_c, tmp_path / "stick3").written == ("water_en",)  # and on again from kit C

    # as a peer: kit A's tree serves its rebuild; kit B verifies it by the signed entry digest
    peer_kit.serve()
    served = a.data_dir / "mirror" / "primary-en" / "water_en.zim"
    assert sha(served) == row.sha256
    peer_url = f"rsync://127.0.0.1:{a.mirror_port}/tpkit"
    _, result = sync(b, db_b, peers={"primary-en": [peer_url]})
    assert result.outcome == "ok" and "summer rain" in text(b)
    assert sha(b.content_dir / "water_en.zim") == row.sha256
    assert "refused" not in result.detail and "from peer kits" in result.detail


def test_a_tampered_rebuild_on_a_stick_is_refused_by_its_entries(tmp_path, mirror, county):
    """A file that is not the publisher's is accepted only when its entries are the signed version's."""
    county.release(water_en="spring")
    a, db_a = kit(tmp_path, "a", str(mirror.root), mirror)
    sync(a, db_a)
    b, db_b = kit(tmp_path, "b", "", mirror)
    export_from(a, db_a, tmp_path / "stick")
    assert stick_import.import_folder(b, db_b, tmp_path / "stick").ok
    before = sha(b.content_dir / "water_en.zim")
    county.release(water_en="summer rain")
    sync(a, db_a)
    export_from(a, db_a, tmp_path / "stick")
    on_stick = tmp_path / "stick" / "tpkit" / "primary-en" / "water_en.zim"
    articles = {**ARTICLES, "index": ("Welcome", "<p>Start here.</p>"), "water": ("Water", "<p>summer rain!</p>")}
    make_book(tmp_path / "forged", "water_en", articles=articles)  # a whole, valid ZIM: one entry differs
    shutil.copy(tmp_path / "forged" / "water_en.zim", on_stick)
    report = stick_import.import_folder(b, db_b, tmp_path / "stick")
    assert report.error is not None and report.error.code == "channel.package_mismatch"
    assert "entries differ" in report.error.message
    assert sha(b.content_dir / "water_en.zim") == before


def test_export_never_leaves_a_new_index_beside_an_old_book(tmp_path, mirror, county):
    county.release(water_en="spring", moon_en="full moon")
    a, db_a = kit(tmp_path, "a", str(mirror.root), mirror)
    sync(a, db_a)
    stick = tmp_path / "stick"
    assert sorted(export_from(a, db_a, stick).written) == ["moon_en", "water_en"]
    county.release(water_en="summer rain", moon_en="new moon")
    for name in ("water_en.zim", "patches/water_en"):  # water_en's update cannot come: kit A keeps the old book
        target = mirror.folder() / name
        for path in [target] if target.is_file() else target.iterdir():
            data = bytearray(path.read_bytes())
            data[len(data) // 2] ^= 0xFF
            path.write_bytes(bytes(data))
    with pytest.raises(TpkitError):
        sync(a, db_a)
    assert "new moon" in text(a, "moon_en") and "spring" in text(a)  # moon_en came (after water_en failed)
    done = export_from(a, db_a, stick)
    assert done.written == ("moon_en",)
    (why,) = done.skipped
    assert why.startswith("primary-en: water_en 2026-01-02: this kit's copy is not the version the index names")
    folder = stick / "tpkit" / "primary-en"
    assert not (folder / "water_en.zim").exists()  # the old book is gone from beside the new index
    assert (folder / INDEX_NAME).read_bytes() == (mirror.folder() / INDEX_NAME).read_bytes()
    b, db_b = kit(tmp_path, "b", "", mirror)
    report = stick_import.import_folder(b, db_b, stick)
    assert report.ok and [n for n in report.plan.notes if "water_en" in n and "not on the stick" in n]
    assert "new moon" in text(b, "moon_en") and not (b.content_dir / "water_en.zim").exists()


def test_a_failing_patch_never_stops_the_books_after_it(tmp_path, mirror, county):
    """water_en's patch and full book are both bad; zz_en, later in the plan, still updates by patch."""
    county.release(water_en="spring", zz_en="snow")
    a, db_a = kit(tmp_path, "a", str(mirror.root), mirror)
    sync(a, db_a)
    county.release(water_en="summer rain", zz_en="sleet")
    water_patch, zz_patch = county.package("water_en", "patch"), county.package("zz_en", "patch")
    for path in (mirror.folder() / water_patch["file"], mirror.folder() / "water_en.zim"):
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    engine = sync_service.Engine(a, db_a, peers={})
    assert [s.package_id for s in engine.preview()[0].steps if s.by_patch] == ["water_en", "zz_en"]
    with pytest.raises(TpkitError) as caught:
        engine.run()
    assert caught.value.code == "channel.package_mismatch"
    assert "1 book(s) were not updated; 1 other step(s) were done" in caught.value.message
    assert "sleet" in text(a, "zz_en") and "spring" in text(a)
    assert engine.installed.get("zz_en").digest == zz_patch["result_digest"]  # by patch
    run = last_run(db_a)
    assert run["outcome"] == "partial" and run["reason"] == "channel.package_mismatch" and run["updated"] == 1
    assert "water_en 2026-01-02 not updated: channel.package_mismatch" in run["detail"]
    assert "zz_en by 1 patch(es)" in run["detail"]
    assert engine.installed.get("water_en").patch_failed_digest == water_patch["result_digest"]
    assert staged_files(a)  # what failed stays staged for the next run (a cut download resumes)


def test_an_index_published_again_without_previous_keeps_an_unchanged_books_entry_digest(tmp_path, mirror, county):
    """A kit's rebuild stays recognised (nothing to fetch again, still exported) when the county republishes without
    --previous: the entry digest of a book whose file did not change is carried over from the previous index."""
    county.release(water_en="spring")
    a, db_a = kit(tmp_path, "a", str(mirror.root), mirror)
    sync(a, db_a)
    county.release(water_en="summer rain")
    sync(a, db_a)  # by patch: kit A's own rebuild
    signed = county.package("water_en")["result_digest"]
    mirror.publish()  # sequence 3, no --previous: the book's file is the same
    assert county.package("water_en")["result_digest"] == signed
    plan, result = sync(a, db_a)
    assert plan.steps == () and plan.unchanged == ("water_en",) and result.bytes_received < 20_000
    assert export_from(a, db_a, tmp_path / "stick").written == ("water_en",)
