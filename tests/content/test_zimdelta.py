"""ZIM deltas on real libzim files: the diff, patches, and rebuilding a book that equals the publisher's entry for entry."""

from __future__ import annotations

import hashlib
import json
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.content import zimdelta
from appliance.content.icons import badge
from appliance.content.zimfile import Content, Redirect, ZimFile
from appliance.content.zimwriter import Entry, write_zim
from appliance.errors import ChannelError, EntryNotFoundError
from tests.conftest import article

V1_ARTICLES = {
    "index": ("Welcome", "<p>Start here. <a href='water'>Water</a></p>"),
    "water": ("Water cycle", "<p>Evaporation and condensation move water.</p>" * 20),
    "moon": ("The Moon", "<p>The Moon causes tides and glimmerfrost nights.</p>"),
    "rock": ("Rocks", "<p>Granite and basalt.</p>"),
}
V1_REDIRECTS = [("old_water", "Water (old)", "water"), ("luna", "Luna", "moon"), ("stone", "Stone", "rock")]


def _book(
    folder: Path,
    *,
    articles: dict,
    redirects: list,
    title: str = "Nature",
    date: str = "2026-01-02",
    icon=(10, 20, 30),
    extra_metadata: dict | None = None,
    name: str = "nature_en",
) -> Path:
    entries = [Entry(path, t, "text/html", article(t, body), front=True) for path, (t, body) in articles.items()]
    entries.append(Entry("img/dot.png", "dot", "image/png", badge(16, (0, 0, 0), (255, 255, 255))))
    metadata = {"Title": title, "Language": "eng", "Name": name, "Date": date, **(extra_metadata or {})}
    folder.mkdir(parents=True, exist_ok=True)
    return write_zim(
        folder / f"{name}.zim",
        metadata=metadata,
        main_path="index",
        entries=entries,
        illustration_png=badge(48, icon, (200, 100, 50)),
        redirects=redirects,
    )


def _v2_articles() -> dict:
    articles = {
        **V1_ARTICLES,
        "sun": ("The Sun", "<p>The Sun is a quillofray star.</p>"),
        "water": ("Water cycle", "<p>Rain, rivers and the sea.</p>" * 20),
        "rock": ("Rocks and stones", V1_ARTICLES["rock"][1]),
    }
    del articles["moon"]
    return articles


# v2: sun added; water's text and rock's title changed; moon removed; luna now leads to the sun, stone removed,
# star added; Title and the illustration changed; Publisher added, Creator removed.
V2_REDIRECTS = [("old_water", "Water (old)", "water"), ("luna", "Luna", "sun"), ("star", "Star", "sun")]


@pytest.fixture()
def books(tmp_path) -> tuple[Path, Path]:
    return two_versions(tmp_path)


def two_versions(tmp_path) -> tuple[Path, Path]:
    """v1 and v2 of the test book (above), written in `tmp_path`."""
    v1 = _book(tmp_path / "v1", articles=V1_ARTICLES, redirects=V1_REDIRECTS, extra_metadata={"Creator": "tests"})
    v2 = _book(
        tmp_path / "v2",
        articles=_v2_articles(),
        redirects=V2_REDIRECTS,
        title="Nature and sky",
        date="2026-02-01",
        icon=(90, 20, 30),
        extra_metadata={"Publisher": "county"},
    )
    return v1, v2


def _everything(path: Path) -> dict:
    """Every entry (bytes, MIME type, title or redirect target), metadata item and the main page of a book."""
    book, found = ZimFile(path), {}
    for entry in book.stored_entries():
        looked = book.lookup(entry.path)
        data = bytes(looked.data) if isinstance(looked, Content) else None
        found[entry.path] = (entry.title, entry.mimetype, entry.redirect_target, data)
    for name in book.metadata_names:
        item = book.metadata_item(name)
        found[f"M/{name}"] = (item.mimetype, bytes(item.data))
    found["main"] = book.main_path
    return found


def test_zimdelta_diff_finds_added_changed_removed_entries_redirects_and_metadata(books):
    v1, v2 = books
    diff = zimdelta.diff_books(v1, v2)
    assert diff.added == (("C", "star"), ("C", "sun"), ("M", "Publisher"))
    assert diff.changed == (
        ("C", "luna"),
        ("C", "rock"),
        ("C", "water"),
        ("M", "Date"),
        ("M", "Illustration_48x48@1"),
        ("M", "Title"),
    )
    assert diff.removed == (("C", "moon"), ("C", "stone"), ("M", "Creator"))
    assert zimdelta.diff_books(v1, v1) == zimdelta.BookDiff((), (), ())


def test_zimdelta_patch_holds_only_what_changed(books, tmp_path):
    v1, v2 = books
    manifest = zimdelta.write_patch(v1, v2, tmp_path / "p.zimpatch")
    patch = ZimFile(tmp_path / "p.zimpatch")
    assert sorted(e.path for e in patch.stored_entries()) == ["rock", "sun", "water"]
    assert sorted(patch.metadata_names) == sorted(
        ["Counter", "Date", "Illustration_48x48@1", "Publisher", "Title", zimdelta.MANIFEST_NAME]
    )
    assert manifest["removed_entries"] == ["moon", "stone"] and manifest["removed_metadata"] == ["Creator"]
    assert sorted(manifest["redirects"]) == [["luna", "Luna", "sun"], ["star", "Star", "sun"]]
    assert manifest["base"]["sha256"] == hashlib.sha256(v1.read_bytes()).hexdigest()
    assert manifest["result"]["digest"] == zimdelta.book_digest(v2) != zimdelta.book_digest(v1)
    assert not patch.has_fulltext_index and (tmp_path / "p.zimpatch").stat().st_size < v2.stat().st_size


def test_zimdelta_apply_rebuilds_the_new_book_entry_for_entry(books, tmp_path):
    v1, v2 = books
    zimdelta.write_patch(v1, v2, tmp_path / "p.zimpatch")
    v1_bytes = v1.read_bytes()
    (tmp_path / "out").mkdir()
    rebuilt = zimdelta.apply_patches(v1, [tmp_path / "p.zimpatch"], tmp_path / "out" / "nature_en.zim")
    assert rebuilt.digest == zimdelta.book_digest(v2)
    assert _everything(rebuilt.path) == _everything(v2)
    assert v1.read_bytes() == v1_bytes
    book = ZimFile(rebuilt.path)
    assert book.lookup("luna") == Redirect("sun")
    for removed in ("moon", "stone"):
        with pytest.raises(EntryNotFoundError):
            book.lookup(removed)
    assert book.search("quillofray", 0, 10) == (1, ["sun"])
    assert book.search("glimmerfrost", 0, 10)[0] == 0
    assert [path for path, _ in book.suggest("sun", 10)] == ["sun"]
    assert book.suggest("moon", 10) == []
    assert book.verify_checksum() is True


def test_zimdelta_apply_refuses_a_patch_for_another_book_or_version(books, tmp_path):
    v1, v2 = books
    zimdelta.write_patch(v1, v2, tmp_path / "p.zimpatch")
    other = _book(tmp_path / "other", articles=V1_ARTICLES, redirects=[], name="sky_en")
    for base, named in ((other, "'sky_en'"), (v2, "version '2026-01-02'")):
        before = base.read_bytes()
        with pytest.raises(ChannelError) as caught:
            zimdelta.apply_patches(base, [tmp_path / "p.zimpatch"], tmp_path / "out.zim")
        assert caught.value.code == "channel.patch_base_mismatch" and caught.value.fix
        assert named in caught.value.message
        assert base.read_bytes() == before and not (tmp_path / "out.zim").exists()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_zimdelta_tampered_patch_is_refused_and_leaves_nothing_behind(books, tmp_path):
    v1, v2 = books
    patch = tmp_path / "p.zimpatch"
    zimdelta.write_patch(v1, v2, patch)
    raw = bytearray(patch.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    patch.write_bytes(bytes(raw))
    before = v1.read_bytes()
    with pytest.raises(ChannelError) as caught:
        zimdelta.apply_patches(v1, [patch], tmp_path / "out.zim")
    assert caught.value.code == "channel.patch_damaged" and "fetch it again" in caught.value.fix
    assert not (tmp_path / "out.zim").exists() and _leftovers(tmp_path) == []
    assert v1.read_bytes() == before


def test_zimdelta_patch_whose_content_was_changed_and_checksummed_again_fails_the_result_digest(books, tmp_path):
    v1, v2 = books
    patch = tmp_path / "p.zimpatch"
    manifest = zimdelta.write_patch(v1, v2, patch)
    # A forger rewrites the patch with other article text and a valid libzim checksum: only the digest catches it.
    forged = {zimdelta.MANIFEST_NAME: json.dumps(manifest)}
    write_zim(
        patch,
        metadata=forged,
        main_path=None,
        index_language=None,
        entries=[Entry("sun", "The Sun", "text/html", article("The Sun", "<p>Forged.</p>"), front=True)],
    )
    (tmp_path / "out.zim").write_bytes(b"the kit's current copy")
    with pytest.raises(ChannelError) as caught:
        zimdelta.apply_patches(v1, [patch], tmp_path / "out.zim")
    assert caught.value.code == "channel.patch_result_mismatch"
    assert (tmp_path / "out.zim").read_bytes() == b"the kit's current copy" and _leftovers(tmp_path) == []


def test_zimdelta_not_a_patch_is_refused(books, tmp_path):
    v1, v2 = books
    with pytest.raises(ChannelError) as caught:
        zimdelta.apply_patches(v1, [v2], tmp_path / "out.zim")  # a full book, not a patch: no manifest
    assert caught.value.code == "channel.patch_damaged"
    (tmp_path / "junk.zimpatch").write_bytes(b"not a zim")
    with pytest.raises(ChannelError) as caught:
        zimdelta.apply_patches(v1, [tmp_path / "junk.zimpatch"], tmp_path / "out.zim")
    assert caught.value.code == "channel.patch_damaged"


def test_zimdelta_chain_applies_in_order_from_the_publisher_or_a_rebuilt_base(books, tmp_path):
    v1, v2 = books
    v3_articles = {**_v2_articles(), "comet": ("Comets", "<p>Comets have tails.</p>")}
    v3 = _book(
        tmp_path / "v3",
        articles=v3_articles,
        redirects=V2_REDIRECTS,
        title="Nature and sky",
        date="2026-03-01",
        icon=(90, 20, 30),
        extra_metadata={"Publisher": "county"},
    )
    p1, p2 = (
        zimdelta.write_patch(v1, v2, tmp_path / "p1.zimpatch"),
        zimdelta.write_patch(v2, v3, tmp_path / "p2.zimpatch"),
    )
    assert p2["base"]["digest"] == p1["result"]["digest"]
    rebuilt = zimdelta.apply_patches(v1, [tmp_path / "p1.zimpatch", tmp_path / "p2.zimpatch"], tmp_path / "v3.zim")
    assert rebuilt.digest == zimdelta.book_digest(v3) and _everything(rebuilt.path) == _everything(v3)
    with pytest.raises(ChannelError) as caught:
        zimdelta.apply_patches(v1, [tmp_path / "p2.zimpatch", tmp_path / "p1.zimpatch"], tmp_path / "x.zim")
    assert caught.value.code == "channel.patch_base_mismatch"
    # A kit's own rebuilt v2 has other bytes than the publisher's v2 but the same entries: p2 applies to it.
    (tmp_path / "kit").mkdir()
    kit_v2 = zimdelta.apply_patches(v1, [tmp_path / "p1.zimpatch"], tmp_path / "kit" / "nature_en.zim")
    assert kit_v2.path.read_bytes() != v2.read_bytes()
    again = zimdelta.apply_patches(kit_v2.path, [tmp_path / "p2.zimpatch"], tmp_path / "kit" / "nature_en.zim")
    assert again.digest == zimdelta.book_digest(v3)


def _small_file_limit() -> None:
    # A real "disk full" for one process: writes past 16 KB fail with EFBIG (SIGXFSZ ignored so it is an error).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16_000, 16_000))


def test_zimdelta_rebuild_that_cannot_be_written_says_so_and_leaves_nothing(books, tmp_path):
    v1, v2 = books
    zimdelta.write_patch(v1, v2, tmp_path / "p.zimpatch")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "nature_en.zim").write_bytes(b"the kit's current copy")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "appliance",
            "channel",
            "apply",
            str(v1),
            str(tmp_path / "p.zimpatch"),
            "--out",
            str(tmp_path / "out" / "nature_en.zim"),
        ],
        preexec_fn=_small_file_limit,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "cannot be written" in done.stderr and "Fix: Free space in the content folder" in done.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["nature_en.zim"]
    assert (tmp_path / "out" / "nature_en.zim").read_bytes() == b"the kit's current copy"


def test_zimdelta_rebuild_removes_what_a_killed_rebuild_left(books, tmp_path):
    v1, v2 = books
    zimdelta.write_patch(v1, v2, tmp_path / "p.zimpatch")
    (tmp_path / "out").mkdir()
    # What SIGKILL during a rebuild leaves (seen in bench/delta.py): libzim's file and its index folder.
    (tmp_path / "out" / "..nature_en.zim.rebuild.tmp").write_bytes(b"half a book")
    (tmp_path / "out" / "..nature_en.zim.rebuild.tmp_fulltext.idx.tmp").mkdir()
    (tmp_path / "out" / "..nature_en.zim.rebuild.tmp_fulltext.idx.tmp" / "postlist.glass").write_bytes(b"x")
    zimdelta.apply_patches(v1, [tmp_path / "p.zimpatch"], tmp_path / "out" / "nature_en.zim")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["nature_en.zim"]
