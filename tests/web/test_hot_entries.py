"""A book entry answered the short way (web/hot_entries.py) is the same answer as the route's: status, body and every
header but Date, in the same order, whether the entry is read then (the worker answers nothing else: READ_ALONE) or
held already. The route's answer is asked for with a session cookie, which always goes the long way; the worker's
count says which way each went. Real uvicorn, real libzim book."""

from __future__ import annotations

import socket
import time

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
    before = _short_way_count(live)
    read_now = client.get(path, headers=headers)  # not held yet: read alone, on the event loop
    assert _short_way_count(live) == before + 1
    client.cookies.set(SESSION_COOKIE, "a-reader-whose-opening-is-recorded")
    long_way = client.get(path, headers=headers)
    client.cookies.clear()
    assert _short_way_count(live) == before + 1
    short_way = client.get(path, headers=headers)  # held now
    assert _short_way_count(live) == before + 2
    assert _answer(read_now) == _answer(long_way) == _answer(short_way)
    assert short_way.headers["access-control-allow-origin"] == "*"
    assert short_way.headers["content-security-policy"].startswith("sandbox")
    revalidated = client.get(path, headers={**headers, "If-None-Match": long_way.headers["etag"]})
    assert revalidated.status_code == 304
    assert _short_way_count(live) == before + 3


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


def test_an_entry_not_held_while_another_request_is_in_flight_is_read_the_long_way(live, client):
    # A request whose body has not come yet stays in flight; meanwhile a first read goes to a worker thread (the
    # event loop keeps answering), and the answer is the same.
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as waiting:
        waiting.sendall(
            b"POST /admin/signin HTTP/1.1\r\nHost: kit\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 100\r\n\r\n"
        )
        deadline = time.monotonic() + 10
        while live.server.config.app.state.requests.in_flight < 1:
            assert time.monotonic() < deadline, "the waiting request never reached the app"
            time.sleep(0.01)
        before = _short_way_count(live)
        in_a_thread = client.get("/content/test_book/water", headers={"Accept-Encoding": "identity"})
        assert _short_way_count(live) == before
    held = client.get("/content/test_book/water", headers={"Accept-Encoding": "identity"})
    assert _short_way_count(live) == before + 1
    assert _answer(in_a_thread) == _answer(held)
