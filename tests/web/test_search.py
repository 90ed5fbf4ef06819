"""Suggestions and full-text search across books, Chinese included, on a real server."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest

from appliance.services.kit import open_kit
from appliance.services.library import demo_books
from appliance.web.app import create_app
from tests.conftest import LiveServer, make_book


@pytest.fixture
def library_client(settings, content_dir):
    demo_books.build(content_dir)
    make_book(
        content_dir,
        "no_index",
        title="Unindexed notes",
        index=False,
        articles={"index": ("Notes", "<p>notes</p>"), "water_notes": ("Water notes", "<p>rain</p>")},
    )
    kit = open_kit(settings)
    try:
        with LiveServer(create_app(kit)) as live, httpx.Client(base_url=live.url, timeout=10) as http:
            yield http
    finally:
        kit.close()


def test_suggest_one_book_matches_kiwix_shape(library_client):
    items = library_client.get("/suggest", params={"content": "tpkit_demo_en", "term": "wat"}).json()
    assert items[0] == {
        "value": "The water cycle",
        "label": "The &lt;b&gt;water&lt;/b&gt; cycle",
        "kind": "path",
        "path": "water_cycle",
        "book": "tpkit_demo_en",
        "book_title": "Our World: a first encyclopedia",
    }
    assert items[-1] == {"value": "wat ", "label": "containing &apos;wat&apos;...", "kind": "pattern"}


def test_suggest_across_all_books_in_chinese(library_client):
    items = library_client.get("/suggest", params={"term": "水"}).json()
    titles = {item["value"] for item in items}
    assert {"水循环", "种水稻"} <= titles
    assert all(item["book"] == "tpkit_demo_zh" for item in items)


def test_suggest_unknown_book_is_404(library_client):
    assert library_client.get("/suggest", params={"content": "nope", "term": "x"}).status_code == 404


def test_search_fulltext_chinese_finds_article_by_body_text(library_client):
    page = library_client.get("/search", params={"pattern": "光合作用"})
    assert page.status_code == 200
    assert "/content/tpkit_demo_zh/zhiwu" in page.text
    assert "<b>光合作用</b>" in page.text


def test_search_books_without_index_fall_back_to_titles_honestly(library_client):
    page = library_client.get("/search", params={"pattern": "water"})
    assert "/content/tpkit_demo_en/water_cycle" in page.text
    assert "Title matches (books without a full-text index)" in page.text
    assert "/content/no_index/water_notes" in page.text
    single = library_client.get("/search", params={"content": "no_index", "pattern": "water"})
    assert single.status_code == 404


def test_search_xml_is_opensearch_rss_with_paging(library_client):
    response = library_client.get(
        "/search", params={"books.name": "tpkit_demo_en", "pattern": "water", "format": "xml", "pageLength": 2}
    )
    assert response.headers["content-type"] == "application/rss+xml; charset=utf-8"
    root = ET.fromstring(response.content)
    ns = {"os": "http://a9.com/-/spec/opensearch/1.1/"}
    total = int(root.find("channel/os:totalResults", ns).text)
    items = root.findall("channel/item")
    assert total >= 3 and len(items) == 2
    assert all(item.find("link").text.startswith("/content/tpkit_demo_en/") for item in items)
    second = library_client.get(
        "/search",
        params={"books.name": "tpkit_demo_en", "pattern": "water", "format": "xml", "pageLength": 2, "start": 2},
    )
    later = {i.find("link").text for i in ET.fromstring(second.content).findall("channel/item")}
    assert later and later.isdisjoint({i.find("link").text for i in items})


def test_search_errors_are_honest(library_client):
    assert library_client.get("/search", params={"content": "nope", "pattern": "x"}).status_code == 400
    assert library_client.get("/search", params={"content": "tpkit_demo_en"}).status_code == 400
    json_error = library_client.get("/search", headers={"Accept": "application/json"})
    assert json_error.json()["code"] == "search.no_query"


def test_search_html_escapes_the_query(library_client):
    page = library_client.get("/search", params={"pattern": "<script>alert(1)</script>"})
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_search_and_suggest_bound_hostile_paging(library_client):
    huge = str(10**12)
    suggest = library_client.get("/suggest", params={"term": "w", "count": huge, "start": huge})
    assert suggest.status_code == 200
    page = library_client.get(
        "/search", params={"pattern": "water", "start": huge, "pageLength": huge, "format": "xml"}
    )
    assert page.status_code == 200
    assert "<opensearch:itemsPerPage>140</opensearch:itemsPerPage>" in page.text
    assert library_client.get("/search", params={"pattern": "x" * 5000}).status_code == 200


def test_search_skips_work_for_a_reader_who_left(kit):
    """A search queued behind others is dropped when its client has gone (checked when its turn comes)."""
    import anyio

    from appliance.web.app import create_app

    app = create_app(kit, watch_library=False)
    app.state.search_slots = anyio.Semaphore(1)
    sent: list[dict] = []

    async def receive():
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/search",
        "raw_path": b"/search",
        "query_string": b"pattern=water",
        "root_path": "",
        "headers": [(b"host", b"kit")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    anyio.run(app, scope, receive, send)
    assert sent[0]["status"] == 499
