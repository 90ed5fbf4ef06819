"""Cross-origin reads and links built from the request (issue 14).

Who: a pupil, or a web page of another origin opened in a teacher's browser on the classroom Wi-Fi. From where: the
web port, or a script on another site. With what: `GET //evil.example/` (the language link was built from the path,
so it pointed to `//evil.example/?lang=zh`, another host), and `fetch("http://kit/me")` from another origin (every
answer carried `Access-Control-Allow-Origin: *`, so such a script could read it).
What stops them: the language link is relative (`?lang=zh`, web/templates/base.html), and the header is kept only on
the library's endpoints that Kiwix web clients read (web/app.py `KIWIX_PREFIXES`).
"""

from __future__ import annotations

import re

import pytest

from tests.web.people_clients import role_clients


@pytest.mark.parametrize("path", ["//evil.example/", "//evil.example/learn", "/\\evil.example/", "/learn?x=1"])
def test_the_language_link_stays_on_the_kit(client, path):
    page = client.get(path)
    links = re.findall(r'<a class="lang" href="([^"]*)"', page.text)
    assert links and all(link.startswith("?") for link in links), (path, page.status_code, links)


def test_the_language_link_keeps_the_query(client):
    [link] = re.findall(r'<a class="lang" href="([^"]*)"', client.get("/search?pattern=moon&content=test_book").text)
    assert link == "?pattern=moon&amp;content=test_book&amp;lang=zh"


def test_only_the_library_is_open_to_other_origins(kit, live):
    clients, _ = role_clients(kit, live.url)
    for role, path in [
        ("student_a", "/me"),
        ("teacher_a", "/teach"),
        ("admin", "/admin"),
        ("anonymous", "/learn"),
        ("anonymous", "/"),
        ("anonymous", "/admin/signin"),
    ]:
        response = clients[role].get(path)
        assert "access-control-allow-origin" not in response.headers, (role, path, response.status_code)
    for path in ["/catalog/v2/entries", "/content/test_book/moon", "/suggest?term=mo&content=test_book"]:
        response = clients["anonymous"].get(path)
        assert response.headers.get("access-control-allow-origin") == "*", path
    for http in clients.values():
        http.close()
