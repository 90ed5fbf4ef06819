"""Layer files and their stack on real libzim files: a patch re-written as an indexed layer, the stack beside a book."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appliance.content import zimdelta, zimlayers
from appliance.content.zimfile import ZimFile
from appliance.errors import ChannelError
from tests.content.test_zimdelta import _everything, two_versions


@pytest.fixture()
def books(tmp_path) -> tuple[Path, Path]:
    return two_versions(tmp_path)


def test_zimlayers_layers_dir_sits_beside_the_book_and_is_not_a_zim(tmp_path):
    assert zimlayers.layers_dir(tmp_path / "nature_en.zim") == tmp_path / "nature_en.layers"


def test_zimlayers_stack_round_trip_and_stale_when_the_base_is_replaced(books):
    v1, _ = books
    assert zimlayers.read_stack(v1) is None
    written = zimlayers.write_stack(v1, ["1.zimlayer", "2.zimlayer"], "2026-02-01", "abc")
    assert written == zimlayers.read_stack(v1)
    assert written.layers == ("1.zimlayer", "2.zimlayer") and (written.version, written.digest) == ("2026-02-01", "abc")
    assert (written.base_size, written.base_mtime_ns) == (v1.stat().st_size, v1.stat().st_mtime_ns)
    assert not list(zimlayers.layers_dir(v1).glob(".*"))  # no temporary left
    stat = v1.stat()
    os.utime(v1, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # another base file (a full book copied in)
    assert zimlayers.read_stack(v1) is None


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json",
        b'{"format": 1}',
        b"[]",
        b'{"format": 2, "base_size": 1}',
        b'{"format": 1, "base_size": SIZE, "base_mtime_ns": MTIME, "layers": "1.zimlayer", "version": "v", "digest": "d"}',
        b'{"format": 1, "base_size": SIZE, "base_mtime_ns": MTIME, "layers": [], "version": "v", "digest": "d"}',
        b'{"format": 2, "base_size": SIZE, "base_mtime_ns": MTIME, "layers": ["1"], "version": "v", "digest": "d"}',
    ],
    ids=["empty", "not-json", "no-keys", "a-list", "other-format", "layers-not-a-list", "no-layer", "format-2"],
)
def test_zimlayers_unreadable_stack_is_no_stack(books, content):
    v1, _ = books
    zimlayers.write_stack(v1, ["1.zimlayer"], "v", "d")
    stat = v1.stat()
    content = content.replace(b"SIZE", str(stat.st_size).encode()).replace(b"MTIME", str(stat.st_mtime_ns).encode())
    (zimlayers.layers_dir(v1) / zimlayers.STACK_NAME).write_bytes(content)
    assert zimlayers.read_stack(v1) is None


@pytest.mark.parametrize("name", ["../other.zim", "/etc/passwd", "sub/1.zimlayer", ".."])
def test_zimlayers_stack_naming_a_file_outside_its_folder_is_no_stack(books, name):
    v1, _ = books
    zimlayers.write_stack(v1, [name], "v", "d")
    assert zimlayers.read_stack(v1) is None


def test_zimlayers_remove_layers_removes_the_folder_and_tolerates_none(books):
    v1, _ = books
    zimlayers.remove_layers(v1)
    zimlayers.write_stack(v1, ["1.zimlayer"], "v", "d")
    (zimlayers.layers_dir(v1) / "1.zimlayer").write_bytes(b"x")
    zimlayers.remove_layers(v1)
    assert not zimlayers.layers_dir(v1).exists() and v1.exists()


def test_zimlayers_patch_manifest_says_the_result_uuid_and_counts(books, tmp_path):
    v1, v2 = books
    manifest = zimdelta.write_patch(v1, v2, tmp_path / "p.zimpatch")
    book = ZimFile(v2)
    assert manifest["result"]["uuid"] == book.uuid
    assert (manifest["result"]["article_count"], manifest["result"]["media_count"]) == (
        book.article_count,
        book.media_count,
    )


def test_zimlayers_layer_holds_the_patch_indexed_and_is_itself_a_patch(books, tmp_path):
    v1, v2 = books
    manifest = zimdelta.write_patch(v1, v2, tmp_path / "p.zimpatch")
    out = zimlayers.layers_dir(v1) / "1.zimlayer"
    assert zimlayers.write_layer(tmp_path / "p.zimpatch", out) == manifest
    layer, patch = ZimFile(out), ZimFile(tmp_path / "p.zimpatch")
    assert sorted(e.path for e in layer.stored_entries()) == ["rock", "sun", "water"]
    assert {p: v for p, v in _everything(out).items() if p != "M/Counter"} == {
        p: v for p, v in _everything(tmp_path / "p.zimpatch").items() if p != "M/Counter"
    }
    assert layer.has_fulltext_index and not patch.has_fulltext_index
    assert layer.search("quillofray", 0, 10)[1] == ["sun"]
    assert [path for path, _ in layer.suggest("Rocks", 10)] == ["rock"]
    assert layer.verify_checksum() is True
    assert not [p.name for p in out.parent.iterdir() if p.name.startswith(".")]
    # A kit can always materialise the book: base + layers rebuild the publisher's book entry for entry.
    (tmp_path / "out").mkdir()
    rebuilt = zimdelta.apply_patches(v1, [out], tmp_path / "out" / "nature_en.zim")
    assert rebuilt.digest == zimdelta.book_digest(v2) and _everything(rebuilt.path) == _everything(v2)


def test_zimlayers_layer_of_a_book_without_full_text_index_has_none(tmp_path):
    from appliance.content.zimwriter import Entry, write_zim
    from tests.conftest import article

    def plain(folder: Path, body: str) -> Path:
        folder.mkdir()
        return write_zim(
            folder / "b.zim",
            metadata={"Title": "B", "Language": "eng", "Name": "b", "Date": body},
            main_path="index",
            entries=[Entry("index", "Index", "text/html", article("Index", body), front=True)],
            index_language=None,
        )

    v1, v2 = plain(tmp_path / "1", "one"), plain(tmp_path / "2", "two")
    manifest = zimdelta.write_patch(v1, v2, tmp_path / "p.zimpatch")
    assert manifest["result"]["fulltext_language"] is None
    zimlayers.write_layer(tmp_path / "p.zimpatch", tmp_path / "l" / "1.zimlayer")
    assert not ZimFile(tmp_path / "l" / "1.zimlayer").has_fulltext_index


def test_zimlayers_damaged_patch_is_refused_and_writes_no_layer(books, tmp_path):
    v1, v2 = books
    zimdelta.write_patch(v1, v2, tmp_path / "p.zimpatch")
    data = bytearray((tmp_path / "p.zimpatch").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "p.zimpatch").write_bytes(bytes(data))
    out = tmp_path / "layers" / "1.zimlayer"
    with pytest.raises(ChannelError) as caught:
        zimlayers.write_layer(tmp_path / "p.zimpatch", out)
    assert caught.value.code == "channel.patch_damaged"
    assert not out.exists()
