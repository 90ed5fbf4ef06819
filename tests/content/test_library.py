"""The library on real ZIM files: naming, damaged files listed not served, books appearing and leaving."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import pytest

from appliance.content.library import Library
from appliance.content.naming import book_name, unique_names
from tests.conftest import make_book, shared_zims


def test_naming_book_name_follows_kiwix_serve():
    assert book_name(Path("/x/wikipedia_en_all_2024-01.zim")) == "wikipedia_en_all_2024-01"
    assert book_name(Path("My Book+ü (1).zim")) == "my_bookplusu_(1)"
    assert book_name(Path("ÀÉÎ_Çà Été.zim")) == "aei_ca_ete"
    assert book_name(Path("x.zim.zimaa")) == "x.zim"


def test_naming_unique_names_never_hide_a_file():
    names = unique_names([Path("a/My Book.zim"), Path("a/my book.zim")])
    assert sorted(names) == ["my_book", "my_book_2"]


def _library(folder: Path) -> Library:
    library = Library(folder)
    library.refresh()
    return library


def test_library_reads_metadata(content_dir):
    make_book(content_dir, "one", title="Book One", language="eng,zho", tags="_category:science;grade:4")
    book = _library(content_dir).book("one")
    assert (book.title, book.languages, book.category) == ("Book One", ("eng", "zho"), "science")
    assert book.checked == "verified"
    assert book.zim.has_fulltext_index


@pytest.mark.parametrize("damage", ["truncate", "flip", "not_zim", "empty"])
def test_library_lists_damaged_files_and_keeps_serving_others(content_dir, damage):
    good = make_book(content_dir, "good")
    bad = content_dir / "bad.zim"
    data = good.read_bytes()
    if damage == "truncate":
        bad.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        middle = len(data) // 2
        bad.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :])
    elif damage == "not_zim":
        bad.write_text("<html>this is a web page saved with the wrong name</html>")
    else:
        bad.write_bytes(b"")
    library = _library(content_dir)
    assert [b.name for b in library.books()] == ["good"]
    [damaged] = library.damaged()
    assert damaged.path == bad
    assert "bad.zim" in damaged.reason


def test_library_every_shared_invalid_zim_is_damaged(tmp_path):
    invalid = shared_zims("invalid")
    folder = tmp_path / "content"
    folder.mkdir()
    for path in invalid:
        shutil.copy(path, folder)
    make_book(folder, "good")
    library = _library(folder)
    assert [b.name for b in library.books()] == ["good"]
    assert sorted(d.path.name for d in library.damaged()) == sorted(p.name for p in invalid)


def test_library_every_shared_real_zim_is_served(tmp_path):
    real = shared_zims("real")
    folder = tmp_path / "content"
    folder.mkdir()
    for path in real:
        (folder / path.name).symlink_to(path)
    library = _library(folder)
    assert sorted(b.name for b in library.books()) == sorted(p.stem.lower() for p in real)
    assert library.damaged() == []


def test_library_refresh_picks_up_added_replaced_and_removed_books(content_dir):
    library = _library(content_dir)
    assert library.books() == []
    path = make_book(content_dir, "later", title="First edition")
    assert library.refresh() is True
    assert library.book("later").title == "First edition"
    held = library.book("later")
    make_book(content_dir, "later", title="Second edition")
    assert library.refresh() is True
    assert library.book("later").title == "Second edition"
    assert held.zim.lookup("moon").data  # a request in flight keeps reading the book it started with
    path.unlink()
    library.refresh()
    assert library.books() == []


def test_library_books_appear_on_a_running_server_without_restart(live, content_dir):
    with httpx.Client(base_url=live.url, timeout=5) as http:
        assert http.get("/content/added_later/").status_code == 404
        make_book(content_dir, "added_later")
        deadline = time.monotonic() + 5
        while http.get("/content/added_later/").status_code != 302:
            assert time.monotonic() < deadline, "new book did not appear within 5 s"
            time.sleep(0.1)
        (content_dir / "added_later.zim").unlink()
        while http.get("/content/added_later/").status_code != 404:
            assert time.monotonic() < deadline + 5, "removed book did not disappear"
            time.sleep(0.1)
        assert http.get("/content/test_book/").status_code == 302


def test_library_damaged_file_never_stalls_the_server(live, content_dir):
    (content_dir / "junk.zim").write_bytes(b"ZIM\x04" + b"\x00" * 60)
    with httpx.Client(base_url=live.url, timeout=5) as http:
        time.sleep(0.5)
        assert http.get("/content/test_book/moon").status_code == 200
        assert http.get("/content/junk/").status_code == 404


def test_library_damaged_file_is_judged_once_per_version(content_dir):
    bad = content_dir / "bad.zim"
    bad.write_bytes(b"not a zim")
    library = _library(content_dir)
    [first] = library.damaged()
    library.refresh()
    assert library.damaged()[0] is first  # unchanged file: the earlier verdict is kept, not reopened
    make_book(content_dir, "bad")  # a fresh, good copy under the same name
    library.refresh()
    assert library.damaged() == [] and [b.name for b in library.books()] == ["bad"]
