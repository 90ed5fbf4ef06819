"""Patches and rebuilt books as a publisher's tools make them (issue 21, items 4, 5, 8): text-like entries compressed
(SVG, JavaScript, JSON, not only text/*), books read cluster by cluster, and no title index carried in a patch."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from pathlib import Path

import pytest
from libzim.reader import Archive
from libzim.writer import Creator, Hint, Item, StringProvider

from appliance.content import zimdelta
from appliance.content.compression import compressible
from appliance.content.library import Library
from appliance.content.zimfile import ZimFile
from appliance.content.zimwriter import Entry, write_zim
from appliance.services.library import search

WORDS = ["river", "piano", "soul", "rhythm", "blues", "record", "album", "singer", "Georgia", "band", "chart"]
WORDS += [f"w{n}" for n in range(300)]


class _PublisherItem(Item):
    def __init__(self, path: str, title: str, mimetype: str, data: bytes, front: bool) -> None:
        super().__init__()
        self.fields = (path, title, mimetype, data, front)

    def get_path(self) -> str:
        return self.fields[0]

    def get_title(self) -> str:
        return self.fields[1]

    def get_mimetype(self) -> str:
        return self.fields[2]

    def get_contentprovider(self):
        return StringProvider(self.fields[3])

    def get_hints(self) -> dict:
        # As mwoffliner and zimwriterfs do: everything compressed but images that are compressed already.
        return {Hint.COMPRESS: self.fields[2] != "image/png", Hint.FRONT_ARTICLE: self.fields[4]}


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(count))


def _publish(out: Path, version: int) -> Path:
    """A Ray Charles-sized book (~270 KB: articles, SVG, JavaScript, JSON, PNG) written with libzim's own Creator as
    a publisher does; version 2 edits one article (adding "glimmerfrost"), one script and one drawing."""
    rng = random.Random(7)
    out.parent.mkdir(parents=True, exist_ok=True)
    with Creator(str(out)).config_indexing(True, "eng").config_nbworkers(1) as creator:
        creator.set_mainpath("index")
        for name, value in {"Title": "Ray", "Name": "ray_en", "Language": "eng", "Date": f"2026-0{version}-01"}.items():
            creator.add_metadata(name, value)
        for n in range(40):
            body = _words(rng, 400) + (" glimmerfrost quillofray" if version == 2 and n == 3 else "")
            html = f"<html><head><title>Article {n}</title></head><body><h1>Article {n}</h1><p>{body}</p></body></html>"
            creator.add_item(
                _PublisherItem(f"a{n}" if n else "index", f"Article {n}", "text/html", html.encode(), True)
            )
        for n in range(60):
            points = " ".join(f"{rng.randint(0, 500)},{rng.randint(0, 500)}" for _ in range(150))
            stroke = "red" if version == 2 and n == 5 else "black"
            svg = f'<svg xmlns="http://www.w3.org/2000/svg"><polyline points="{points}" stroke="{stroke}"/></svg>'
            creator.add_item(_PublisherItem(f"svg/{n}.svg", "", "image/svg+xml", svg.encode(), False))
        for n in range(6):
            lines = [
                f"function f{n}_{j}(a, b) {{ return a.map(x => x + b * {rng.randint(0, 99)}); }}" for j in range(400)
            ]
            if version == 2 and n == 2:
                lines.append("function added() { return 2; }")
            creator.add_item(
                _PublisherItem(f"js/{n}.js", "", "application/javascript", "\n".join(lines).encode(), False)
            )
        for n in range(4):
            data = [{"id": j, "name": _words(rng, 3), "value": rng.random()} for j in range(500)]
            creator.add_item(_PublisherItem(f"data/{n}.json", "", "application/json", json.dumps(data).encode(), False))
        for n in range(20):
            creator.add_item(_PublisherItem(f"img/{n}.png", "", "image/png", rng.randbytes(4000), False))
    return out


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> tuple[Path, Path, Path, dict]:
    """(v1, v2, the patch v1 -> v2, its manifest)."""
    folder = tmp_path_factory.mktemp("published")
    v1, v2 = _publish(folder / "v1" / "ray_en.zim", 1), _publish(folder / "v2" / "ray_en.zim", 2)
    patch = folder / f"ray_en{zimdelta.PATCH_SUFFIX}"
    return v1, v2, patch, zimdelta.write_patch(v1, v2, patch)


@pytest.mark.parametrize(
    "mimetype",
    [
        "text/html",
        "text/css; charset=utf-8",
        "image/svg+xml",
        "application/javascript",
        "application/json",
        "application/xml",
        "application/ld+json",
        "font/ttf",
    ],
)
def test_zimwriter_compresses_text_like_entries(mimetype):
    assert compressible(mimetype)


@pytest.mark.parametrize(
    "mimetype",
    [
        "image/png",
        "image/jpeg",
        "image/webp",
        "image/gif",
        "audio/ogg",
        "video/webm",
        "font/woff2",
        "application/zip",
        "application/octet-stream+xapian",
    ],
)
def test_zimwriter_leaves_compressed_formats_alone(mimetype):
    assert not compressible(mimetype)


def test_zimdelta_rebuilt_book_is_the_size_of_the_publishers(published, tmp_path):
    v1, v2, patch, manifest = published
    assert manifest["counts"] == {"added": 0, "changed": 4, "removed": 0}  # an article, a script, a drawing, Date
    rebuilt = zimdelta.apply_patches(v1, [patch], tmp_path / "ray_en.zim")
    # Before SVG, JavaScript and JSON were compressed the rebuild was twice the publisher's (533 KB against 263 KB).
    assert rebuilt.path.stat().st_size == pytest.approx(v2.stat().st_size, rel=0.03)
    assert rebuilt.digest == zimdelta.book_digest(v2)


def test_zimdelta_patch_has_no_title_index_and_stays_small(published):
    _, v2, patch, _ = published
    assert not Archive(patch).has_title_index and not Archive(patch).has_fulltext_index
    assert Archive(v2).has_title_index
    # The edited article, script and drawing compressed, and the manifest; with a title index it was 36 KB.
    assert patch.stat().st_size < 8_000


def test_zimdelta_rebuilt_book_answers_suggestions_and_search_through_the_kit(published, tmp_path):
    v1, _, patch, _ = published
    (tmp_path / "content").mkdir()
    zimdelta.apply_patches(v1, [patch], tmp_path / "content" / "ray_en.zim")
    library = Library(tmp_path / "content")
    library.refresh()
    books = library.books()
    assert [s.path for s in search.suggest(books, "Article 3")][:1] == ["a3"]
    page = search.search(books, "glimmerfrost", 0, 10)
    assert [hit.path for hit in page.hits] == ["a3"]


def test_zimfile_reads_entries_in_the_order_their_bytes_are_stored(tmp_path):
    # Added in reverse path order: libzim fills its clusters in that order, libzim's numbering is by path.
    paths = [f"page{n:03d}" for n in range(200)][::-1]
    book = write_zim(
        tmp_path / "reverse.zim",
        metadata={"Title": "Reverse", "Name": "reverse"},
        main_path=None,
        entries=[Entry(path, path, "text/html", f"<p>{path} {'x' * 3000}</p>".encode()) for path in paths],
        redirects=[("alias", "Alias", "page000")],
        index_language=None,
    )
    stored = [entry.path for entry in ZimFile(book).stored_entries()]
    assert stored == [*paths, "alias"]
    # A directory that does not read as the format says (here the magic number, which libzim read at opening): path
    # order, every entry still once.
    opened = ZimFile(book)
    with open(book, "r+b") as handle:
        handle.write(b"\0\0\0\0")
    assert [entry.path for entry in opened.stored_entries()] == sorted([*paths, "alias"])


def _disk_use(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):  # libzim creates and deletes files and folders meanwhile
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def test_zimdelta_rebuild_stays_within_the_disk_space_the_sync_counts(published, tmp_path):
    v1, v2, patch, _ = published
    (tmp_path / "content").mkdir()
    peak, done = [0], threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _disk_use(tmp_path / "content"))
            time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        zimdelta.apply_patches(v1, [patch], tmp_path / "content" / "ray_en.zim")
    finally:
        done.set()
        watcher.join()
    # The clusters written so far, Xapian's working index and its compacted copy: ~1.4x the book here.
    assert peak[0] <= zimdelta.rebuild_disk_bytes(v2.stat().st_size)
