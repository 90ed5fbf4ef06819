""" "按课本找" in headless Chromium at 360 px (issue 17 §2), on the demo library a fresh kit has: a child drills from
the home page to a unit with plain links (no JavaScript needed) in Chinese with no Latin word; a teacher goes from
a lesson's page to the unit and adds an item in one tap; the same page in English. Screenshots go to /tmp
(TPKIT_SCREENSHOTS=1: also docs/screenshots/units-zh.png)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from appliance.services.learning import lessons
from appliance.services.library import demo_books
from appliance.web.app import create_app
from tests.conftest import LiveServer
from tests.web.browsers import PHONE_WIDTH_PX, browser, phone, screenshot, scroll_width, sign_in  # noqa: F401
from tests.web.chinese_pages import visible_words
from tests.web.people_clients import TEACHER_PASSWORD, classroom

pytestmark = [pytest.mark.browser]

TAP_TARGET_PX = 44
LESSON = "认识水"


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    """A fresh kit's demo library and a class; (server, kit, (its teacher, the class's id))."""
    root = tmp_path_factory.mktemp("units-kit")
    demo_books.build(root / "c")
    kit, teacher_id, result = classroom(root, "name,pin\n王小明,2580\n", "三年级一班")
    with LiveServer(create_app(kit, watch_library=False)) as server:
        yield server, kit, (kit.people.person(teacher_id), result.class_id)
    kit.close()


def _on_new_lesson(browser, school):
    """The teacher signed in on a phone, on the page of a new lesson of theirs (LESSON): (context, page, its id)."""
    live, kit, (teacher, class_id) = school
    lesson_id = lessons.create(kit.people, kit.lessons, teacher, class_id, LESSON, "", False, "", [])
    context = phone(browser, live, locale="zh-CN")
    page = context.new_page()
    sign_in(page, "li.wei", TEACHER_PASSWORD)
    page.wait_for_url("**/teach")
    page.goto(f"/teach/lessons/{lesson_id}")
    return context, page, lesson_id


def _shot(page, name: str) -> None:
    page.screenshot(path=str(Path("/tmp") / name), full_page=True)
    screenshot(page, name)


def _tap(page, text: str) -> None:
    link = page.locator("main a", has_text=text).first
    box = link.bounding_box()
    assert box["height"] >= TAP_TARGET_PX, text
    with page.expect_navigation():
        link.click()


def test_units_browser_a_child_drills_to_a_unit_in_chinese_at_360(browser, school):
    live, _, _ = school
    context = phone(browser, live, locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    page.goto("/")
    _tap(page, "按课本找")
    for step in ("人教版", "三年级上册", "科学", "第1单元 水"):
        assert visible_words(page.content()) == [], page.url
        assert scroll_width(page) <= PHONE_WIDTH_PX, page.url
        _tap(page, step)
    html = page.content()
    assert visible_words(html) == [] and scroll_width(page) <= PHONE_WIDTH_PX
    assert page.locator("main h1").inner_text() == "第1单元 水"
    assert page.locator("main h2").all_inner_texts() == ["本单元的图书", "第1课 水的旅行", "第2课 天气"]
    assert "添加" not in page.locator("main").inner_text()  # a child adds nothing
    _shot(page, "units-zh.png")
    page.locator("main a", has_text="水循环").click()
    page.wait_for_load_state()
    assert re.search(r"/content/tpkit_demo_zh/shui_xunhuan$", page.url)
    context.close()


def test_units_browser_a_teacher_adds_from_the_lesson_page_in_one_tap(browser, school):
    kit = school[1]
    context, page, lesson_id = _on_new_lesson(browser, school)
    _tap(page, "按课本找")
    for step in ("人教版", "三年级上册", "数学", "第8单元 分数的初步认识"):
        _tap(page, step)
    assert visible_words(page.content(), ("Ms Li",)) == []
    assert scroll_width(page) <= PHONE_WIDTH_PX
    button = page.locator("main button", has_text=f"添加到《{LESSON}》")
    assert button.count() == 1 and button.bounding_box()["height"] >= TAP_TARGET_PX
    _shot(page, "units-teacher-zh.png")
    with page.expect_navigation():
        button.click()
    assert page.locator("#added").inner_text().startswith("已添加到这节课。")
    assert [i["path"] for i in kit.lessons.items(lesson_id)] == ["fenshu"]
    page.locator("#added a").click()
    page.wait_for_url(f"**/teach/lessons/{lesson_id}")
    assert "分数" in page.locator("main ul.lessons").first.inner_text()
    context.close()


def test_units_browser_a_teacher_places_a_lesson_and_finds_it_under_its_unit(browser, school):
    context, page, _ = _on_new_lesson(browser, school)
    assert page.locator("#position + p.count").inner_text() == "这节课还没有放入课本位置。"
    for name, label in (
        ("pos_edition", "人教版"),
        ("pos_grade", "三年级"),
        ("pos_volume", "上册"),
        ("pos_subject", "数学"),
    ):
        page.select_option(f"select[name={name}]", label=label)
    page.fill("input[name=pos_unit]", "8")
    page.fill("input[name=pos_lesson]", "1")
    assert scroll_width(page) <= PHONE_WIDTH_PX
    with page.expect_navigation():
        page.click("form.position button[type=submit]")
    assert page.locator("#position + p.count").inner_text() == "人教版 · 三年级上册 · 数学 · 第8单元 · 第1课"
    page.locator("#position").scroll_into_view_if_needed()
    _shot(page, "units-lesson-place-zh.png")
    _tap(page, "按课本找")  # straight to the lesson's unit
    assert page.locator("main h1").inner_text() == "第8单元 分数的初步认识"
    assert LESSON in page.locator("main ul.lessons").last.inner_text()
    assert visible_words(page.content(), ("Ms Li",)) == []
    context.close()


def test_units_browser_the_unit_page_in_english(browser, school):
    live, _, _ = school
    context = phone(browser, live, locale="en-GB")
    page = context.new_page()
    page.goto("/units?edition=rjb&grade=3&volume=1&subject=science&unit=2")
    assert page.locator("main h1").inner_text() == "Unit 2 Plants"
    assert page.locator("main p.count").first.inner_text() == "PEP edition · Grade 3, Book 1 · Science"
    assert page.locator("main h2").all_inner_texts() == [
        "Books for this unit",
        "Lesson 1 Plants and sunlight",
        "Lesson 2 Growing rice",
    ]
    assert scroll_width(page) <= PHONE_WIDTH_PX
    _shot(page, "units-en.png")
    context.close()
