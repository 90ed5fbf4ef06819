"""A cached book entry answered the short way (web/hot_entries.py) is the same answer as the route's: status, body and
every header but Date, in the same order. The first request of each pair misses the entry cache and goes the long
way; the second is answered from memory (the worker's count says so). Real uvicorn, real libzim book."""

from __future__ import annotations

import pytest

from appliance.web.session import SESSION_COOKIE


def _answer(response) -> tuple:
    headers = [(k, v) for k, v in response.headers.multi_items() if k != "date"]
    return response.status_code, headers, response.content


def _short_way_count(live) -> int:
    return live.server.config.app.state.requests.hot_entries


@pytest.mark.parametrize(
    "path, headers",
    [
        ("/content/test_book/water", {"Accept-Encoding": "identity"}),  # text, plain
        ("/content/test_book/water", {"Accept-Encoding": "gzip"}),  # text, its gzip form
        ("/content/test_book/img/dot.png", {"Accept-Encoding": "gzip"}),  # an image: never gzipped
        ("/content/test_book/moon", {}),  # small text (not worth gzip), no Accept-Encoding at all
    ],
)
def test_the_short_way_answers_as_the_route_does(live, client, path, headers):
    long_way = client.get(path, headers=headers)
    before = _short_way_count(live)
    short_way = client.get(path, headers=headers)
    assert _short_way_count(live) == before + 1
    assert _answer(short_way) == _answer(long_way)
    assert short_way.headers["access-control-allow-origin"] == "*"
    assert short_way.headers["content-security-policy"].startswith("sandbox")
    revalidated = client.get(path, headers={**headers, "If-None-Match": long_way.headers["etag"]})
    assert revalidated.status_code == 304
    assert _short_way_count(live) == before + 2


def test_what_the_short_way_leaves_to_the_route(live, client):
    client.get("/content/test_book/water", headers={"Accept-Encoding": "identity"})  # cached, plain only
    before = _short_way_count(live)
    gzipped = client.get("/content/test_book/water", headers={"Accept-Encoding": "gzip"})  # its gzip form is made
    assert gzipped.headers["content-encoding"] == "gzip"
    ranged = client.get("/content/test_book/water", headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and len(ranged.content) == 10
    assert client.get("/content/test_book/old_water").status_code == 302  # a redirect entry
    assert client.get("/content/test_book/old_water").status_code == 302
    assert client.head("/content/test_book/water").status_code == 200
    client.cookies.set(SESSION_COOKIE, "a-reader-whose-opening-is-recorded")
    assert client.get("/content/test_book/water").status_code == 200
    client.cookies.clear()
    assert client.get("/content/no_such_book/water").status_code == 404
    assert _short_way_count(live) == before
