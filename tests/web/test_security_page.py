"""/admin/security: the audit's findings for administrators only, in Chinese and English, on a phone's width.

Real kit, real uvicorn on loopback, real sessions; Debian's Chromium through Playwright for the 360 px check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from appliance.services.people import auth
from appliance.web import security_routes
from tests.web.people_clients import role_clients

SECURITY = Path(__file__).parents[2] / "appliance" / "services" / "security"


@pytest.mark.slow
def test_security_page_is_for_administrators_only(kit, live):
    clients, _ = role_clients(kit, live.url)
    try:
        statuses = {role: http.get("/admin/security").status_code for role, http in clients.items()}
        admin = clients["admin"].get("/admin?lang=en")
    finally:
        for http in clients.values():
            http.close()
    assert statuses == {
        "anonymous": 401,
        "student_a": 403,
        "student_b": 403,
        "teacher_a": 403,
        "teacher_b": 403,
        "admin": 200,
    }
    assert 'href="/admin/security"' in admin.text


def _visible_words(html: str) -> list[str]:
    """Latin words a reader sees in the page's main part, leaving out code, data rows (names, paths, units) and
    the page's chrome."""
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    for pattern in (r"<code>.*?</code>", r'<table class="audit-rows">.*?</table>', r"<[^>]+>", r"&[a-z#0-9]+;"):
        main = re.sub(pattern, " ", main, flags=re.DOTALL)
    return re.findall(r"[A-Za-z]{2,}", main)


def test_security_page_in_chinese_and_english(kit, live):
    clients, _ = role_clients(kit, live.url)
    auth.sign_in(kit.accounts, "t-a", "password-a-123")
    try:
        zh = clients["admin"].get("/admin/security?lang=zh")
        en = clients["admin"].get("/admin/security?lang=en")
    finally:
        for http in clients.values():
            http.close()
    assert zh.status_code == en.status_code == 200
    assert zh.headers["cache-control"] == "no-store"
    assert "安全检查" in zh.text and "账号与角色" in zh.text and "Class A" in zh.text  # a class name is data
    assert _visible_words(zh.text) == [], "no English word in the Chinese page"
    assert "Security" in en.text and "2 teacher accounts;" in en.text and "(s)" not in en.text
    assert "<code>tpkit audit</code>" in en.text


def test_security_page_lists_every_key_the_checks_return():
    """The checks name their sentences at run time; extraction finds them only in security_routes' list."""
    named = {
        key
        for module in SECURITY.glob("*.py")
        for key in re.findall(r'"(audit\.[a-z_]+\.[a-z_]+)"', module.read_text())
    }
    listed = {key for key in security_routes.BUILT_AT_RUN_TIME if key.startswith("audit.")}
    assert listed == named | {f"{key}.fix" for key in named}


@pytest.mark.browser
def test_security_page_fits_a_phone_in_chinese(kit, live, tmp_path):
    from tests.web.browsers import PHONE, PHONE_WIDTH_PX, chromium, sign_in

    two = role_clients(kit, live.url)
    for http in two[0].values():
        http.close()
    with chromium() as launched:
        context = launched.new_context(base_url=live.url, locale="zh-CN", **PHONE)
        page = context.new_page()
        sign_in(page, "admin", two[1]["passwords"]["admin"])
        page.goto("/admin/security")
        assert page.locator("h1").inner_text().startswith("安全检查")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH_PX
        page.screenshot(path=str(tmp_path / "security-zh-360.png"), full_page=True)
