"""Redirects that echo the request's path (issue 15 made every unknown URL a 302 to /content/<path>, as kiwix-serve).

Who: a web page of another origin, or a message with a link, aimed at a pupil on the classroom Wi-Fi. From where: a
link to the kit's web port. With what: `http://kit//evil.example/x` or `http://kit/\\evil.example/x`, hoping the kit
answers `Location: //evil.example/x` (a protocol-relative URL: another host) and so lends its name to a phishing page.
What stops them: the redirect always starts with `/content/` (web/home_routes.py `not_an_endpoint`), and a path that
starts with `//` or holds a backslash (decoded or as %5C) is a 404, never echoed into a Location at all.
"""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example/x", "/%5Cevil.example/x", "//evil.example"])
def test_redirects_never_point_to_another_host(live, target):
    with httpx.Client(timeout=10) as http:
        response = http.send(http.build_request("GET", httpx.URL(live.url + target)))
    assert response.status_code == 404, (target, response.headers.get("location"))


@pytest.mark.parametrize("target", ["/elsewhere/x", "/a%2F%2Fevil.example", "/evil.example?next=//evil.example"])
def test_echoed_redirects_stay_under_content(live, target):
    with httpx.Client(timeout=10) as http:
        response = http.send(http.build_request("GET", httpx.URL(live.url + target)))
    assert response.status_code == 302, target
    assert response.headers["location"].startswith("/content/"), response.headers["location"]
