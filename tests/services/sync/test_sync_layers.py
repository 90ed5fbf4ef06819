"""`tpkit sync` updating a large book by patch as layers over its file (issue 21, "apply ∝ edit"; docs/sync.md,
"Layers"): through a real rsync daemon on loopback, with TPKIT_SYNC_LAYER_MIN_BYTES = 0 so small test books take the
large books' road. No rebuild: the base file is never rewritten (same inode), the layers stack, a full book puts them
aside, rollback goes back one stack, an export writes the book whole for another kit."""

from __future__ import annotations

import dataclasses
import os
import shutil

import pytest

from appliance.content import zimdelta, zimlayers
from appliance.content.zimfile import ZimFile
from appliance.files import file_digest
from appliance.services.sync import activation, engine as sync_service, stick_export as export, stick_import
from appliance.services.sync.channel import read_index
from appliance.services.sync.plan import LAYER_DISK_FACTOR, LAYER_DISK_MARGIN, DiskCheck, Plan, Step, keep_layering
from tests.conftest import make_book
from tests.mirror import Mirror, kit_settings, open_database, run_while_serving, staged_files

ARTICLES = {f"a{n}": (f"Article {n}", f"<p>{os.urandom(800).hex()}</p>") for n in range(80)}
SERVE_TIMEOUT_S = 20


class County:
    """Each release rewrites water_en (its `water` article says `body`) and publishes it with patches."""

    def __init__(self, mirror: Mirror, previous_dir) -> None:
        self.mirror, self.previous_dir = mirror, previous_dir

    def release(self, body: str, **options):
        articles = {**ARTICLES, "index": ("Welcome", "<p>Start here.</p>"), "water": ("Water cycle", f"<p>{body}</p>")}
        path = make_book(self.mirror.folder(), "water_en", articles=articles)
        index = self.mirror.publish(previous_dir=self.previous_dir if self.previous_dir.exists() else None, **options)
        self.previous_dir.mkdir(exist_ok=True)
        shutil.copy2(path, self.previous_dir / path.name)
        return index

    def full(self) -> dict:
        (package,) = [p for p in read_index(self.mirror.folder()).packages if p.get("kind") == "full"]
        return package

    def patches(self) -> list[dict]:
        return [p for p in read_index(self.mirror.folder()).packages if p.get("kind") == "patch"]


@pytest.fixture
def county(tmp_path, mirror):
    return County(mirror, tmp_path / "published-before")


def layered_kit(tmp_path, daemon, mirror, name="kit", **overrides):
    settings = kit_settings(tmp_path / name, daemon.url, mirror, sync_layer_min_bytes=0, **overrides)
    return sync_service.Engine(settings, open_database(settings), peers={})


def layered_at_v2(tmp_path, daemon, mirror, county):
    """A kit that synced v1 ("v1 rain") whole and then v2 ("v2 clouds") by patch, as a layer."""
    county.release("v1 rain")
    engine = layered_kit(tmp_path, daemon, mirror)
    engine.run()
    county.release("v2 clouds")
    engine.run()
    return engine


def book_of(engine):
    return engine.paths.content_dir / "water_en.zim"


def served_text(engine, path="water") -> str:
    """What the library serves for the article: the book as the kit opens it (layers included)."""
    opened = zimlayers.open_book(book_of(engine))
    return bytes(opened.lookup(path).data).decode()


def layer_files(engine, suffix=".zimlayer") -> list[str]:
    folder = zimlayers.layers_dir(book_of(engine))
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(suffix)) if folder.is_dir() else []


def kept_patches(engine) -> list[str]:
    """The patches kept beside the layers (docs/sync.md, "Roads and patches")."""
    return layer_files(engine, zimlayers.KEPT_PATCH_SUFFIX)


def test_sync_by_patch_installs_a_layer_without_rebuilding_and_the_kit_serves_it(tmp_path, mirror, daemon, county):
    county.release("Rivers carry rain.")
    v1 = county.full()
    engine = layered_kit(tmp_path, daemon, mirror, library_scan_interval_s=0.1)
    engine.run()
    book = book_of(engine)
    inode, mtime_ns = book.stat().st_ino, book.stat().st_mtime_ns
    county.release("Rivers carry rain. Now with clouds.")
    v2 = county.full()
    plan, check = engine.preview()
    (step,) = plan.steps
    assert step.by_layer and len(step.patches) == 1 and not step.materialises
    # the patch and its layer, never twice the book (a rebuild would count 2 x the book: zimdelta.rebuild_disk_bytes)
    assert check.needed_bytes == step.size_bytes * LAYER_DISK_FACTOR + LAYER_DISK_MARGIN
    events = []
    engine.on_event = engine.staging.on_event = events.append
    result = run_while_serving(engine, "/content/water_en/water", "clouds", "Now with clouds.", SERVE_TIMEOUT_S)
    assert (result.outcome, result.updated) == ("ok", 1)
    assert "rebuild" not in [e.kind for e in events] and "layer" in [e.kind for e in events]
    # the base file was not rewritten: the same inode and bytes (v1's publisher file), one layer over it
    assert (book.stat().st_ino, book.stat().st_mtime_ns) == (inode, mtime_ns)
    assert file_digest(book)[1] == v1["sha256"]
    assert len(layer_files(engine)) == 1 and layer_files(engine)[0].endswith(".zimlayer")
    # the verified patch is kept beside its layer, under the name the layer implies: the signed index's bytes
    (patch,) = county.patches()
    assert kept_patches(engine) == [zimlayers.kept_patch_name(layer_files(engine)[0])] == [patch["file"].split("/")[-1]]
    kept = zimlayers.layers_dir(book) / kept_patches(engine)[0]
    assert file_digest(kept)[1] == patch["sha256"]
    row = engine.installed.get("water_en")
    assert (row.version, row.digest, row.layers) == (v2["version"], v2["result_digest"], 1)
    assert (row.sha256, row.size_bytes) == (v1["sha256"], book.stat().st_size)  # the base file's own
    assert staged_files(engine.settings) == []
    assert engine.preview()[0].steps == ()  # known by its digest: current
    back = engine.rollback("water_en")  # to v1: the plain file again, its layers gone
    assert (back.version, back.layers) == (v1["version"], 0) and "clouds" not in served_text(engine)
    assert not zimlayers.layers_dir(book).exists() and book.stat().st_ino == inode


def test_sync_stacks_layers_rolls_back_one_stack_and_a_full_book_puts_them_aside(tmp_path, mirror, daemon, county):
    engine = layered_at_v2(tmp_path, daemon, mirror, county)
    county.release("v3 snow")
    (step,) = engine.preview()[0].steps
    assert step.by_layer and step.layers == 1
    engine.run()
    assert "v3 snow" in served_text(engine) and len(layer_files(engine)) == 2
    assert engine.installed.get("water_en").layers == 2

    assert len(kept_patches(engine)) == 2
    back = engine.rollback("water_en")  # to v2's stack: one layer, the v3 layer file and its kept patch deleted
    assert back.layers == 1 and "v2 clouds" in served_text(engine) and len(layer_files(engine)) == 1
    assert kept_patches(engine) == [zimlayers.kept_patch_name(layer_files(engine)[0])]
    assert engine.preview()[0].notes and "held back" in engine.preview()[0].notes[0]

    county.release("v4 hail")  # a full book this time (--full): the layers go aside with the old file
    full_engine = sync_service.Engine(engine.settings, engine.db, peers={}, full_ids=frozenset({"water_en"}))
    full_engine.run()
    book = book_of(engine)
    assert file_digest(book)[1] == county.full()["sha256"] and "v4 hail" in served_text(engine)
    assert not zimlayers.layers_dir(book).exists() and engine.installed.get("water_en").layers == 0
    back = engine.rollback("water_en")  # the old file and its layer come back together: v2 again
    assert back.layers == 1 and "v2 clouds" in served_text(engine)
    assert zimlayers.read_stack(book) is not None


def test_sync_rebuilds_a_book_with_sync_layers_max_layers_into_one_file(tmp_path, mirror, daemon, county):
    county.release("v1 rain")
    engine = layered_kit(tmp_path, daemon, mirror, sync_layers_max=2)
    engine.run()
    for body in ("v2 clouds", "v3 snow"):
        county.release(body)
        engine.run()
    assert engine.installed.get("water_en").layers == 2
    county.release("v4 hail")
    (step,) = engine.preview()[0].steps
    assert step.materialises and not step.by_layer
    engine.run()
    book = book_of(engine)
    v4 = county.full()
    assert zimlayers.read_stack(book) is None and not zimlayers.layers_dir(book).exists()
    assert zimdelta.book_digest(book) == v4["result_digest"] and "v4 hail" in served_text(engine)
    row = engine.installed.get("water_en")
    assert (row.layers, row.digest, row.sha256) == (0, v4["result_digest"], file_digest(book)[1])
    county.release("v5 fog")  # and layering starts again over the new file
    (step,) = engine.preview()[0].steps
    assert step.by_layer and step.layers == 0


def test_keep_layering_when_the_disk_cannot_hold_the_rebuild():
    package = {
        "id": "water_en",
        "version": "v9",
        "size_bytes": 500 << 20,
        "sha256": "0" * 64,
        "result_digest": "1" * 64,
    }
    patch = {"size_bytes": 1 << 20}
    step = Step("update", "water_en", "primary-en", 1 << 20, "v9", "v8", package, (patch,), "", "rebuild", 8)
    plan = Plan((step,), (), ())
    assert step.materialises and step.disk_bytes > 1000 << 20
    short = DiskCheck(free_bytes=200 << 20, needed_bytes=plan.disk_bytes, reserve_bytes=10 << 20)
    kept = keep_layering(plan, short)
    (again,) = kept.steps
    assert again.by_layer and again.disk_bytes < 10 << 20
    assert "one more layer (it has 8)" in kept.notes[0]
    roomy = DiskCheck(free_bytes=4000 << 20, needed_bytes=plan.disk_bytes, reserve_bytes=10 << 20)
    assert keep_layering(plan, roomy) is plan


def test_sync_a_tampered_patch_installs_no_layer_and_the_run_takes_the_full_book(tmp_path, mirror, daemon, county):
    county.release("v1 rain")
    engine = layered_kit(tmp_path, daemon, mirror)
    engine.run()
    county.release("v2 clouds")
    (patch,) = county.patches()
    patch_file = mirror.folder() / patch["file"]
    data = bytearray(patch_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    patch_file.write_bytes(bytes(data))
    events = []
    engine.on_event = engine.staging.on_event = events.append
    _, result = engine.run()
    assert [e.kind for e in events if e.kind in ("layer", "whole", "activate")] == ["whole", "activate"]
    assert result.outcome == "ok" and file_digest(book_of(engine))[1] == county.full()["sha256"]
    assert layer_files(engine) == [] and engine.installed.get("water_en").layers == 0
    assert staged_files(engine.settings) == []
    detail = engine.runs.recent(1)[0]["detail"]
    assert "the update by patch failed (channel.package_mismatch)" in detail


def test_export_writes_a_layered_book_whole_and_another_kit_imports_it(tmp_path, mirror, daemon, county):
    engine = layered_at_v2(tmp_path, daemon, mirror, county)
    v2 = county.full()
    kept, skipped = engine.kept_channels()
    assert kept[0].layered == {"water_en"} and not skipped
    stick = tmp_path / "stick"
    stick.mkdir()
    done = export.export_to_stick(engine.paths, stick, kept, skipped)
    assert done.written == ("water_en",)
    on_stick = stick / "tpkit" / "primary-en" / "water_en.zim"
    assert zimdelta.book_digest(on_stick) == v2["result_digest"]
    assert not [p for p in on_stick.parent.iterdir() if p.name.startswith(".")]  # no temporary left
    other_settings = kit_settings(tmp_path / "other", "", mirror)
    other_db = open_database(other_settings)
    report = stick_import.import_folder(other_settings, other_db, stick)
    assert report.ok, report.error
    other = ZimFile(other_settings.content_dir / "water_en.zim")
    assert "v2 clouds" in bytes(other.lookup("water").data).decode()
    row = sync_service.Engine(other_settings, other_db, peers={}).installed.get("water_en")
    assert row.digest == v2["result_digest"] and row.layers == 0

    # the peer tree leaves it out, saying why (it would serve the older file)
    tree = export.refresh_mirror_tree(engine.paths, kept)
    assert tree == 0 and not (engine.paths.mirror_dir / "primary-en" / "water_en.zim").exists()


def test_sync_removing_a_layered_book_takes_its_layers_too(tmp_path, mirror, daemon, county):
    engine = layered_at_v2(tmp_path, daemon, mirror, county)
    assert layer_files(engine)
    (mirror.folder() / "water_en.zim").unlink()
    shutil.rmtree(mirror.folder() / "patches")
    mirror.publish()
    _, result = engine.run()
    assert result.removed == 1 and not book_of(engine).exists()
    assert not zimlayers.layers_dir(book_of(engine)).exists()


def test_recover_settles_a_cut_stack_switch_from_the_stack_alone(tmp_path, mirror, daemon, county):
    county.release("v1 rain")
    engine = layered_kit(tmp_path, daemon, mirror)
    engine.run()
    v1_row = engine.installed.get("water_en")
    county.release("v2 clouds")
    engine.run()
    v2_row = engine.installed.get("water_en")
    book = book_of(engine)
    pending = dict(pending_action="layer", pending_version=v2_row.version, pending_digest=v2_row.digest)
    # cut after the stack's rename, before the row's commit: the stack names the pending digest → committed
    engine.installed.put(dataclasses.replace(v1_row, **pending))
    activation.recover(engine.paths, engine.installed)
    row = engine.installed.get("water_en")
    assert (row.version, row.digest, row.layers, row.pending_action) == (v2_row.version, v2_row.digest, 1, None)
    # cut before the stack's rename: the layer file is there, no stack names it → the old version stays, the file goes
    stray = zimlayers.layers_dir(book) / "water_en_0123456789abcdef.zimlayer"
    shutil.copy(zimlayers.layers_dir(book) / layer_files(engine)[0], stray)
    engine.installed.put(
        dataclasses.replace(v2_row, pending_action="layer", pending_version="v3", pending_digest="f" * 64)
    )
    activation.recover(engine.paths, engine.installed)
    activation.collect_layers(engine.paths, engine.installed)
    row = engine.installed.get("water_en")
    assert (row.version, row.layers, row.pending_action) == (v2_row.version, 1, None) and not stray.exists()
    # a rollback to the plain file cut after the stack was removed: no stack where the row had layers → committed
    engine.installed.put(
        dataclasses.replace(
            v2_row, pending_action="layer", pending_version=v1_row.version, pending_digest=v1_row.digest
        )
    )
    zimlayers.remove_layers(book)
    activation.recover(engine.paths, engine.installed)
    row = engine.installed.get("water_en")
    assert (row.version, row.digest, row.layers) == (v1_row.version, v1_row.digest, 0)
    assert "v1 rain" in served_text(engine)


def test_sync_puts_no_layer_over_a_book_replaced_by_hand(tmp_path, mirror, daemon, county):
    engine = layered_at_v2(tmp_path, daemon, mirror, county)
    book = book_of(engine)
    make_book(tmp_path / "by-hand", "water_en", articles={"water": ("Water", "<p>a teacher's own copy</p>")})
    os.replace(tmp_path / "by-hand" / "water_en.zim", book)  # the stack is stale now: the library serves the file
    county.release("v3 snow")
    _, result = engine.run()  # no layer over the wrong base: the full book instead
    assert result.outcome == "ok" and file_digest(book)[1] == county.full()["sha256"]
    assert "v3 snow" in served_text(engine) and engine.installed.get("water_en").layers == 0
    # recovery saw the stack no longer applies and recorded the teacher's file (activation._lost_layers): no patch
    # leads from it, so the full book straight away, without fetching a patch first
    assert "no chain of patches from the installed version" in engine.runs.recent(1)[0]["detail"]


def test_sync_a_layered_book_whose_file_was_touched_is_updated_again(tmp_path, mirror, daemon, county):
    """The file's mtime changed (a copy without its times, `touch`): its stack no longer applies, the library serves
    the file alone (v1), and the next run, with nothing new published, puts v2 back as a layer instead of believing
    the row."""
    engine = layered_at_v2(tmp_path, daemon, mirror, county)
    book = book_of(engine)
    assert "v2 clouds" in served_text(engine)
    stat = book.stat()
    os.utime(book, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert zimlayers.read_stack(book) is None and "v1 rain" in served_text(engine)
    _, result = engine.run()
    assert (result.outcome, result.updated) == ("ok", 1), result
    assert "v2 clouds" in served_text(engine)
    row = engine.installed.get("water_en")
    (patch,) = county.patches()
    assert (row.layers, row.digest, row.version) == (1, patch["result_digest"], county.full()["version"])
    assert book.stat().st_ino == stat.st_ino  # by patch again, over the same file: not the full book
