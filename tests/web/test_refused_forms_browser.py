"""A refused hand-in in headless Chromium on a 360 px phone, zh-CN, JavaScript off (issue 16, defect 1): the lesson
page comes back with the message at the field, in Chinese, and what the child typed still in the answer box.
TPKIT_REFUSED_SHOTS=<folder> saves the screenshots there, to look at."""

from __future__ import annotations

import os

import pytest

from tests.web.browsers import PHONE_WIDTH_PX, browser, phone, scroll_width  # noqa: F401
from tests.web.lesson_data import PDF
from tests.web.test_lessons_browser import school  # noqa: F401

pytestmark = [pytest.mark.browser]


def _look(page, name: str) -> None:
    folder = os.environ.get("TPKIT_REFUSED_SHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, name), full_page=True)


def test_refused_hand_in_at_phone_width_keeps_the_answer(browser, school):  # noqa: F811
    live, class_id, students, lesson_id, root = school
    context = phone(browser, live, java_script_enabled=False, locale="zh-CN")
    page = context.new_page()
    page.goto(f"/learn/{class_id}/{students['Anna']}")
    page.fill("input.pin", "2587")
    page.press("input.pin", "Enter")
    page.wait_for_url("**/me")
    page.goto(f"/me/lessons/{lesson_id}")

    page.click("form[action$='/handin'] button[type=submit]")  # nothing written, no photo
    message = page.locator("#body-error")
    assert "作业是空的" in message.inner_text()
    assert page.locator("h1").inner_text() == "The water cycle"  # the lesson's own page, its title as the teacher typed
    assert "给技术员的详细信息" not in page.content()
    assert scroll_width(page) <= PHONE_WIDTH_PX
    _look(page, "refused-empty-360.png")

    sheet = root / "homework.pdf"
    sheet.write_bytes(PDF)
    page.fill("form[action$='/handin'] textarea[name=body]", "太阳晒热了水，水变成水汽。")
    page.set_input_files("input[name=photos]", str(sheet))  # a PDF sent as a photo
    page.click("form[action$='/handin'] button[type=submit]")
    assert page.locator("#photos-error").is_visible() and "重新选择" in page.locator("#photos-error").inner_text()
    assert page.input_value("form[action$='/handin'] textarea[name=body]") == "太阳晒热了水，水变成水汽。"
    box = page.locator("form[action$='/handin'] textarea[name=body]").bounding_box()
    shown = page.locator("#photos-error").bounding_box()
    assert box and shown and 0 < shown["y"] - box["y"] < 300  # the message is at the form, not at the page's top
    assert scroll_width(page) <= PHONE_WIDTH_PX
    _look(page, "refused-pdf-360.png")
    context.close()
