"""The class page as a village teacher reads it in zh-CN, in headless Chromium: at 1280 px (the teacher's laptop)
and 360 px (a phone), with last sign-ins, who came today and the housekeeping links; no English word, nothing
wider than the screen. TPKIT_HK_SHOTS=<folder> saves screenshots there for a person to look at."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appliance.config import load_settings
from appliance.services.kit import open_kit
from appliance.services.people import access, auth, class_roster
from appliance.services.people.access import CONSOLE
from appliance.web.app import create_app
from tests.conftest import LiveServer
from tests.web.browsers import PHONE_WIDTH_PX, browser, scroll_width, sign_in  # noqa: F401
from tests.web.chinese_pages import visible_words
from tests.web.people_clients import TEACHER_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CLASS = "三年级一班"
NAMES = ["王芳", "李小明", "张伟", "赵丽颖", "欧阳娜娜", "孙悟空", "陈晨", "刘洋"]
# "PIN" is the catalogue's word for the children's number (teach.new_pin "新 PIN 码", teach.no_pin…), not this
# page's alone: the zh sweep decides it for every page; the rest of the page must have no Latin word
DATA = (CLASS, "李老师", "PIN", *NAMES)


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    root = tmp_path_factory.mktemp("class-page-kit")
    settings = load_settings(
        environ={}, overrides={"data_dir": str(root / "data"), "content_dir": str(root / "c"), "mdns_enabled": False}
    )
    kit = open_kit(settings)
    auth.ensure_first_admin(kit.accounts)
    teacher_id = access.create_teacher(kit.people, CONSOLE, "李老师", "li.wei", TEACHER_PASSWORD)
    with kit.people.transaction() as conn:
        kit.people.update_person(conn, teacher_id, must_change_password=0)
    csv = "姓名,学号,密码\n" + "".join(f"{name},2014{n:04d},{2468 + 11 * n}\n" for n, name in enumerate(NAMES))
    result = class_roster.import_file(kit.people, CONSOLE, csv.encode(), "3a.csv", CLASS, "li.wei")
    klass = kit.people.class_by_id(result.class_id)
    pins = {name: pin for name, _, pin in result.pins}
    for student in kit.people.students_of(klass["id"])[:3]:  # three children signed in this morning
        access.student_sign_in(kit, klass, student, pins[student["display_name"]], "10.0.0.9")
    with LiveServer(create_app(kit, watch_library=False)) as server:
        yield server, klass["id"]
    kit.close()


@pytest.mark.parametrize("width", [1280, PHONE_WIDTH_PX])
def test_class_page_in_chinese_at_laptop_and_phone_width(browser, school, width):
    server, class_id = school
    context = _teacher(browser, server, "zh-CN", width)
    page = context.pages[0]
    try:
        page.goto(f"/teach/{class_id}")
        assert page.locator("#attendance").inner_text().startswith("今天谁来了")
        assert page.locator(".attendance tr.present").count() == 3
        assert page.locator("text=从未").count() == len(NAMES) - 3
        assert visible_words(page.content(), DATA) == []
        assert scroll_width(page) <= width
        _shot(page, f"class-page-zh-{width}.png")
        page.locator(".attendance tr.present button").first.click()  # the teacher corrects: that child went home
        assert page.locator(".attendance tr.present").count() == 2 and page.locator("text=老师改过").count() == 1
        page.locator(".attendance tr.absent", has_text="老师改过").locator("button").click()  # and came back
        assert page.locator(".attendance tr.present").count() == 3
        page.click("a[rel=prev]")
        assert page.locator(".attendance tr.present").count() == 0 and page.locator("a[rel=next]").count() == 1
        page.goto(f"/teach/{class_id}/students/{_first_student(page, class_id)}")
        assert visible_words(page.content(), DATA) == [] and scroll_width(page) <= width
        _shot(page, f"student-edit-zh-{width}.png")
        page.goto(f"/teach/{class_id}/remove")
        assert "要删除班级" in page.content() and visible_words(page.content(), DATA) == []
        assert scroll_width(page) <= width
        _shot(page, f"class-remove-zh-{width}.png")
    finally:
        context.close()


def test_class_page_in_english_at_phone_width(browser, school):
    server, class_id = school
    context = _teacher(browser, server, "en-US", PHONE_WIDTH_PX)
    page = context.pages[0]
    try:
        page.goto(f"/teach/{class_id}")
        assert page.locator("#attendance").inner_text().startswith("Who came today")
        assert page.locator("text=Last sign-in: never").count() == len(NAMES) - 3
        assert scroll_width(page) <= PHONE_WIDTH_PX
        _shot(page, f"class-page-en-{PHONE_WIDTH_PX}.png")
    finally:
        context.close()


def _teacher(browser, server, locale: str, width: int):
    """A browser context signed in as the class's teacher, its one page open."""
    context = browser.new_context(base_url=server.url, locale=locale, viewport={"width": width, "height": 900})
    page = context.new_page()
    sign_in(page, "li.wei", TEACHER_PASSWORD)
    return context


def _first_student(page, class_id: int) -> str:
    page.goto(f"/teach/{class_id}")
    href = page.locator(".roster td a").first.get_attribute("href")
    assert href
    return href.rsplit("/", 1)[-1]


def _shot(page, name: str) -> None:
    folder = os.environ.get("TPKIT_HK_SHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=True)
