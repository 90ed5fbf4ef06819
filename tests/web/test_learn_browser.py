"""The children's sign-in in headless Chromium at phone width: class → name → PIN keypad → My space,
with JavaScript off (keypad taps are form posts) and in Chinese. TPKIT_SCREENSHOTS=1 saves the PNGs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from appliance.web.app import create_app
from tests.conftest import LiveServer
from tests.web.browsers import PHONE_WIDTH_PX, browser, phone, screenshot, scroll_width, sign_in  # noqa: F401
from tests.web.people_clients import TEACHER_PASSWORD, classroom

pytestmark = [pytest.mark.browser]

NAMES = ["Wang Fang", "李小明", "Anna", "张伟", "Zhou Bo", "陈静"]


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    """A kit with one class of six children whose PINs are known."""
    root = tmp_path_factory.mktemp("learn-kit")
    csv = "name,pin\n" + "".join(f"{name},{2580 + 7 * n}\n" for n, name in enumerate(NAMES))
    kit, teacher_id, result = classroom(root, csv, "三年级一班 Grade 3 A")
    pins = {name: pin for name, _, pin in result.pins}
    with LiveServer(create_app(kit, watch_library=False)) as server:
        yield server, result.class_id, pins


def _context(browser, school, **options) -> Iterator:
    context = phone(browser, school[0], **options)
    yield context.new_page()
    context.close()


@pytest.fixture
def page_nojs(browser, school):
    yield from _context(browser, school, locale="en-US", java_script_enabled=False)


@pytest.fixture
def page(browser, school):
    yield from _context(browser, school, locale="en-US")


@pytest.fixture
def page_zh(browser, school):
    yield from _context(browser, school, locale="zh-CN")


def _tap_pin(page, pin: str) -> None:
    for digit in pin:
        page.click(f".keys button[value='{digit}']")


def test_learn_browser_sign_in_with_javascript_off(page_nojs, school):
    page = page_nojs
    page.goto("/learn")
    assert page.locator("h1").inner_text() == "Which class are you in?"
    screenshot(page, "learn-classes.png")
    page.click(".picks a")
    assert page.locator(".picks a").all_inner_texts() == [
        "Anna",
        "陈静",
        "李小明",
        "Wang Fang",
        "张伟",
        "Zhou Bo",
    ]  # pinyin
    assert scroll_width(page) <= PHONE_WIDTH_PX
    screenshot(page, "learn-names.png")
    page.click("text=李小明")
    _tap_pin(page, "9")
    page.click(".keys button.back")
    _tap_pin(page, school[2]["李小明"][:3])
    assert page.eval_on_selector("input.pin", "i => i.value") == school[2]["李小明"][:3]
    screenshot(page, "learn-pin.png")
    _tap_pin(page, school[2]["李小明"][3:])
    page.click(".keys button.ok")
    assert page.url.endswith("/me")
    assert page.locator("h1").inner_text() == "My space"
    assert "三年级一班 Grade 3 A" in page.locator("main").inner_text()
    assert scroll_width(page) <= PHONE_WIDTH_PX
    screenshot(page, "me-en.png")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["tpkit_session"]["httpOnly"] and cookies["tpkit_session"]["sameSite"] == "Strict"


def test_learn_browser_wrong_pin_in_chinese_with_phone_keyboard(page_zh, school):
    page = page_zh
    page.goto("/learn")
    assert page.locator("h1").inner_text() == "你在哪个班？"
    page.click(".picks a")
    page.click("text=Zhou Bo")
    assert page.get_attribute("input.pin", "inputmode") == "numeric"
    page.fill("input.pin", "0000")
    page.press("input.pin", "Enter")  # Enter tries the PIN: OK is the form's first button
    assert "PIN 码不对" in page.locator(".error").inner_text()
    screenshot(page, "learn-pin-wrong-zh.png")
    page.fill("input.pin", school[2]["Zhou Bo"])
    page.press("input.pin", "Enter")
    assert page.url.endswith("/me") and page.locator("h1").inner_text() == "我的空间"


def test_learn_browser_teacher_gives_a_new_pin_on_a_printable_sheet(page, school):
    sign_in(page, "li.wei", TEACHER_PASSWORD)
    assert page.url.endswith("/teach") and page.locator("h1").inner_text() == "My classes"
    page.click(".picks a")
    assert page.locator(".roster tr").count() == len(NAMES) + 1
    assert scroll_width(page) <= PHONE_WIDTH_PX
    screenshot(page, "teach-class.png")
    page.locator(".roster tr", has_text="Anna").locator("button").click()
    assert page.locator("h1").inner_text() == "New PIN"  # one tap resets nothing: the teacher confirms
    page.click("button[name=confirm]")
    assert page.locator("h1").inner_text().startswith("Sign-in cards")
    [pin] = page.locator(".card .pin").all_inner_texts()
    assert len(pin) == 4 and pin.isdigit()
    screenshot(page, "pin-sheet.png")


def test_learn_browser_keypad_types_without_round_trips_when_javascript_is_on(page, school):
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.goto("/learn")
    page.click(".picks a")
    page.click("text=Wang Fang")
    pin = school[2]["Wang Fang"]
    _tap_pin(page, "7")
    page.click(".keys button.back")
    _tap_pin(page, pin)
    assert posts == [] and page.eval_on_selector("input.pin", "i => i.value") == pin
    page.click(".keys button.ok")
    page.wait_for_url("**/me")
    assert len(posts) == 1
