"""The HTTPS test harness proves itself (tests/web/trusted_https.py): a page on the kit's name over HTTPS is a secure
context with service workers, and the same name over plain HTTP is not (the fallback a phone without a valid
certificate gets)."""

from __future__ import annotations

from appliance.web.app import create_app
from tests.conftest import LiveServer
from tests.web.trusted_https import origin, test_ca, trusted_chromium, trusted_home  # noqa: F401

SECURE = "() => [window.isSecureContext, 'serviceWorker' in navigator, location.protocol]"


def test_trusted_https_kit_name_is_a_secure_context_and_plain_http_is_not(kit, test_ca, trusted_home):  # noqa: F811
    leaf = test_ca.leaf()
    app = create_app(kit)
    with (
        LiveServer(app, ssl_certfile=str(leaf.cert), ssl_keyfile=str(leaf.key)) as https,
        LiveServer(app) as http,
        trusted_chromium(trusted_home) as browser,
    ):
        page = browser.new_page()
        answer = page.goto(origin("https", https.port) + "/")
        assert answer is not None and answer.ok
        assert page.evaluate(SECURE) == [True, True, "https:"]
        page.goto(origin("http", http.port) + "/")
        assert page.evaluate(SECURE) == [False, False, "http:"]


def test_trusted_https_certificate_for_another_name_is_refused(kit, test_ca, trusted_home):  # noqa: F811
    """The harness is not lenient: a certificate for another name fails as on a phone (no ignore-certificate flag)."""
    leaf = test_ca.leaf("kit-8.kits.county.test")
    with (
        LiveServer(create_app(kit), ssl_certfile=str(leaf.cert), ssl_keyfile=str(leaf.key)) as https,
        trusted_chromium(trusted_home) as browser,
    ):
        page = browser.new_page()
        try:
            page.goto(origin("https", https.port) + "/")
        except Exception as exc:  # Playwright's Error: net::ERR_CERT_COMMON_NAME_INVALID
            assert "ERR_CERT" in str(exc)
        else:
            raise AssertionError("Chromium opened a page whose certificate names another kit")
