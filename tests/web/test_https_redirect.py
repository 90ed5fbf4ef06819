"""HTTP → HTTPS only while the kit's certificate is valid (web/https_redirect.py), on real sockets: a browser's page
is sent to the kit's name over HTTPS, the library, health and connectivity checks stay on HTTP, a certificate close
to or past its expiry sends nobody, and no answer carries HSTS."""

from __future__ import annotations

import httpx
import pytest

from tests.web.browsers import PHONE, screenshot
from tests.web.trusted_https import (  # noqa: F401
    KIT_NAME,
    named_kit,
    origin,
    test_ca,
    trusted_chromium,
    trusted_home,
)

PAGE = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_https_redirect_sends_a_page_to_the_kit_name_while_the_certificate_is_valid(named_kit):  # noqa: F811
    kit, http = named_kit, named_kit.http
    answer = httpx.get(f"{http.url}/admin/signin?next=%2Fteach&lang=zh", headers=PAGE)
    assert answer.status_code == 302
    assert answer.headers["location"] == f"https://{KIT_NAME}:{kit.https_port}/admin/signin?next=%2Fteach&lang=zh"
    assert answer.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in answer.headers


@pytest.mark.parametrize(
    "path",
    [
        "/content/test_book/A/Home",
        "/raw/test_book/meta/Title",
        "/catalog/v2/entries",
        "/search?pattern=x",
        "/suggest?term=x",
        "/-/health",
        "/metrics",
        "/generate_204",
        "/hotspot-detect.html",
        "/static/kit.css",
    ],
)
def test_https_redirect_leaves_the_library_health_and_connectivity_checks_on_http(named_kit, path):  # noqa: F811
    answer = httpx.get(named_kit.http.url + path, headers=PAGE)
    assert answer.status_code != 302 or not answer.headers["location"].startswith("https://"), path


def test_https_redirect_only_for_a_browser_s_get_of_a_page(named_kit):  # noqa: F811
    http = named_kit.http
    assert httpx.get(f"{http.url}/", headers={"Accept": "application/json"}).status_code == 200
    assert httpx.post(f"{http.url}/admin/signin", headers=PAGE, data={}).status_code != 302


@pytest.mark.parametrize(
    ("situation", "days", "start_days_ago"),
    [("none yet", None, None), ("within the margin", 5, 3), ("expired", 90, 91)],
)
def test_https_redirect_none_without_a_certificate_valid_beyond_the_margin(named_kit, situation, days, start_days_ago):  # noqa: F811
    kit, http = named_kit, named_kit.http
    if days is None:
        kit.files.cert.unlink()
    else:
        kit.certify(days=days, start_days_ago=start_days_ago)
    answer = httpx.get(f"{http.url}/", headers=PAGE)
    assert answer.status_code == 200, situation
    assert "strict-transport-security" not in answer.headers


def test_https_redirect_a_phone_lands_in_a_secure_context_and_falls_back_when_expired(named_kit, trusted_home):  # noqa: F811
    kit, http = named_kit, named_kit.http
    start = origin("http", http.port) + "/?lang=zh"
    with trusted_chromium(trusted_home) as browser:
        page = browser.new_page(**PHONE)
        page.goto(start)
        assert page.url == origin("https", kit.https_port) + "/?lang=zh"
        assert page.evaluate("() => [window.isSecureContext, 'serviceWorker' in navigator]") == [True, True]
        screenshot(page, "https-home-zh.png")
    kit.certify(days=90, start_days_ago=91)  # the kit stayed offline past its certificate's expiry
    with trusted_chromium(trusted_home) as browser:
        page = browser.new_page(**PHONE)
        page.wait_for_timeout(2100)  # the workers look at the certificate file every 2 s (LOOK_AGAIN_S)
        answer = page.goto(start)
        assert answer is not None and answer.ok and page.url == start  # plain HTTP, never a certificate warning
        assert page.evaluate("() => window.isSecureContext") is False
