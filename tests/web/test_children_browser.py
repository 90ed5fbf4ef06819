"""The child's side in headless Chromium, zh-CN at 360 px (issue 16): the header with the child's name, 我的空间 and
退出 on the library, search, a lesson's article and My space; a class notice on top of My space until 知道了; lessons
as large cards with their progress; one history; a lesson's article under the kit bar; signing out from the header.
No English word in the Chinese pages (book content and names aside). Screenshots in /tmp, and in docs/screenshots
with TPKIT_SCREENSHOTS=1."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from appliance.services.learning import lessons, notices
from appliance.web.app import create_app
from tests.conftest import LiveServer, make_book
from tests.web.browsers import PHONE, PHONE_WIDTH_PX, browser, screenshot, scroll_width, sign_in, with_cookies  # noqa: F401
from tests.web.chinese_pages import visible_words
from tests.web.people_clients import TEACHER_PASSWORD, classroom, student_client

pytestmark = [pytest.mark.browser]

SHOTS = Path("/tmp")
BOOK_WORDS = (
    "Water cycle",
    "Welcome",
    "Test book",
)  # the test book's own titles: book content, shown as the book has it


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    """A kit with a book, a class of two, a homework lesson with two articles and a notice to the class."""
    root = tmp_path_factory.mktemp("children-kit")
    make_book(root / "c", "test_book")
    kit, teacher_id, result = classroom(root, "name,pin\n王小明,2468\n李丽,1357\n", "三年级一班")
    teacher = kit.people.person(teacher_id)
    lesson_id = lessons.create(
        kit.people, kit.lessons, teacher, result.class_id, "水的旅行", "读两篇文章，然后回答。", True, "", []
    )
    for path in ("water", "index"):
        lessons.add_library_item(kit.people, kit.lessons, kit.load_library(), teacher, lesson_id, "test_book", path)
    notices.post(kit, teacher, result.class_id, "明天上午带尺子和铅笔。", None)
    students = {s["display_name"]: s["id"] for s in kit.people.students_of(result.class_id)}
    with LiveServer(create_app(kit, watch_library=False)) as server:
        yield server, kit, result.class_id, students, lesson_id
    kit.close()


def _child(browser, school, name: str, pin: str, locale: str = "zh-CN"):  # noqa: F811
    server, _, class_id, students, _ = school
    http = student_client(server.url, class_id, students[name], pin)
    context = with_cookies(browser.new_context(base_url=server.url, locale=locale, **PHONE), server.url, http.cookies)
    http.close()
    return context, context.new_page()


def _shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / name), full_page=True)
    screenshot(page, name)


def _chinese(page, *data: str) -> None:
    assert visible_words(page.content(), ("王小明", "李丽", "李老师 Ms Li", *BOOK_WORDS, *data)) == [], page.url
    assert scroll_width(page) <= PHONE_WIDTH_PX, page.url


def _header_leads_home(page) -> None:
    who = page.locator("nav.who")
    assert who.locator(".name").inner_text() == "王小明"
    assert who.locator("a[href='/me']").inner_text() == "我的空间" and who.locator("button").inner_text() == "退出"
    footer = page.locator("footer").inner_text()
    assert "设备状态" not in footer and "登录" not in footer and "tpkit" not in footer.lower()


def test_children_browser_my_space_notice_cards_and_header(browser, school):  # noqa: F811
    server, kit, _, _, lesson_id = school
    context, page = _child(browser, school, "王小明", "2468")
    page.goto("/me")
    _header_leads_home(page)
    main = page.locator("main")
    assert main.locator("#notices .notice-card").inner_text().startswith("明天上午带尺子和铅笔。")
    card = main.locator(".lesson-card").first.inner_text()
    assert "水的旅行" in card and "看了 0/2" in card and "作业还没交" in card
    _chinese(page)
    _shot(page, "children-me-zh.png")
    page.click("#notices button:has-text('知道了')")
    page.wait_for_url(re.compile(r".*/me#notices$"))
    assert page.locator(".notice-card").count() == 0 and "以前的通知" in page.locator("main").inner_text()
    for path in ("/", "/search?pattern=water&content=test_book", "/me/article?book=test_book&path=water"):
        page.goto(path)
        _header_leads_home(page)  # the library's cards and the search's snippets are the book's own words
        assert scroll_width(page) <= PHONE_WIDTH_PX, path
    _chinese(page)
    _shot(page, "children-article-page-zh.png")
    page.goto("/search?pattern=water&content=test_book")
    _shot(page, "children-search-zh.png")
    page.click("nav.who a[href='/me']")
    page.wait_for_url("**/me")
    context.close()


def test_children_browser_a_lessons_article_under_the_kit_bar(browser, school):  # noqa: F811
    server, kit, _, _, lesson_id = school
    context, page = _child(browser, school, "王小明", "2468")
    page.goto(f"/me/lessons/{lesson_id}")
    page.click("main a:has-text('Water cycle')")
    page.wait_for_url(re.compile(r".*/items/\d+$"))
    bar = page.locator(".kitbar")
    assert bar.locator("a.back").inner_text() == "← 水的旅行" and "收藏" in bar.inner_text()
    frame = page.frame_locator("iframe.book")
    assert "Evaporation" in frame.locator("body").inner_text()  # the book's own page, as the book made it
    box = page.locator("iframe.book").bounding_box()
    assert box is not None and box["height"] >= 400 and box["width"] >= PHONE_WIDTH_PX - 1
    _header_leads_home(page)
    _chinese(page)
    _shot(page, "children-reading-zh.png")
    page.click(".kitbar button[value=add]")
    page.wait_for_url(re.compile(r".*notice=bookmarked$"))
    assert "已收藏" in page.locator(".kitbar").inner_text()
    page.click(".kitbar a.back")
    page.wait_for_url(f"**/me/lessons/{lesson_id}")
    page.click("main a:has-text('Welcome')")
    page.wait_for_url(re.compile(r".*/items/\d+$"))
    address = page.url
    frame.locator("a[href='water']").click()  # a link inside the book: the frame moves, the bar stays
    frame.locator("text=Evaporation").wait_for()
    assert page.url == address and page.locator(".kitbar a.back").is_visible()
    page.goto("/me")
    card = page.locator(".lesson-card").first.inner_text()
    assert "看了 2/2" in card
    history = page.locator("#history").inner_text()
    assert history.count("Water cycle") == 1 and "水的旅行" in history
    context.close()


def test_children_browser_signing_out_from_the_header(browser, school):  # noqa: F811
    context, page = _child(browser, school, "李丽", "1357")
    page.goto("/")
    assert page.locator("nav.who .name").inner_text() == "李丽"
    with page.expect_navigation():  # the phone's script clears the phone first, then the form goes (issue 18)
        page.click("nav.who button:has-text('退出')")
    page.wait_for_url(re.compile(r".*/$"))
    assert page.locator("nav.who").count() == 0 and "登录" in page.locator("footer").inner_text()
    page.goto("/me")
    page.wait_for_url("**/learn")
    context.close()


def test_children_browser_my_space_in_english(browser, school):  # noqa: F811
    context, page = _child(browser, school, "李丽", "1357", locale="en-US")
    page.goto("/me")
    text = page.locator("body").inner_text()
    assert "My space" in text and "Sign out" in text and "Opened 0/2" in text and "Homework not handed in yet" in text
    assert not re.search(r"\b(me|notice|nav|home)\.[a-z_]+\b", text)  # no key shown instead of its words
    _shot(page, "children-me-en.png")
    context.close()


def test_children_browser_teacher_posts_a_notice_at_1280(browser, school):  # noqa: F811
    server, kit, class_id, students, _ = school
    context = browser.new_context(base_url=server.url, locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, "li.wei", TEACHER_PASSWORD)
    page.wait_for_url("**/teach")
    assert page.locator("nav.who a[href='/teach']").inner_text() == "我的班级"
    page.goto(f"/teach/{class_id}")
    page.fill("#notices textarea[name=body]", "   ")  # only spaces: the class page comes back, the message beside
    page.click("#notices button:has-text('发通知')")
    assert "通知是空的" in page.locator("#body-error").inner_text()
    assert page.locator("#notices textarea[name=body]").get_attribute("aria-invalid") == "true"
    page.fill("#notices textarea[name=body]", "李丽：明天请早点到。")
    page.select_option("#notices select[name=student]", str(students["李丽"]))
    page.click("#notices button:has-text('发通知')")
    page.wait_for_url(re.compile(r".*notice=notice_posted#notices$"))
    section = page.locator("#notices").inner_text()
    assert "通知已发出" in section and "发给 李丽" in section and "已读 0/1" in section
    notices_html = f"<main>{page.inner_html('#notices')}</main>"  # the rest of the class page is not this test's
    assert visible_words(notices_html, ("王小明", "李丽", "李老师 Ms Li")) == []
    _shot(page, "children-notices-teacher-zh.png")
    context.close()
