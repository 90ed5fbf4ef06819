"""Grading in headless Chromium as a Chinese village teacher does it, JavaScript off: zh-CN at 1280 px (the teacher's
laptop) and at 360 px (a phone): the lesson's 交了 N/M, one hand-in per page with its thumbnails, a level tapped, a
common comment added by its button, 保存并看下一份. No English word on these Chinese pages (tests/web/chinese_pages).
TPKIT_SCREENSHOTS=1 saves the docs' screenshot; every run saves PNGs in the system's temp folder."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest

from appliance.services.learning import lessons
from appliance.web.app import create_app
from tests.conftest import LiveServer
from tests.photo_data import phone_jpeg
from tests.web.browsers import PHONE, PHONE_WIDTH_PX, browser, screenshot, scroll_width, sign_in  # noqa: F401
from tests.web.chinese_pages import visible_words
from tests.web.people_clients import TEACHER_PASSWORD, classroom

pytestmark = [pytest.mark.browser]

DESK = {"viewport": {"width": 1280, "height": 800}}
NAMES = ("李娜", "陈静", "张伟")  # 学号 1, 2, 3: the order "next" follows
DATA = (*NAMES, "三年级一班", "画水的循环", "李老师 Ms Li", "Ms Li")
SHOTS = Path(tempfile.gettempdir()) / "tpkit-grading-shots"


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    """A class of three, a homework each handed in with a photo and a line of text."""
    root = tmp_path_factory.mktemp("grading-kit")
    (root / "c").mkdir()
    roster = "name,student_number,pin\n张伟,3,2580\n李娜,1,2581\n陈静,2,2582\n"
    kit, teacher_id, result = classroom(root, roster, "三年级一班")
    teacher = kit.people.person(teacher_id)
    lesson_id = lessons.create(
        kit.people, kit.lessons, teacher, result.class_id, "画水的循环", "画出来，拍照交。", True, "", []
    )
    kit.lessons.set_rubric(lesson_id, "书写工整\n画图清楚")  # a simple rubric: a level on each criterion
    for n, student in enumerate(kit.people.students_of(result.class_id)):
        photo = io.BytesIO(phone_jpeg(1600, 1200, quality=85))
        lessons.hand_in(
            kit, kit.people.person(student["id"]), lesson_id, f"太阳把水晒热了，第 {n + 1} 张图。", [(photo, "图.jpg")]
        )
    with LiveServer(create_app(kit, watch_library=False)) as server:
        yield server, lesson_id
    kit.close()


def _teacher(browser, live, viewport: dict):
    context = browser.new_context(base_url=live.url, locale="zh-CN", java_script_enabled=False, **viewport)
    page = context.new_page()
    sign_in(page, "li.wei", TEACHER_PASSWORD)
    page.wait_for_url("**/teach")
    return context, page


def _shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


@pytest.mark.parametrize("width", [1280, PHONE_WIDTH_PX])
def test_grading_browser_zh_levels_comments_and_next(browser, school, width):
    live, lesson_id = school
    context, page = _teacher(browser, live, DESK if width == 1280 else PHONE)
    page.goto(f"/teach/lessons/{lesson_id}")
    handins = page.locator("#handins").inner_text()
    assert "交了 3/3" in handins and "开始批改" in handins
    # the hand-ins part (the rest of the page is the lesson's, e.g. "PDF" in the file form's help)
    assert visible_words(f"<main>{page.inner_html('#handins')}</main>", DATA) == []
    assert page.locator("main img").count() == 0  # no picture on the lesson page any more
    first = page.locator("#handins li a").first.inner_text()
    page.click(f"#handins li a:has-text('{first}')")
    assert page.locator("h1").inner_text() == first == NAMES[0]
    thumb = page.locator("img.thumb")
    assert thumb.count() == 1 and page.evaluate("document.querySelector('img.thumb').naturalWidth") == 320
    assert visible_words(page.content(), DATA) == [], visible_words(page.content(), DATA)
    if width == PHONE_WIDTH_PX:
        assert scroll_width(page) <= PHONE_WIDTH_PX
        level = page.locator(".levels label").first.bounding_box()
        assert level and level["height"] >= 36  # a finger's size, not a 13-px radio button
    page.check("input[name=level][value=excellent]")
    page.check("input[name=rubric_0][value=good]")
    page.fill("input[name=score]", "9")
    page.fill("input[name=out_of]", "10")
    page.fill("textarea[name=comment]", "画得很清楚。")
    page.click("button[name=comment_add] >> nth=0")  # a common comment, added without JavaScript
    assert page.input_value("textarea[name=comment]") == "画得很清楚。做得很好，继续加油！"
    assert page.is_checked("input[name=level][value=excellent]") and page.input_value("input[name=score]") == "9"
    assert page.is_checked("input[name=rubric_0][value=good]") and page.is_checked("input[name=rubric_1][value='']")
    _shot(page, f"handin-zh-{width}.png")
    if width == 1280:
        screenshot(page, "teach-handin-zh.png")
    page.click(".actions button[name=next]")
    page.wait_for_url("**/teach/handins/*")
    assert page.locator("h1").inner_text() == NAMES[1]  # the next child in 学号 order
    assert "第 2 份，共 3 份" in page.locator("main").inner_text()
    page.goto(f"/teach/lessons/{lesson_id}")
    assert "已评分 · 优 · 9/10" in page.locator("#handins").inner_text()
    _shot(page, f"lesson-handins-zh-{width}.png")
    context.close()
