"""The 内容 page (/books) as a village teacher uses it: Chinese, a 360 px phone, no JavaScript needed. She takes a
book off the shelf with one tap, sees what the last USB stick brought, and a damaged file's reason — all in Chinese."""

from __future__ import annotations

from appliance.services.sync.stick_import import ImportReport, LocalBook
from appliance.services.sync.stick_status import StickStatus
from tests.web.browsers import PHONE_WIDTH_PX, browser, phone, screenshot, with_cookies  # noqa: F401
from tests.web.chinese_pages import visible_words


def test_books_page_in_chinese_at_360_px(kit, live, roles, browser):  # noqa: F811
    clients, _ = roles
    (kit.paths.content_dir / "broken.zim").write_bytes(b"cut short" * 100)
    kit.library.refresh()
    status = StickStatus(kit.paths, "/dev/sda1")
    status.finished(ImportReport(local=[LocalBook("maps.zim", "waiting", "maps", size_bytes=1 << 20)]))
    status.unplugged_safely()
    context = with_cookies(phone(browser, live, locale="zh-CN"), live.url, dict(clients["teacher_a"].cookies))
    page = context.new_page()
    page.goto("/books")
    assert page.title().startswith("内容")
    assert "可以拔出 U 盘了" in page.content() and "县里频道的书" not in page.content()  # no channel on this stick
    page.click("button:has-text('下架')")  # one tap: the form posts and the page comes back with what happened
    page.wait_for_url(lambda url: "notice=off" in url)
    html = page.content()
    assert "已下架" in html and "重新上架" in html and "broken.zim" in html
    assert visible_words(html, ("Test book",)) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH_PX  # nothing to scroll sideways
    screenshot(page, "books-zh.png")
    assert kit.library.books() == [] and [b.name for b in kit.library.off_shelf()] == ["test_book"]
    context.close()
