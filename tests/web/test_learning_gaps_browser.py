"""The learning-space gaps in headless Chromium at phone width (412 px) with JavaScript off where students use them:
signing in with a picture code, bookmarking and noting an article, My space listing them and what was read;
the teacher's lesson edit and delete confirmation. TPKIT_SCREENSHOTS=1 saves the PNGs into docs/screenshots."""

from __future__ import annotations

import re

import pytest

from appliance.services.learning import lessons
from appliance.services.people import access as people, picture_codes
from appliance.web.app import create_app
from tests.conftest import LiveServer, make_book
from tests.web.browsers import browser, screenshot, scroll_width, sign_in  # noqa: F401
from tests.web.people_clients import TEACHER_PASSWORD, classroom

pytestmark = [pytest.mark.browser]
PHONE_412 = {"viewport": {"width": 412, "height": 915}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    """A kit with a book and a class that signs in with pictures; one lesson with an article."""
    root = tmp_path_factory.mktemp("gaps-kit")
    make_book(root / "c", "test_book")
    kit, teacher_id, result = classroom(root, "name\n王小明\nAnna\n", "一年级一班")
    teacher = kit.people.person(teacher_id)
    people.set_signin_kind(kit.people, teacher, result.class_id, "pictures")
    codes = {s["display_name"]: code for s, code in people.give_pins(kit.people, teacher, result.class_id, 4)}
    lesson_id = lessons.create(kit.people, kit.lessons, teacher, result.class_id, "Water", "Read it.", False, "", [])
    lessons.add_library_item(kit.people, kit.lessons, kit.load_library(), teacher, lesson_id, "test_book", "water")
    students = {s["display_name"]: s["id"] for s in kit.people.students_of(result.class_id)}
    with LiveServer(create_app(kit, watch_library=False)) as server:
        yield server, result.class_id, students, codes, lesson_id
    kit.close()


def _context(browser, live, **options):
    return browser.new_context(base_url=live.url, **PHONE_412, **options)


def _sign_in_with_pictures(browser, school, name: str, locale: str = "en-US"):
    live, class_id, students, codes, _ = school
    context = _context(browser, live, java_script_enabled=False, locale=locale)
    page = context.new_page()
    page.goto(f"/learn/{class_id}/{students[name]}")
    assert page.locator(".pictures .grid button").count() == len(picture_codes.PICTURES)
    assert scroll_width(page) <= 412
    for n, number in enumerate(picture_codes.picked(codes[name])):
        if n == 1:
            assert page.locator(".dot.on").count() == 1
            screenshot(page, "learn-pictures.png" if locale == "en-US" else "learn-pictures-zh.png")
        page.click(f"button[value=pic-{number}]")
    page.wait_for_url("**/me")
    return context, page


def test_gaps_browser_picture_code_sign_in_js_off(browser, school):
    context, page = _sign_in_with_pictures(browser, school, "王小明", locale="zh-CN")
    assert "王小明" in page.locator("main").inner_text()
    context.close()
    live, class_id, students, codes, _ = school
    context = _context(browser, live, java_script_enabled=False, locale="en-US")
    page = context.new_page()
    page.goto(f"/learn/{class_id}/{students['Anna']}")
    wrong = [n for n in range(12) if n not in picture_codes.picked(codes["Anna"])][:3]
    for number in wrong:
        page.click(f"button[value=pic-{number}]")
    assert "Those pictures are not right" in page.locator(".error").inner_text()
    context.close()


def test_gaps_browser_bookmark_note_and_my_space_js_off(browser, school):
    live, _, _, _, lesson_id = school
    context, page = _sign_in_with_pictures(browser, school, "Anna")
    page.goto(f"/me/lessons/{lesson_id}")
    page.click("button:has-text('Bookmark')")
    page.wait_for_url(re.compile(r".*notice=bookmarked"))
    assert "Bookmarked" in page.locator(".notice").inner_text()
    page.fill("#note textarea", "Ask: why is rain <b>fresh</b>?")
    page.click("#note button")
    page.wait_for_url(re.compile(r".*notice=note_saved.*"))
    assert scroll_width(page) <= 412
    page.goto("/content/test_book/index")  # read something from the library itself
    page.goto("/me")
    main = page.locator("main").inner_text()
    assert "My bookmarks" in main and "Water cycle" in main and "Ask: why is rain <b>fresh</b>?" in main
    assert scroll_width(page) <= 412
    page.click("#bookmarks ~ ul a.count")
    page.wait_for_url(re.compile(r".*/me/article\?.*"))
    page.fill("textarea[name=body]", "Evaporation → clouds → rain")
    page.click("button:has-text('Save note')")
    page.wait_for_url(re.compile(r".*notice=note_saved.*"))
    assert page.locator("textarea[name=body]").input_value() == "Evaporation → clouds → rain"
    screenshot(page, "me-article.png")
    page.goto("/me")
    for _ in range(50):  # the library read is recorded after its page went out
        if "Welcome" in page.locator("main").inner_text():
            break
        page.wait_for_timeout(100)
        page.reload()
    assert "What I opened" in page.locator("main").inner_text()  # one history: lessons and the library
    screenshot(page, "me-notebook.png")
    context.close()


def test_gaps_browser_teacher_edits_and_deletes_lesson(browser, school):
    live, class_id, _, _, _ = school
    context = _context(browser, live, locale="en-US")
    page = context.new_page()
    sign_in(page, "li.wei", TEACHER_PASSWORD)
    page.wait_for_url("**/teach")
    page.goto(f"/teach/{class_id}/lessons/new")
    page.fill("input[name=title]", "Draft to delete")
    page.click("button:has-text('Create')")
    page.wait_for_url(re.compile(r".*/teach/lessons/\d+$"))
    page.click("text=Edit the lesson")
    page.fill("input[name=title]", "Renamed draft")
    assert scroll_width(page) <= 412
    screenshot(page, "teach-lesson-edit.png")
    page.click("button:has-text('Save changes')")
    assert page.locator("h1").inner_text() == "Renamed draft"
    page.click("main >> text=Delete the lesson")
    assert "are kept" in page.locator("main").inner_text()
    screenshot(page, "teach-lesson-delete.png")
    page.click("button.danger")
    page.wait_for_url(re.compile(r".*notice=deleted"))
    assert "Renamed draft" not in page.locator("main").inner_text()
    context.close()
