"""Kiwix-compatible book URLs on a real uvicorn: bytes, MIME types, redirects, caching, ranges."""

from __future__ import annotations

import gzip

from tests.conftest import article


def test_content_main_page_redirects_to_main_entry(client):
    response = client.get("/content/test_book/")
    assert response.status_code == 302
    assert response.headers["location"] == "/content/test_book/index"
    # One hop, as kiwix 3.7 (libkiwix TEST_F(ServerTest, BookMainPageIsRedirectedToArticleIndex)).
    assert client.get("/content/test_book").headers["location"] == "/content/test_book/index"


def test_content_serves_entry_bytes_and_exact_mimetype(client):
    response = client.get("/content/test_book/moon", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html"
    assert response.content == article("The Moon", "<p>The Moon reflects sunlight and causes tides.</p>")
    assert response.headers["access-control-allow-origin"] == "*"


def test_content_redirect_entry_gives_302_to_target(client):
    response = client.get("/content/test_book/old_water")
    assert response.status_code == 302
    assert response.headers["location"] == "/content/test_book/water"


def test_content_missing_entry_and_book_are_404_with_fix(client):
    missing = client.get("/content/test_book/nope")
    assert missing.status_code == 404
    assert "What to do" in missing.text
    assert client.get("/content/no_such_book/x").status_code == 404
    api = client.get("/content/no_such_book/x", headers={"Accept": "application/json"})
    assert api.json()["code"] == "library.book_not_found"
    assert api.json()["fix"]


def test_content_path_traversal_stays_inside_book(client):
    assert client.get("/content/test_book/%2e%2e/%2e%2e/etc/passwd").status_code == 404
    assert client.get("/content/test_book/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_content_etag_gives_304(client):
    first = client.get("/content/test_book/moon", headers={"Accept-Encoding": "identity"})
    etag = first.headers["etag"]
    assert "max-age=" in first.headers["cache-control"]
    again = client.get("/content/test_book/moon", headers={"If-None-Match": etag, "Accept-Encoding": "identity"})
    assert again.status_code == 304
    assert again.content == b""


def test_content_text_is_gzipped_when_accepted(client):
    response = client.get("/content/test_book/water", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept-Encoding"
    plain = client.get("/content/test_book/water", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert response.content == plain.content  # httpx decodes gzip
    assert int(response.headers["content-length"]) < len(plain.content) / 3
    assert response.headers["etag"] != plain.headers["etag"]


def test_content_is_gzipped_only_once_a_client_accepts_gzip(kit, live, client):
    # A reader that does not accept gzip never pays for compressing (~0.5 ms a 15 KB article; issue 15's random
    # reads): the entry is cached plain, and its gzip form is made the first time a client accepts gzip.
    plain = client.get("/content/test_book/water", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"  # a shared cache must still ask again for gzip
    cached = live.server.config.app.state.entry_cache.get((kit.library.book("test_book").uuid, "water"))
    assert cached is not None and cached.compressible and cached.gz is None
    zipped = client.get("/content/test_book/water", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == plain.content
    again = client.get("/content/test_book/water", headers={"Accept-Encoding": "gzip", "Range": "bytes=0-9"})
    assert again.status_code == 206 and "content-encoding" not in again.headers


def test_content_media_is_never_gzipped(client):
    response = client.get("/content/test_book/media/clip.webm", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in response.headers
    assert response.headers["content-type"] == "video/webm"
    assert response.headers["accept-ranges"] == "bytes"


def test_content_range_requests_give_206(client):
    full = client.get("/content/test_book/media/clip.webm").content
    size = len(full)
    cases = {
        "bytes=0-99": (0, 99),
        "bytes=100-": (100, size - 1),
        "bytes=-50": (size - 50, size - 1),
        f"bytes={size - 10}-{size + 1000}": (size - 10, size - 1),
    }
    for header, (first, last) in cases.items():
        response = client.get("/content/test_book/media/clip.webm", headers={"Range": header})
        assert response.status_code == 206, header
        assert response.headers["content-range"] == f"bytes {first}-{last}/{size}"
        assert response.content == full[first : last + 1]


def test_content_unsatisfiable_range_is_416(client):
    size = len(client.get("/content/test_book/media/clip.webm").content)
    for header in (f"bytes={size}-{size + 10}", "bytes=0-9,20-29", "bytes=abc"):
        response = client.get("/content/test_book/media/clip.webm", headers={"Range": header})
        assert response.status_code == 416, header
        assert response.headers["content-range"] == f"bytes */{size}"


def test_raw_content_and_meta(client):
    raw = client.get("/raw/test_book/content/moon", headers={"Accept-Encoding": "identity"})
    assert raw.content == article("The Moon", "<p>The Moon reflects sunlight and causes tides.</p>")
    redirect = client.get("/raw/test_book/content/old_water")
    assert redirect.status_code == 302
    title = client.get("/raw/test_book/meta/Title")
    assert (title.status_code, title.text) == (200, "Test book")
    # The metadata item's own MIME type, as kiwix-serve sends it (libzim's writer stores text/plain;charset=UTF-8).
    assert title.headers["content-type"].startswith("text/plain")
    assert client.get("/raw/test_book/meta/Nope").status_code == 404


def test_random_redirects_to_an_article(client):
    response = client.get("/random?content=test_book")
    assert response.status_code == 302
    assert response.headers["location"] in {f"/content/test_book/{p}" for p in ("index", "water", "moon")}
    assert client.get("/random").status_code == 404
    assert client.get("/random?content=nope").status_code == 404


def test_legacy_kiwix11_urls_redirect_to_content(client):
    response = client.get("/test_book/moon")
    assert response.status_code == 302
    assert response.headers["location"] == "/content/test_book/moon"
    # As kiwix-serve 3.7: any URL naming no endpoint goes to /content/, where an unknown book is a 404.
    assert client.get("/not_a_book/moon").headers["location"] == "/content/not_a_book/moon"
    assert client.get("/content/not_a_book/moon").status_code == 404


def test_gzip_cache_serves_identical_bytes(client):
    bodies = {client.get("/content/test_book/water", headers={"Accept-Encoding": "gzip"}).content for _ in range(3)}
    assert len(bodies) == 1
    assert gzip.decompress(gzip.compress(next(iter(bodies)))) == next(iter(bodies))


def test_pages_feeds_and_assets_are_gzipped_but_media_never(client):
    for path in ("/", "/catalog/v2/entries", "/static/kit.css", "/search?pattern=water"):
        response = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200, path
        assert response.headers.get("content-encoding") == "gzip", path
        assert "Accept-Encoding" in response.headers["vary"], path
    image = client.get("/catalog/v2/illustration/test_book/?size=48", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in image.headers
    ranged = client.get("/content/test_book/water", headers={"Accept-Encoding": "gzip", "Range": "bytes=0-9"})
    assert ranged.status_code == 206 and "content-encoding" not in ranged.headers


def test_pages_and_entries_agree_on_refused_gzip(client):
    for path in ("/", "/content/test_book/water"):
        response = client.get(path, headers={"Accept-Encoding": "gzip;q=0, identity"})
        assert "content-encoding" not in response.headers, path
