"""The sign-in cards as a teacher prints them, in headless Chromium: 40 children make 4 A4 pages of 10 cards, each
card's text on one page, no page header, footer or button on paper. TPKIT_SCREENSHOTS=1 saves the docs' PNGs."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from pypdf import PdfReader

from appliance.config import load_settings
from appliance.services.kit import open_kit
from appliance.services.people import access as people, auth, class_roster
from appliance.services.people.access import CONSOLE
from appliance.web.app import create_app
from tests.conftest import LiveServer
from tests.web.browsers import PHONE_WIDTH_PX, SCREENSHOTS, browser, scroll_width, sign_in  # noqa: F401
from tests.web.people_clients import TEACHER_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHILDREN = 40
CARDS_PER_PAGE = 10  # 2 × 5 on A4
NAMES = [f"Pupil {n:02d}" for n in range(1, CHILDREN + 1)]
CLASS = "三年级一班 Grade 3 A"
A4_POINTS = (595, 842)  # 210 × 297 mm


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    root = tmp_path_factory.mktemp("cards-kit")
    settings = load_settings(
        environ={},
        overrides={
            "data_dir": str(root / "data"),
            "content_dir": str(root / "c"),
            "mdns_enabled": False,
            "wifi_name": "双溪小学 教室",
        },
    )
    kit = open_kit(settings)
    auth.ensure_first_admin(kit.accounts)
    teacher_id = people.create_teacher(kit.people, CONSOLE, "李老师", "li.wei", TEACHER_PASSWORD)
    with kit.people.transaction() as conn:
        kit.people.update_person(conn, teacher_id, must_change_password=0)
    csv = "name,pin\n" + "".join(f"{name},{1000 + 37 * n}\n" for n, name in enumerate(NAMES))
    result = class_roster.import_file(kit.people, CONSOLE, csv.encode(), "3a.csv", CLASS, "li.wei")
    with LiveServer(create_app(kit, watch_library=False)) as server:
        yield server, result.class_id, {name: pin for name, _, pin in result.pins}
    kit.close()


def _teacher_page(browser, school, locale: str, width: int):
    context = browser.new_context(base_url=school[0].url, locale=locale, viewport={"width": width, "height": 900})
    page = context.new_page()
    sign_in(page, "li.wei", TEACHER_PASSWORD)
    assert page.url.endswith("/teach")
    return context, page


def test_cards_print_on_a4_ten_to_a_page(browser, school):
    server, class_id, pins = school
    context, page = _teacher_page(browser, school, "en-US", 1280)
    try:
        page.goto(f"/teach/{class_id}/cards")
        assert page.locator(".card").count() == CHILDREN
        assert page.locator("button[data-print]").is_visible()  # JavaScript on: the print button shows
        pdf = PdfReader(io.BytesIO(page.pdf(format="A4", prefer_css_page_size=True)))
        assert len(pdf.pages) == CHILDREN // CARDS_PER_PAGE
        texts = [p.extract_text() for p in pdf.pages]
        for p in pdf.pages:
            assert tuple(round(float(v)) for v in p.mediabox.upper_right) == A4_POINTS
        address = f"{server.url}/learn/{class_id}"
        for name in NAMES:  # each card whole on one page: the name and its PIN together, once
            holding = [n for n, text in enumerate(texts) if name in text]
            assert len(holding) == 1, name
            assert f"PIN{pins[name]}\n" in texts[holding[0]].replace(" ", "")  # the digits are spaced out
        for text in texts:
            assert text.count(address) == CARDS_PER_PAGE
            assert "tpkit" not in text.lower() and "Print the cards" not in text and "Sign-in cards" not in text
    finally:
        context.close()


def test_cards_in_chinese_at_teacher_and_phone_width(browser, school):
    _, class_id, _ = school
    for width, name in ((1280, "cards-zh.png"), (PHONE_WIDTH_PX, "cards-zh-phone.png")):
        context, page = _teacher_page(browser, school, "zh-CN", width)
        try:
            page.goto(f"/teach/{class_id}/cards")
            assert page.locator("h1").inner_text().startswith("登录卡")
            assert "连接无线网络" in page.locator(".card").first.inner_text()
            assert scroll_width(page) <= width
            _save(page, f"/tmp/{name}")
            if width == 1280:
                page.emulate_media(media="print")
                page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi: the print preview
                _save(page, "/tmp/cards-print-zh.png")
                if os.environ.get("TPKIT_SCREENSHOTS") == "1":  # the docs' picture: the first A4 page only
                    page.screenshot(path=str(SCREENSHOTS / "sign-in-cards.png"))
        finally:
            context.close()


def _save(page, path: str) -> None:
    """A look for the engineer (in /tmp, never in the tree) when TPKIT_LOOK=1."""
    if os.environ.get("TPKIT_LOOK") == "1":
        page.screenshot(path=str(Path(path)), full_page=True)
