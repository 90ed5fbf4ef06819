"""`tpkit sync` updating books by ZIM patch through a real rsync daemon on loopback (docs/sync.md, "Updates by patch")."""

from __future__ import annotations

import os
import shutil

import pytest

from appliance.content import zimdelta
from appliance.content.zimfile import ZimFile
from appliance.errors import TpkitError
from appliance.files import file_digest
from appliance.services.sync import engine as sync_service
from appliance.services.sync.channel import read_index
from tests.conftest import make_book
from tests.mirror import Mirror, kit_settings, open_database, run_while_serving, staged_files

# 150 articles no release edits: what a patch leaves out and a full package carries again. (Random hex text, so the
# book is not tiny once compressed; rsync with the old book as basis reuses part of it: not what is tested here.)
ARTICLES = {f"a{n}": (f"Article {n}", f"<p>{os.urandom(1200).hex()}</p>") for n in range(150)}
SERVE_TIMEOUT_S = 20


class Publisher:
    """The county's side: each release rewrites water_en and publishes it with patches from the last release."""

    def __init__(self, mirror: Mirror, previous_dir) -> None:
        self.mirror, self.previous_dir = mirror, previous_dir

    def release(self, body: str = "", **options):
        articles = {
            **ARTICLES,
            "index": ("Welcome", "<p>Start here.</p>"),
            "water": ("Water cycle", "<p>Rivers carry rain back to the sea.</p>" + body),
        }
        path = make_book(self.mirror.folder(), "water_en", articles=articles)
        index = self.mirror.publish(previous_dir=self.previous_dir if self.previous_dir.exists() else None, **options)
        self.previous_dir.mkdir(exist_ok=True)
        shutil.copy2(path, self.previous_dir / path.name)
        return index

    def packages(self, kind: str) -> list[dict]:
        return [p for p in read_index(self.mirror.folder()).packages if p.get("kind") == kind]

    def full(self) -> dict:
        (package,) = self.packages("full")
        return package


@pytest.fixture
def county(tmp_path, mirror):
    return Publisher(mirror, tmp_path / "published-before")


def engine_for(settings, **options):
    return sync_service.Engine(settings, open_database(settings), **options)


def book_text(settings, path="water"):
    return bytes(ZimFile(settings.content_dir / "water_en.zim").lookup(path).data).decode()


def test_sync_updates_a_book_by_patch_and_the_library_serves_the_edit(tmp_path, mirror, daemon, county):
    county.release()
    settings = kit_settings(tmp_path, daemon.url, mirror, library_scan_interval_s=0.1)
    engine = engine_for(settings)
    engine.run()
    county.release("<p>Now with clouds.</p>")
    full = county.full()
    plan, check = engine.preview()
    (step,) = plan.steps
    assert step.by_patch and len(step.patches) == 1
    assert step.size_bytes == step.patches[0]["size_bytes"] < full["size_bytes"] // 5
    # The patch, and the rebuild while it runs (the book and its full-text index twice: zimdelta.rebuild_disk_bytes).
    assert check.needed_bytes == step.size_bytes + 2 * full["size_bytes"]
    result = run_while_serving(engine, "/content/water_en/water", "clouds", "Now with clouds.", SERVE_TIMEOUT_S)
    assert (result.outcome, result.updated) == ("ok", 1)
    history = engine.runs.recent(1)[0]
    assert 0 < history["bytes_received"] < full["size_bytes"] // 5  # the wire carried the patch, not the book
    assert "water_en by 1 patch(es)" in history["detail"]
    book = settings.content_dir / "water_en.zim"
    assert zimdelta.book_digest(book) == full["result_digest"] and file_digest(book)[1] != full["sha256"]
    row = engine.installed.get("water_en")
    assert (row.digest, row.sha256, row.size_bytes) == (full["result_digest"], *file_digest(book)[::-1])
    assert staged_files(settings) == []
    assert engine.preview()[0].steps == ()  # the rebuilt book is current though its bytes are its own
    engine.rollback("water_en")  # the previous version was kept, as for a full package
    assert "clouds" not in book_text(settings)


def test_sync_applies_a_chain_and_later_patches_on_its_own_rebuilt_book(tmp_path, mirror, daemon, county):
    county.release()
    settings = kit_settings(tmp_path, daemon.url, mirror)
    engine = engine_for(settings)
    engine.run()
    county.release("<p>v2 clouds</p>")
    county.release("<p>v3 clouds and rain</p>")
    (step,) = engine.preview()[0].steps
    assert step.by_patch and len(step.patches) == 2
    engine.run()
    assert "v3 clouds and rain" in book_text(settings)
    county.release("<p>v4 snow</p>")  # its patch names v3 as base: the kit's v3 is a rebuild, matched by its entries
    (step,) = engine.preview()[0].steps
    assert step.by_patch and len(step.patches) == 1
    stage = settings.data_dir / "sync" / "staging" / "primary-en"  # what a rebuild killed by a power cut leaves
    (stage / "..water_en.rebuilt.zim.rebuild.tmp_fulltext.idx.tmp").mkdir(parents=True)
    (stage / "..water_en.rebuilt.zim.rebuild.tmp_fulltext.idx.tmp" / "postlist.glass").write_bytes(b"x" * 100)
    (stage / "..water_en.rebuilt.zim.rebuild.tmp").write_bytes(b"half a book")
    (stage / "water_en.rebuilt.zim").write_bytes(b"rebuilt, not yet switched")
    _, result = engine.run()
    assert result.outcome == "ok" and "v4 snow" in book_text(settings)
    assert engine.installed.get("water_en").digest == county.full()["result_digest"]
    assert staged_files(settings) == [] and not stage.exists()
    assert engine.preview()[0].steps == ()


def test_sync_chain_longer_than_the_setting_fetches_the_full_book(tmp_path, mirror, daemon, county):
    county.release()
    settings = kit_settings(tmp_path, daemon.url, mirror, sync_patch_chain_max=1)
    engine = engine_for(settings)
    engine.run()
    county.release("<p>v2</p>")
    county.release("<p>v3</p>")
    (step,) = engine.preview()[0].steps
    assert not step.by_patch and "more than sync_patch_chain_max = 1" in step.why_full
    _, result = engine.run()
    full = county.full()
    assert file_digest(settings.content_dir / "water_en.zim")[1] == full["sha256"]
    assert result.outcome == "ok"
    assert "as the full package: 2 patches in a row" in engine.runs.recent(1)[0]["detail"]


@pytest.mark.parametrize("signed", [False, True], ids=["patch-changed-on-the-mirror", "broken-patch-signed"])
def test_sync_bad_patch_is_refused_and_the_same_run_fetches_the_full_book(tmp_path, mirror, daemon, county, signed):
    county.release()
    settings = kit_settings(tmp_path, daemon.url, mirror)
    engine = engine_for(settings)
    engine.run()
    county.release("<p>clouds</p>")
    (patch,) = county.packages("patch")
    patch_file = mirror.folder() / patch["file"]
    data = bytearray(patch_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    patch_file.write_bytes(bytes(data))
    if signed:  # the county signed a broken file: size and sha256 match, libzim's checksum does not
        size, sha256 = file_digest(patch_file)
        mirror.resign(
            lambda d: next(p for p in d["packages"] if p.get("kind") == "patch").update(size_bytes=size, sha256=sha256)
        )
    events = []
    engine.on_event = events.append
    engine.staging.on_event = events.append
    _, result = engine.run()  # issue 21: the patch fails, the same run falls back to the full book
    assert result.outcome == "ok" and "clouds" in book_text(settings)
    assert file_digest(settings.content_dir / "water_en.zim")[1] == county.full()["sha256"]  # the publisher's file
    assert [e.kind for e in events if e.kind in ("whole", "activate")] == ["whole", "activate"]
    code = "patch_damaged" if signed else "package_mismatch"
    detail = engine.runs.recent(1)[0]["detail"]
    assert f"water_en as the full package: the update by patch failed (channel.{code})" in detail, detail
    assert not [p for p in staged_files(settings) if p.suffix == zimdelta.PATCH_SUFFIX or "rebuilt" in p.name]


def test_sync_bad_patch_and_bad_full_book_keep_the_old_book_and_the_next_run_goes_whole(
    tmp_path, mirror, daemon, county
):
    county.release()
    settings = kit_settings(tmp_path, daemon.url, mirror)
    engine = engine_for(settings)
    engine.run()
    before = file_digest(settings.content_dir / "water_en.zim")[1]
    county.release("<p>clouds</p>")
    (patch,) = county.packages("patch")
    full = mirror.folder() / county.full()["file"]
    good_full = full.read_bytes()
    for path in (mirror.folder() / patch["file"], full):
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    with pytest.raises(TpkitError) as caught:
        engine.run()
    assert caught.value.code == "channel.package_mismatch"  # the full book's fault, after the patch's
    assert file_digest(settings.content_dir / "water_en.zim")[1] == before  # still the old book
    assert ZimFile(settings.content_dir / "water_en.zim").verify_checksum() is True
    run = engine.runs.recent(1)[0]
    assert run["outcome"] == "failed" and run["reason"] == "channel.package_mismatch"
    assert "water_en" in run["detail"] and "not updated: channel.package_mismatch" in run["detail"]
    (step,) = engine.preview()[0].steps  # the failed patch is remembered: not tried first again
    assert not step.by_patch and step.why_full == "the update by patch failed on the last run"
    full.write_bytes(good_full)
    _, result = engine.run()
    assert result.outcome == "ok" and "clouds" in book_text(settings)
    assert staged_files(settings) == []
    assert "as the full package: the update by patch failed on the last run" in engine.runs.recent(1)[0]["detail"]


def test_sync_full_on_request_ignores_the_offered_patch(tmp_path, mirror, daemon, county):
    county.release()
    settings = kit_settings(tmp_path, daemon.url, mirror)
    engine_for(settings).run()
    county.release("<p>clouds</p>")
    engine = engine_for(settings, full_ids=frozenset({"water_en"}))
    (step,) = engine.preview()[0].steps
    assert not step.by_patch and step.why_full == "full package asked for (--full)"
    engine.run()
    full = county.full()
    assert file_digest(settings.content_dir / "water_en.zim")[1] == full["sha256"]
    assert engine.installed.get("water_en").digest == full["result_digest"]
