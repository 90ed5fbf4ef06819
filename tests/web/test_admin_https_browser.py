"""The admin page's secure-connection section (issue 18): the kit's name, its certificate's expiry and what phones get
("手机会使用安全连接" / "证书已过期，使用普通连接"), and a certificate file taken by upload at 360 px: a certificate
for another kit is refused with its reason and the one in use kept; the kit's own is installed."""

from __future__ import annotations

import dataclasses

import pytest

from appliance.services.security import kit_certificate
from tests.web.browsers import PHONE, browser, screenshot, with_cookies  # noqa: F401
from tests.web.chinese_pages import visible_words
from tests.web.trusted_https import KIT_NAME, test_ca  # noqa: F401


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, kit_id="kit-7", tls_domain="kits.county.test", https_port=8443)


def test_admin_https_section_states_and_takes_an_uploaded_certificate(kit, live, roles, browser, test_ca, tmp_path):  # noqa: F811
    clients, _ = roles
    admin = clients["admin"]
    files = kit_certificate.prepare(kit.paths, kit.settings)
    expired = tmp_path / "expired.pem"
    expired.write_bytes(test_ca.sign(files.request.read_bytes(), days=90, start_days_ago=91))
    files.cert.write_bytes(expired.read_bytes())  # the kit was offline past its certificate's expiry
    page_text = admin.get("/admin?lang=zh").text
    assert "证书已过期，使用普通连接" in page_text and KIT_NAME in page_text
    assert visible_words(f"<main>{_section(page_text)}</main>") == []

    good = tmp_path / "good.pem"
    good.write_bytes(test_ca.sign(files.request.read_bytes()))
    other = test_ca.leaf()  # the kit's name, another key
    context = with_cookies(browser.new_context(base_url=live.url, **PHONE), live.url, dict(admin.cookies))
    page = context.new_page()
    page.goto("/admin?lang=zh")
    page.set_input_files("input[name=certificate]", str(other.cert))
    page.click("form[action='/admin/certificate'] button")
    assert page.locator("h1").inner_text().startswith("这个证书是给另一台设备的")
    assert files.cert.read_bytes() == expired.read_bytes()  # the one in use is kept

    page.goto("/admin?lang=zh")
    assert "上次收到的证书没有被采用" in page.content()
    page.set_input_files("input[name=certificate]", str(good))
    page.click("form[action='/admin/certificate'] button")
    page.wait_for_url("**/admin?notice=certificate#https")
    section = page.content()
    assert "证书已安装" in section and "手机会使用安全连接" in section and "上次收到的证书没有被采用" not in section
    assert files.cert.read_bytes() == good.read_bytes()
    mine = "#https, .https-state, form[action='/admin/certificate'] *, dd > code"
    widest = page.evaluate(
        "sel => Math.max(...[...document.querySelectorAll(sel)].map(e => e.getBoundingClientRect().right))", mine
    )
    assert widest <= 360  # the section fits a phone (the disk's long test folder above it does not: not ours)
    assert visible_words(f"<main>{_section(page.content())}</main>") == []
    screenshot(page, "admin-https-zh.png")
    context.close()


def _section(html: str) -> str:
    """The secure-connection section of the admin page's HTML."""
    return html.split('<h2 id="https">', 1)[1].split("<h2", 1)[0]
