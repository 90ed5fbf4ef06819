"""Parents take part (issue 18) in headless Chromium, zh-CN at 360 px: a parent opens 给家长看 from the child's My
space with JavaScript off, reads the homework (mark, comment), quiz marks and notices of that child only, taps 已阅,
has an empty message refused beside the box and sends one; the teacher, on the same phone size, sees the counts on
the class page, opens the child's family page and marks the message read. No English word in these Chinese pages
(names aside). Screenshots in /tmp, and in docs/screenshots with TPKIT_SCREENSHOTS=1."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from appliance.web.app import create_app
from tests.conftest import LiveServer, make_book
from tests.web.browsers import PHONE, PHONE_WIDTH_PX, browser, screenshot, scroll_width, sign_in, with_cookies  # noqa: F401
from tests.web.chinese_pages import visible_words
from tests.web.family_data import CLASS_NOTICE, HOMEWORK, QUIZ, comment_of, marked_homework, quiz_taken
from tests.web.people_clients import TEACHER_PASSWORD, classroom, student_client

pytestmark = [pytest.mark.browser]

SHOTS = Path("/tmp")
NAMES = ("王小明", "李丽", "李老师 Ms Li")


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    """A class of two, each with marked homework, a notice to the class and one to each child alone."""
    root = tmp_path_factory.mktemp("family-kit")
    make_book(root / "c", "test_book")
    kit, teacher_id, result = classroom(root, "name,pin\n王小明,2468\n李丽,1357\n", "三年级一班")
    made = marked_homework(kit, teacher_id, result.class_id)
    students = {s["display_name"]: s["id"] for s in kit.people.students_of(result.class_id)}
    quiz_taken(kit, teacher_id, result.class_id, students["王小明"])
    with LiveServer(create_app(kit, watch_library=False)) as server:
        yield server, kit, result.class_id, students, made
    kit.close()


def _shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / name), full_page=True)
    screenshot(page, name)


def _chinese(page) -> None:
    assert visible_words(page.content(), NAMES) == [], page.url
    assert scroll_width(page) <= PHONE_WIDTH_PX, page.url


def test_family_browser_parent_and_teacher_at_360(browser, school):  # noqa: F811
    server, kit, class_id, students, made = school
    http = student_client(server.url, class_id, students["王小明"], "2468")
    context = browser.new_context(base_url=server.url, locale="zh-CN", java_script_enabled=False, **PHONE)
    with_cookies(context, server.url, http.cookies)
    http.close()
    page = context.new_page()
    page.goto("/me")
    page.click("a:has-text('给家长看')")
    page.wait_for_url("**/me/family")
    main = page.locator("main")
    card = main.locator(".family-card").first.inner_text()
    assert HOMEWORK in card and "老师已批改" in card and "8 分（满分 10）" in card and comment_of("王小明") in card
    assert CLASS_NOTICE in main.inner_text() and "请王小明的家长明天来学校" in main.inner_text()
    assert f"{QUIZ} 三年级一班 · 1 分（满分 2）" in main.locator("#quizzes + ul").inner_text()
    assert "李丽" not in page.content()  # nothing of the other child, not even in the markup
    _chinese(page)
    _shot(page, "family-parent-zh.png")
    main.locator(".family-card button:has-text('已阅')").click()
    page.wait_for_url(re.compile(r".*/me/family\?notice=signed#handin-\d+$"))
    assert "已签收" in main.inner_text() and "✓ 已阅" in main.locator(".family-card").first.inner_text()
    page.fill("textarea[name=body]", "   ")
    page.click("button:has-text('发送')")
    assert "留言是空的" in page.locator("#body-error").inner_text()
    page.fill("textarea[name=body]", "孩子这周感冒了，作业会晚交，谢谢老师。")
    page.click("button:has-text('发送')")
    page.wait_for_url(re.compile(r".*notice=message_sent#message-\d+$"))
    assert "留言已经送到老师那里" in main.inner_text() and "老师还没读" in main.inner_text()
    _chinese(page)
    _shot(page, "family-parent-sent-zh.png")
    assert kit.db.read().execute("SELECT count(*) FROM family_messages").fetchone()[0] == 1
    context.close()

    teacher = browser.new_context(base_url=server.url, locale="zh-CN", **PHONE)
    page = teacher.new_page()
    sign_in(page, "li.wei", TEACHER_PASSWORD)
    page.wait_for_url("**/teach")
    page.goto(f"/teach/{class_id}")
    row = page.locator("table.roster tr", has_text="王小明").locator(".family-counts")
    assert row.inner_text() == "家长 新留言 1 条 新已阅 1 个"
    assert page.locator("table.roster tr", has_text="李丽").locator(".family-counts").inner_text() == "家长"
    row.locator("a").click()
    page.wait_for_url(f"**/teach/{class_id}/students/{students['王小明']}/family")
    text = page.locator("main").inner_text()
    assert "王小明的家长" in text and "孩子这周感冒了" in text and "写于" in text and "送达" in text
    assert f"作业：{HOMEWORK}" in text and page.locator("#signs + ul li b").inner_text() == "新"
    _chinese(page)
    _shot(page, "family-teacher-zh.png")
    page.click("button:has-text('标为已读')")
    page.wait_for_url(re.compile(r".*notice=message_read#message-\d+$"))
    assert "李老师 Ms Li 已读" in page.locator("main").inner_text()
    teacher.close()
