"""The home page for a Chinese reader and an English one (issue 16, defects 6 and 10): books in the reader's language
first, one "English" however its books spell it (`en`, `eng`), no broken picture for a book without one, Kiwix
categories and article counts in the page's language. Real kit, real uvicorn."""

from __future__ import annotations

import re

import pytest

from appliance.content.zimwriter import Entry, write_zim
from tests.conftest import article, make_book
from tests.web.chinese_pages import visible_words

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}
TITLES = ("Test book", "Rivers", "水的循环", "One page")


def _plain_book(folder, name: str, title: str, language: str) -> None:
    """A one-article ZIM without an illustration, its language written the ISO 639-1 way."""
    write_zim(
        folder / f"{name}.zim",
        metadata={"Title": title, "Language": language, "Name": name, "Tags": "_category:wikipedia"},
        main_path="index",
        entries=[Entry("index", title, "text/html", article(title, "<p>One page.</p>"), front=True)],
        index_language=None,
    )


@pytest.fixture
def shelf(content_dir, kit):
    make_book(content_dir, "rivers", title="Rivers", tags="_category:vikidia")
    make_book(content_dir, "water_zh", title="水的循环", language="zho", tags="_category:encyclopedia")
    _plain_book(content_dir, "one_page", "One page", "en")
    kit.library.refresh()
    assert len(kit.library.books()) == 4


def _groups(html: str) -> list[str]:
    return re.findall(r"<h2>([^<]+)</h2>", html)


def _options(html: str) -> list[str]:
    select = html.split('name="language"', 1)[1].split("</select>", 1)[0]
    return re.findall(r"<option[^>]*>([^<]+)</option>", select)


def test_home_reader_language_first_and_one_english(shelf, client):
    zh = client.get("/", headers=ZH).text
    assert _groups(zh) == ["中文", "英语"]  # languages named in the page's language
    assert _options(zh) == ["所有语言", "英语", "中文"]  # `en` and `eng` are one language
    en = client.get("/", headers=EN).text
    assert _groups(en) == ["English", "Chinese"] and _options(en)[1:] == ["English", "Chinese"]
    for code in ("en", "eng"):
        filtered = client.get(f"/?language={code}", headers=EN).text
        assert sorted(re.findall(r'class="title">([^<]+)<', filtered)) == ["One page", "Rivers", "Test book"]
        assert '<option value="eng" selected>' in filtered


def test_home_book_without_illustration_has_no_broken_picture(shelf, client, kit):
    page = client.get("/").text
    plain = next(b for b in kit.library.books() if b.name == "one_page")
    assert not plain.has_illustration and f"/catalog/v2/illustration/{plain.uuid}" not in page
    assert '<span class="noimg" aria-hidden="true">O</span>' in page
    for uuid in re.findall(r"/catalog/v2/illustration/([0-9a-f-]+)\?size=48", page):  # every picture shown exists
        assert client.get(f"/catalog/v2/illustration/{uuid}?size=48").status_code == 200


def test_home_categories_and_counts_in_the_page_language(shelf, client):
    zh = client.get("/", headers=ZH).text
    assert "维基百科" in zh and "少儿百科" in zh and "百科全书" in zh and "1 篇文章" in zh
    assert visible_words(zh, TITLES + ("test", "for tests")) == []  # the test books' category and descriptions
    en = client.get("/", headers=EN).text
    assert "Wikipedia" in en and "Vikidia" in en and "Encyclopedia" in en
    assert "<span>1 article</span>" in en and "<span>4 articles</span>" in en and "1 articles" not in en
