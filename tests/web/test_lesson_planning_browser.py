"""The teacher's lesson pages in headless Chromium, zh-CN at 360 px (issue 16): the new-lesson form's choices are
whole rows to tap with their boxes in line, and the class overview's chart names its lessons, axis and values in
Chinese. No English word in either page. Screenshots go to /tmp (TPKIT_SCREENSHOTS=1: also docs/screenshots)."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.services.learning import grading, lessons
from appliance.services.library import demo_books
from appliance.web.app import create_app
from tests.conftest import LiveServer, make_book
from tests.web.browsers import PHONE_WIDTH_PX, browser, phone, screenshot, scroll_width, sign_in  # noqa: F401
from tests.web.chinese_pages import visible_words
from tests.web.people_clients import TEACHER_PASSWORD, classroom

pytestmark = [pytest.mark.browser]

ROSTER = "name,pin\n王小明,2580\n李小红,2587\n张伟,3691\n刘洋,4702\n陈静,5813\n杨帆,6924\n"
LESSONS = ("水循环", "植物的光合作用与呼吸作用（第二课时）", "认识月亮")
DATA = ("Ms Li",)  # the teacher's name as typed
TAP_TARGET_PX = 44


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    """A class of six, three published homework lessons; four children handed in the first, two were graded."""
    root = tmp_path_factory.mktemp("planning-kit")
    make_book(root / "c", "test_book")
    demo_books.build(root / "c")
    kit, teacher_id, result = classroom(root, ROSTER, "三年级一班")
    teacher = kit.people.person(teacher_id)
    ids = [lessons.create(kit.people, kit.lessons, teacher, result.class_id, t, "", True, "", []) for t in LESSONS]
    students = kit.people.students_of(result.class_id)
    for n, student in enumerate(students[:4]):
        handin_id = lessons.hand_in(kit, student, ids[0], "蒸发、凝结、降水", [])
        if n < 2:
            grading.grade(kit, teacher, handin_id, "grade", str(7 + n), "10", "", "")
    lessons.hand_in(kit, students[0], ids[1], "叶子", [])
    with LiveServer(create_app(kit, watch_library=False)) as server:
        yield server, result.class_id, ids
    kit.close()


def _teacher_zh(browser, live, width_px: int = PHONE_WIDTH_PX):
    if width_px == PHONE_WIDTH_PX:
        context = phone(browser, live, locale="zh-CN")
    else:
        context = browser.new_context(base_url=live.url, locale="zh-CN", viewport={"width": width_px, "height": 900})
    page = context.new_page()
    sign_in(page, "li.wei", TEACHER_PASSWORD)
    page.wait_for_url("**/teach")
    return context, page


def _shot(page, name: str) -> None:
    page.screenshot(path=str(Path("/tmp") / name), full_page=True)
    screenshot(page, name)


def test_lesson_planning_browser_new_lesson_form_zh_360(browser, school):
    live, class_id, _ = school
    context, page = _teacher_zh(browser, live)
    page.goto(f"/teach/{class_id}/lessons/new")
    assert visible_words(page.content(), DATA) == []
    assert scroll_width(page) <= PHONE_WIDTH_PX
    assert page.is_checked("input[name=publish][value=draft]")  # a new lesson starts as a draft
    rows = page.locator("label.pick")
    assert rows.count() == 1 + 6 + 3  # homework, six children, three publish choices
    for n in range(rows.count()):
        row, box = rows.nth(n).bounding_box(), rows.nth(n).locator("input").bounding_box()
        assert row["height"] >= TAP_TARGET_PX - 0.5, rows.nth(n).inner_text()
        assert box["width"] >= 20 and box["height"] >= 20  # not the 13-px default
        middle = row["y"] + row["height"] / 2
        assert abs(box["y"] + box["height"] / 2 - middle) <= 2, rows.nth(n).inner_text()  # in line with its name
    pickers = [page.locator(".picker label.pick").nth(n).bounding_box() for n in range(6)]
    assert len({round(b["x"]) for b in pickers}) == 2  # two columns of children at 360 px, aligned
    _shot(page, "lesson-new-zh-360.png")
    page.click("text=王小明")  # tapping the name ticks the box
    assert page.is_checked(".picker label:has-text('王小明') input")
    page.fill("input[name=title]", "认识昆虫")
    page.check("input[name=publish][value=later]")
    page.fill("input[name=publish_day]", "2099-03-02")
    page.fill("input[name=publish_time]", "08:00")
    page.click("main button[type=submit]")
    page.wait_for_url("**/teach/lessons/*")
    status = page.locator("main p.count").first.inner_text()
    assert "定时发布 2099年3月2日 08:00" in status
    # "PDF" names the file kind a teacher may upload (lesson.file_help), as Chinese teachers say it
    assert visible_words(page.content(), DATA + ("认识昆虫", "PDF")) == []
    _shot(page, "lesson-scheduled-zh-360.png")
    context.close()


def test_lesson_planning_browser_overview_chart_zh_360(browser, school):
    live, class_id, _ = school
    context, page = _teacher_zh(browser, live)
    page.goto(f"/teach/{class_id}/overview")
    assert visible_words(page.content(), DATA) == []
    assert scroll_width(page) <= PHONE_WIDTH_PX
    names = page.locator(".chart text.name").all_text_contents()
    assert names == list(LESSONS)
    values = page.locator(".chart text.value").all_text_contents()
    assert values[:2] == ["67%", "75%"]  # 4 of 6 handed in; 7/10 and 8/10
    assert "还没有评分" in values
    assert page.locator(".chart text.tick").all_text_contents() == ["0", "25", "50", "75", "100%"]
    heights = [b["height"] for b in (t.bounding_box() for t in page.locator(".chart text.name").all())]
    assert min(heights) >= 11  # readable on a phone: the SVG is about one unit per pixel at 360 px
    chart = page.locator(".chart svg").bounding_box()
    assert chart["width"] <= PHONE_WIDTH_PX and chart["x"] >= 0
    _shot(page, "overview-chart-zh-360.png")
    context.close()


def test_lesson_planning_browser_lesson_page_search_and_copy_zh_1280(browser, school):
    live, class_id, ids = school
    context, page = _teacher_zh(browser, live, 1280)
    page.goto(f"/teach/lessons/{ids[1]}?q=光合作用")
    found = page.locator("ul.results li")
    assert found.filter(has_text="植物和阳光").count() == 1  # the word is in its text, not in its title
    assert "光合作用" in found.filter(has_text="植物和阳光").locator("p b").first.inner_text()
    assert visible_words(page.content(), DATA + ("PDF",)) == []
    _shot(page, "lesson-search-zh-1280.png")
    found.filter(has_text="植物和阳光").locator("button").click()
    page.wait_for_url(f"**/teach/lessons/{ids[1]}")
    assert "植物和阳光" in page.locator("ul.lessons").inner_text()
    page.click("text=把这节课复制到班级")
    page.wait_for_url("**/copy")
    assert page.is_checked("input[name=class]")  # the teacher's one class, chosen already
    assert visible_words(page.content(), DATA + (LESSONS[1],)) == []
    _shot(page, "lesson-copy-zh-1280.png")
    page.click("main button[type=submit]")
    page.wait_for_url("**notice=copied")
    assert "已复制" in page.locator(".notice").inner_text()
    assert "草稿" in page.locator("main p.count").first.inner_text()
    context.close()
