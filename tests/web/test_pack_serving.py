"""A book made by `tpkit pack` served by the kit and by kiwix-serve 3.7: its index, an item page, the video in ranges."""

from __future__ import annotations

import pytest

from tests.conftest import free_port
from tests.kiwix_reference import require_kiwix_serve_3_7, serving
from tests.services.packing.pack_folders import packed_book

VIDEO = "/content/maths/media/u2-l1-l1.mp4"


@pytest.fixture
def book(content_dir, tmp_path):  # the kit of tests/conftest.py serves the packed book instead of its test book
    return packed_book(content_dir, tmp_path)


def _served_alike(client, video_bytes: bytes) -> None:
    index = client.get("/content/maths/index.html")
    assert index.status_code == 200 and "第二单元" in index.text
    item = client.get("/content/maths/items/u2-l1-l1.html")
    assert item.status_code == 200 and 'src="../media/u2-l1-l1.mp4"' in item.text
    ranged = client.get(VIDEO, headers={"Range": "bytes=1000-1999"})
    assert ranged.status_code == 206
    assert ranged.headers["content-range"] == f"bytes 1000-1999/{len(video_bytes)}"
    assert ranged.content == video_bytes[1000:2000]
    page = client.get("/content/maths/media/u2-worksheet/p-1.jpg")
    assert page.status_code == 200 and page.headers["content-type"] == "image/jpeg"


def test_packed_book_served_by_tpkit(client, book, tmp_path):
    _served_alike(client, (tmp_path / "county-folder" / "u2" / "l1.mp4").read_bytes())


@pytest.mark.kiwix
def test_packed_book_served_by_kiwix_serve_3_7(book, tmp_path):
    with serving(require_kiwix_serve_3_7(), [book], free_port()) as kiwix:
        _served_alike(kiwix, (tmp_path / "county-folder" / "u2" / "l1.mp4").read_bytes())
