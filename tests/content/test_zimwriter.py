"""The ZIM writer edge: the Xapian flush threshold that bounds a full-text index's memory while writing."""

from __future__ import annotations

import os

from appliance.content import zimwriter
from appliance.content.zimfile import ZimFile
from tests.conftest import make_book


def test_zimwriter_indexing_bounds_xapians_buffer_unless_the_operator_set_one(tmp_path, monkeypatch):
    monkeypatch.delenv("XAPIAN_FLUSH_THRESHOLD", raising=False)
    book = make_book(tmp_path / "a", "water_en")
    assert os.environ["XAPIAN_FLUSH_THRESHOLD"] == str(zimwriter.XAPIAN_FLUSH_DOCUMENTS)
    assert ZimFile(book).has_fulltext_index
    monkeypatch.setenv("XAPIAN_FLUSH_THRESHOLD", "20000")
    make_book(tmp_path / "b", "water_en")
    assert os.environ["XAPIAN_FLUSH_THRESHOLD"] == "20000"


def test_zimwriter_file_entry_stores_the_file_as_it_is(tmp_path):
    source = tmp_path / "lesson.webm"
    source.write_bytes(os.urandom(3 * 2**20 + 17))  # over libzim's default cluster size, so it is streamed
    out = zimwriter.write_zim(
        tmp_path / "book.zim",
        metadata={"Name": "files", "Title": "Files", "Language": "eng"},
        main_path=None,
        entries=[
            zimwriter.Entry("index.html", "Index", "text/html", b"<p>a video</p>", front=True),
            zimwriter.FileEntry("media/lesson.webm", "Lesson", "video/webm", source),
        ],
        index_language=None,
    )
    assert bytes(ZimFile(out).lookup("media/lesson.webm").data) == source.read_bytes()
