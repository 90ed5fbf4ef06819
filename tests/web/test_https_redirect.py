"""HTTP → HTTPS only while the kit's certificate is valid (web/https_redirect.py), on real sockets: a browser's page
is sent to the kit's name over HTTPS, the library, health and connectivity checks stay on HTTP, a certificate close
to or past its expiry sends nobody, and no answer carries HSTS."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from appliance.config import load_settings
from appliance.paths import Paths
from appliance.services.kit import open_kit
from appliance.services.security import kit_certificate
from appliance.web.app import create_app
from tests.conftest import LiveServer, free_port
from tests.web.trusted_https import (  # noqa: F401
    KIT_NAME,
    TestCA,
    origin,
    test_ca,
    trusted_chromium,
    trusted_home,
)

PAGE = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


class NamedKit:
    """A kit called KIT_NAME serving HTTP and HTTPS on loopback, its certificate chosen by the test."""

    def __init__(self, tmp_path, content_dir, ca: TestCA) -> None:
        self.https_port = free_port()
        self.settings = load_settings(
            environ={},
            overrides={
                "data_dir": str(tmp_path / "data"),
                "content_dir": str(content_dir),
                "mdns_enabled": False,
                "kit_id": "kit-7",
                "tls_domain": "kits.county.test",
                "https_port": self.https_port,
            },
        )
        self.paths = Paths.from_settings(self.settings)
        self.files = kit_certificate.prepare(self.paths, self.settings)
        self.ca = ca

    def certify(self, *, days: float = 90, start_days_ago: float = 1) -> None:
        """The county's certificate for this kit's request, written where the kit keeps it (an expired one too: the
        kit was offline past its expiry)."""
        chain = self.ca.sign(self.files.request.read_bytes(), days=days, start_days_ago=start_days_ago)
        self.files.cert.write_bytes(chain)


@pytest.fixture
def named(tmp_path, content_dir, book, test_ca) -> Iterator[tuple[NamedKit, LiveServer, LiveServer]]:  # noqa: F811
    named = NamedKit(tmp_path, content_dir, test_ca)
    named.certify()  # what HTTPS serves from the start; a test may change it or take it away for the redirect
    kit = open_kit(named.settings)
    app = create_app(kit, watch_library=False)
    cert, key = kit_certificate.serving_files(named.paths)
    with (
        LiveServer(app) as http,
        LiveServer(app, port=named.https_port, ssl_certfile=str(cert), ssl_keyfile=str(key), lifespan="off") as https,
    ):
        yield named, http, https
    kit.close()


def test_https_redirect_sends_a_page_to_the_kit_name_while_the_certificate_is_valid(named):
    kit, http, _ = named
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
def test_https_redirect_leaves_the_library_health_and_connectivity_checks_on_http(named, path):
    kit, http, _ = named
    answer = httpx.get(http.url + path, headers=PAGE)
    assert answer.status_code != 302 or not answer.headers["location"].startswith("https://"), path


def test_https_redirect_only_for_a_browser_s_get_of_a_page(named):
    kit, http, _ = named
    assert httpx.get(f"{http.url}/", headers={"Accept": "application/json"}).status_code == 200
    assert httpx.post(f"{http.url}/admin/signin", headers=PAGE, data={}).status_code != 302


@pytest.mark.parametrize(
    ("situation", "days", "start_days_ago"),
    [("none yet", None, None), ("within the margin", 5, 3), ("expired", 90, 91)],
)
def test_https_redirect_none_without_a_certificate_valid_beyond_the_margin(named, situation, days, start_days_ago):
    kit, http, _ = named
    if days is None:
        kit.files.cert.unlink()
    else:
        kit.certify(days=days, start_days_ago=start_days_ago)
    answer = httpx.get(f"{http.url}/", headers=PAGE)
    assert answer.status_code == 200, situation
    assert "strict-transport-security" not in answer.headers


def test_https_redirect_a_phone_lands_in_a_secure_context_and_falls_back_when_expired(named, trusted_home):  # noqa: F811
    kit, http, _ = named
    start = origin("http", http.port) + "/?lang=zh"
    with trusted_chromium(trusted_home) as browser:
        page = browser.new_page()
        page.goto(start)
        assert page.url == origin("https", kit.https_port) + "/?lang=zh"
        assert page.evaluate("() => [window.isSecureContext, 'serviceWorker' in navigator]") == [True, True]
    kit.certify(days=90, start_days_ago=91)  # the kit stayed offline past its certificate's expiry
    with trusted_chromium(trusted_home) as browser:
        page = browser.new_page()
        page.wait_for_timeout(2100)  # the workers look at the certificate file every 2 s (LOOK_AGAIN_S)
        answer = page.goto(start)
        assert answer is not None and answer.ok and page.url == start  # plain HTTP, never a certificate warning
        assert page.evaluate("() => window.isSecureContext") is False
