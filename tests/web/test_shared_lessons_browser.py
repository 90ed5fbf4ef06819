"""Lessons shared through the county in headless Chromium at 360 px, in Chinese (issue 17 §4): the teacher's share
form (what goes out, the licences each in one line) sent with JavaScript off, the state on the lesson's page, and the
unit page's shared lesson with its copy button, used. No Latin word on these pages. Screenshots go to /tmp
(TPKIT_SCREENSHOTS=1: also docs/screenshots/share-zh.png and share-unit-zh.png)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from appliance.services.learning import lessons
from appliance.web.app import create_app
from tests.conftest import LiveServer
from tests.county_lessons import county_lessons_book, lesson_body
from tests.web.browsers import PHONE_WIDTH_PX, browser, screenshot, scroll_width, signed_in_phone  # noqa: F401
from tests.web.chinese_pages import visible_words
from tests.web.lesson_data import PDF
from tests.web.people_clients import TEACHER_PASSWORD, classroom

pytestmark = [pytest.mark.browser]

TAP_TARGET_PX = 44
TYPED = (
    "Ms Li",
    "tpkit",
    "分数练习.pdf",
)  # what people typed (the teacher's and school's names, a file's name): as typed
SHEET = PDF + b"0" * 200_000


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    """A kit with the county's lessons book and a class; (server, kit, (its teacher, the class's id))."""
    root = tmp_path_factory.mktemp("share-kit")
    body = lesson_body([("练习单.pdf", "application/pdf", SHEET)])
    county_lessons_book(root / "c", [(body, [SHEET])])
    kit, teacher_id, result = classroom(
        root, "name,pin\n王小明,2580\n", "三年级一班", school_name="某某小学", default_language="zh"
    )
    with LiveServer(create_app(kit, watch_library=False)) as server:
        yield server, kit, (kit.people.person(teacher_id), result.class_id)
    kit.close()


def _signed_in(browser, school, **options):
    return signed_in_phone(browser, school[0], "li.wei", TEACHER_PASSWORD, locale="zh-CN", **options)


def _shot(page, name: str) -> None:
    page.screenshot(path=str(Path("/tmp") / name), full_page=True)
    screenshot(page, name)


def _fits(page) -> None:
    assert visible_words(page.content(), TYPED) == [], page.url
    assert scroll_width(page) <= PHONE_WIDTH_PX, page.url


def test_shared_lessons_browser_a_teacher_shares_a_lesson_without_javascript(browser, school):
    _, kit, (teacher, class_id) = school
    lesson_id = lessons.create(
        kit.people, kit.lessons, teacher, class_id, "认识分数", "先折纸，再涂色。", False, "", []
    )
    lessons.add_upload(kit, teacher, lesson_id, io.BytesIO(SHEET), "分数练习.pdf", "分数练习")
    context, page = _signed_in(browser, school, java_script_enabled=False)
    page.goto(f"/teach/lessons/{lesson_id}")
    link = page.locator("#share a.button")
    assert link.inner_text() == "分享到县里" and link.bounding_box()["height"] >= TAP_TARGET_PX
    with page.expect_navigation():
        link.click()
    _fits(page)
    assert "分数练习.pdf" in page.locator("dl.share-what").inner_text()
    licences = page.locator("fieldset label.pick")
    assert licences.count() == 4 and page.locator("input[value='CC BY 4.0']").is_checked()
    _shot(page, "share-zh.png")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert visible_words(f"<main>{page.locator('#share').inner_html()}</main>", TYPED) == []  # the section added
    assert scroll_width(page) <= PHONE_WIDTH_PX
    assert page.locator("#share .notice").inner_text().startswith("这节课已排队发往县里")
    assert (
        page.locator("#share .share-state").inner_text() == "第 1 版：等待发送（还有 3 份在待发箱里）"
    )  # the lesson and its sheet in 2 parts
    assert [r.kind for r in kit.outbox.all()] == ["lesson", "lesson_file", "lesson_file"]
    context.close()


def test_shared_lessons_browser_a_teacher_copies_a_shared_lesson_from_its_unit(browser, school):
    _, kit, (_, class_id) = school
    context, page = _signed_in(browser, school)
    page.goto("/units?edition=rjb&grade=3&volume=1&subject=math&unit=2")
    _fits(page)
    shared = page.locator("ul.shared-lessons li")
    assert shared.count() == 1 and "王老师 · 某某小学 · 署名" in shared.inner_text()
    button = shared.locator("button", has_text="复制到我的班级")
    assert button.bounding_box()["height"] >= TAP_TARGET_PX
    shared.scroll_into_view_if_needed()
    _shot(page, "share-unit-zh.png")
    with page.expect_navigation():
        button.click()
    assert scroll_width(page) <= PHONE_WIDTH_PX  # the lesson page's words: tests/web/test_zh_sweep_browser.py
    assert page.locator("main h1").inner_text() == "两位数加两位数"
    assert "来自 王老师（某某小学），CC BY 4.0" in page.locator("main .instructions").inner_text()
    copied = [lesson for lesson in kit.lessons.of_class(class_id) if lesson["title"] == "两位数加两位数"]
    assert len(copied) == 1 and [i["kind"] for i in kit.lessons.items(copied[0]["id"])] == ["upload"]
    context.close()
