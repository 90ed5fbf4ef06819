"""The pages students and teachers use, driven in headless Chromium at phone width.

Real kit (demo library), real uvicorn on loopback, Debian's Chromium through Playwright.
With TPKIT_SCREENSHOTS=1 the tests also save the PNGs in docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator

import pytest

from appliance.config import load_settings
from appliance.services.kit import open_kit
from appliance.services.library import demo_books
from appliance.services.people import auth
from appliance.web.app import create_app
from tests.conftest import LiveServer, make_book

# The set-up shared by every browser test (tests/web/browsers.py); its names stay importable from here too.
from tests.web.browsers import (  # noqa: F401
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE,
    PHONE_WIDTH_PX,
    SCREENSHOTS,
    browser,
    images_loaded,
    phone,
    screenshot,
    scroll_width,
    sign_in,
)

pytestmark = [pytest.mark.browser]

# Home page HTML + CSS + JS as sent over the Wi-Fi, illustrations excluded: a classroom of
# old phones on one access point should get the library on screen in one or two round trips.
HOME_PAGE_MAX_BYTES = 30 * 1024
SCAN_WAIT_S = 10  # the scanner runs every 0.2 s here; checksumming a small ZIM takes milliseconds

EN_BOOK, ZH_BOOK = "Our World: a first encyclopedia", "我们的世界：小百科"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A kit serving the bilingual demo library, its content folder and the admin's one-time password."""
    root = tmp_path_factory.mktemp("browser-kit")
    content_dir = root / "content"
    demo_books.build(content_dir)
    settings = load_settings(
        environ={},
        overrides={
            "data_dir": str(root / "data"),
            "content_dir": str(content_dir),
            "library_scan_interval_s": 0.2,
            "mdns_enabled": False,
        },
    )
    kit = open_kit(settings)
    password = auth.ensure_first_admin(kit.accounts)
    with LiveServer(create_app(kit)) as server:  # the app's lifespan closes the kit
        yield server, kit, content_dir, password


@pytest.fixture
def live(demo) -> LiveServer:
    return demo[0]


@pytest.fixture
def page(browser, live) -> Iterator:
    context = phone(browser, live, locale="en-US")
    yield context.new_page()
    context.close()


@pytest.fixture
def page_zh(browser, live) -> Iterator:
    context = phone(browser, live, locale="zh-CN")
    yield context.new_page()
    context.close()


@pytest.fixture
def page_nojs(browser, live) -> Iterator:
    context = phone(browser, live, locale="en-US", java_script_enabled=False)
    yield context.new_page()
    context.close()


@pytest.fixture
def page_zh_nojs(browser, live) -> Iterator:
    context = phone(browser, live, locale="zh-CN", java_script_enabled=False)
    yield context.new_page()
    context.close()


def card_titles(page) -> list[str]:
    return page.locator(".card .title").all_inner_texts()


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + SCAN_WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


# --- home page ------------------------------------------------------------------------------


def test_home_lists_demo_books_as_cards(page):
    page.goto("/")
    assert page.locator("h1").inner_text() == "Library"
    assert sorted(card_titles(page)) == sorted([EN_BOOK, ZH_BOOK])
    widths = images_loaded(page, ".card img")
    assert len(widths) == 2 and all(w > 0 for w in widths), widths
    meta = page.locator(".card .meta").all_inner_texts()
    assert any("English" in m for m in meta) and any("Chinese" in m for m in meta), meta  # named in English
    assert all(re.search(r"\d+(\.\d)? KB", m) for m in meta), meta
    assert scroll_width(page) <= PHONE_WIDTH_PX
    screenshot(page, "home-en.png")


def test_home_language_filter_works_without_javascript(page_nojs):
    page_nojs.goto("/")
    page_nojs.select_option("select[name=language]", "zho")
    page_nojs.click(".filters button[type=submit]")
    assert "language=zho" in page_nojs.url
    assert card_titles(page_nojs) == [ZH_BOOK]
    assert page_nojs.eval_on_selector("select[name=language]", "s => s.value") == "zho"
    page_nojs.select_option("select[name=language]", "")
    page_nojs.click(".filters button[type=submit]")
    assert sorted(card_titles(page_nojs)) == sorted([EN_BOOK, ZH_BOOK])


def test_home_category_filter_works_without_javascript(page_nojs, demo):
    _, kit, content_dir, _ = demo
    extra = make_book(content_dir, "zz_extra_book", title="Extra test book", tags="_category:test")
    try:
        wait_for(lambda: len(kit.library.books()) == 3, "the scanner to serve the extra book")
        page_nojs.goto("/")
        page_nojs.select_option("select[name=category]", "test")
        page_nojs.click(".filters button[type=submit]")
        assert "category=test" in page_nojs.url
        assert card_titles(page_nojs) == ["Extra test book"]
        page_nojs.select_option("select[name=category]", "encyclopedia")
        page_nojs.click(".filters button[type=submit]")
        assert sorted(card_titles(page_nojs)) == sorted([EN_BOOK, ZH_BOOK])
    finally:
        extra.unlink()
        wait_for(lambda: len(kit.library.books()) == 2, "the scanner to drop the extra book")


def test_home_page_weight_is_small(page):
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.goto("/")
    page.wait_for_load_state("networkidle")
    sizes = {}
    for response in responses:
        if "/catalog/v2/illustration/" not in response.url:
            response.finished()
            sent = response.request.sizes()
            sizes[response.url] = sent["responseBodySize"] + sent["responseHeadersSize"]
    assert any(url.endswith("/static/kit.css") for url in sizes) and any(
        url.endswith("/static/suggest.js") for url in sizes
    )
    assert sum(sizes.values()) < HOME_PAGE_MAX_BYTES, sizes


# --- UI language ----------------------------------------------------------------------------


def test_ui_language_follows_accept_language_and_switch_is_remembered(page_zh):
    page_zh.goto("/")
    assert page_zh.locator("h1").inner_text() == "图书馆"
    assert page_zh.get_attribute("html", "lang") == "zh"
    assert page_zh.get_attribute("#q", "placeholder") == "搜索所有图书"
    assert scroll_width(page_zh) <= PHONE_WIDTH_PX
    screenshot(page_zh, "home-zh.png")

    page_zh.click(".bar .lang")
    assert page_zh.locator("h1").inner_text() == "Library"
    cookies = {c["name"]: c["value"] for c in page_zh.context.cookies()}
    assert cookies.get("tpkit_lang") == "en"
    page_zh.goto("/search?pattern=water")  # no ?lang=: the cookie beats Accept-Language zh-CN
    assert page_zh.locator("h1").inner_text().startswith("Results for")
    assert "pattern=water" in page_zh.get_attribute(".bar .lang", "href")

    page_zh.click(".bar .lang")
    assert page_zh.locator("h1").inner_text().startswith("搜索结果")
    assert "pattern=water" in page_zh.url


# --- suggestions (JavaScript) ---------------------------------------------------------------


def test_suggestions_come_from_all_books_and_open_the_article(page_zh):
    page_zh.goto("/")
    page_zh.locator("#q").press_sequentially("水")
    suggestion = page_zh.locator("#suggest-list a", has_text="水循环")
    suggestion.wait_for()
    screenshot(page_zh, "suggest-zh.png")

    page_zh.locator("#q").fill("")
    page_zh.locator("#q").press_sequentially("wat")
    suggestion = page_zh.locator("#suggest-list a", has_text="The water cycle")
    suggestion.wait_for()
    assert page_zh.locator("#suggest-list a", has_text="水循环").count() == 0
    suggestion.tap()
    page_zh.wait_for_url("**/content/tpkit_demo_en/water_cycle")
    assert page_zh.locator("h1").inner_text() == "The water cycle"


# --- full-text search without JavaScript ----------------------------------------------------


def search_and_open(page, words: str, title: str, shot: str) -> None:
    page.goto("/")
    page.fill("#q", words)
    page.click("form.search button[type=submit]")
    page.wait_for_url("**/search?**")
    link = page.locator("ol.results a", has_text=title)
    assert link.count() == 1, page.locator("ol.results").inner_text()
    assert link.get_attribute("href").startswith("/content/")
    assert scroll_width(page) <= PHONE_WIDTH_PX
    screenshot(page, shot)
    link.click()
    assert page.locator("h1").inner_text() == title
    widths = images_loaded(page, "img")
    assert widths and all(w > 0 for w in widths), widths
    assert page.eval_on_selector("img", "i => i.currentSrc").endswith(".svg")
    assert scroll_width(page) <= PHONE_WIDTH_PX


def test_search_in_english_works_without_javascript(page_nojs):
    search_and_open(page_nojs, "evaporation", "The water cycle", "search-en.png")
    screenshot(page_nojs, "article.png")


def test_search_in_chinese_works_without_javascript(page_zh_nojs):
    search_and_open(page_zh_nojs, "光合作用", "植物和阳光", "search-zh.png")


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/search?pattern=water",
        "/search?pattern=%E6%B0%B4",
        "/content/tpkit_demo_en/water_cycle",
        "/content/tpkit_demo_zh/zhiwu",
        "/admin/signin",
    ],
)
def test_page_has_no_horizontal_scroll_on_a_phone(page_zh, path):
    page_zh.goto(path)
    page_zh.wait_for_load_state("load")
    assert scroll_width(page_zh) <= PHONE_WIDTH_PX


# --- admin ----------------------------------------------------------------------------------


def test_admin_sign_in_shows_status_with_damaged_files(page, demo):
    _, kit, content_dir, password = demo
    demo_zim = content_dir / "tpkit_demo_en.zim"
    truncated = content_dir / "truncated.zim"
    truncated.write_bytes(demo_zim.read_bytes()[: demo_zim.stat().st_size // 2])
    noise = content_dir / "x.zim"
    noise.write_bytes(os.urandom(4096))
    try:
        wait_for(lambda: len(kit.library.damaged()) == 2, "the scanner to find the damaged files")
        page.goto("/admin")
        assert page.url.endswith("/admin/signin")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", password)
        page.click("form.box button[type=submit]")
        page.wait_for_url("**/admin")
        assert page.locator("h1").inner_text() == "Kit status"
        assert page.locator("form[action='/admin/password'] input[name=password]").is_visible()
        books = page.locator("table.books").inner_text()
        assert "tpkit_demo_en" in books and "tpkit_demo_zh" in books
        names = page.locator(".damaged li .name").all_inner_texts()
        assert sorted(names) == ["truncated.zim", "x.zim"]
        for reason in page.locator(".damaged li .reason").all_inner_texts():
            assert "cannot be opened as a ZIM book" in reason, reason
        assert scroll_width(page) <= PHONE_WIDTH_PX
        screenshot(page, "admin.png")
    finally:
        truncated.unlink()
        noise.unlink()
        wait_for(lambda: not kit.library.damaged(), "the scanner to forget the damaged files")


def test_admin_shows_provisioning_problems_in_both_languages_at_phone_width(page, demo):
    _, kit, _, password = demo
    problem = (
        "time_zone in /boot/firmware/kit.toml = 'Mars/Olympus' is not a time zone name; use one like "
        '"Asia/Shanghai" (timedatectl list-timezones) /a/very/long/path/without/any/spaces/in/it/at/all/kit.toml'
    )
    kit.provisioning_runs.record("/boot/firmware/kit.toml", ["settings written"], [problem])
    sign_in(page, "admin", password)
    page.wait_for_url("**/admin")
    assert page.locator("h2", has_text="Provisioning (kit.toml)").is_visible()
    assert page.locator(".provisioning li").all_inner_texts() == [problem]
    assert scroll_width(page) <= PHONE_WIDTH_PX
    page.goto("/admin?lang=zh")
    assert (
        "设备配置（kit.toml）" in page.locator("main").inner_text() and "启动分区" in page.locator("main").inner_text()
    )
    assert scroll_width(page) <= PHONE_WIDTH_PX
    screenshot(page, "admin-provisioning-zh.png")
