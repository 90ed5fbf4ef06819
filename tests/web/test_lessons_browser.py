"""Lessons and homework in headless Chromium at phone width: a student with JavaScript off sees what is due,
opens it, hands in text and a photo from the file picker; the teacher grades; the student reads the feedback in
Chinese; the class overview. TPKIT_SCREENSHOTS=1 saves the PNGs into docs/screenshots."""

from __future__ import annotations

import pytest

from appliance.services.learning import lessons
from appliance.web.app import create_app
from tests.conftest import LiveServer, make_book
from tests.web.browsers import PHONE_WIDTH_PX, browser, phone, screenshot, scroll_width, sign_in  # noqa: F401
from tests.web.lesson_data import PNG
from tests.web.people_clients import TEACHER_PASSWORD, classroom

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    """A kit with a book, one class of two children and a homework lesson with an article and a due date."""
    root = tmp_path_factory.mktemp("lesson-kit")
    make_book(root / "c", "test_book")
    kit, teacher_id, result = classroom(root, "name,pin\n王小明,2580\nAnna,2587\n", "三年级一班")
    teacher = kit.people.person(teacher_id)
    lesson_id = lessons.create(
        kit.people,
        kit.lessons,
        teacher,
        result.class_id,
        "The water cycle",
        "Read the article. Draw the water cycle on paper and send a photo.",
        True,
        "2099-06-30",
        [],
    )
    lessons.add_library_item(kit.people, kit.lessons, kit.load_library(), teacher, lesson_id, "test_book", "water")
    lessons.create(kit.people, kit.lessons, teacher, result.class_id, "Moon reading", "", False, "", [])
    students = {s["display_name"]: s["id"] for s in kit.people.students_of(result.class_id)}
    with LiveServer(create_app(kit, watch_library=False)) as server:
        yield server, result.class_id, students, lesson_id, root
    kit.close()


def _student(browser, school, name: str, pin: str, **options):
    context = phone(browser, school[0], java_script_enabled=False, **options)
    page = context.new_page()
    page.goto(f"/learn/{school[1]}/{school[2][name]}")
    page.fill("input.pin", pin)
    page.press("input.pin", "Enter")
    page.wait_for_url("**/me")
    return context, page


def _teacher(browser, school):
    context = phone(browser, school[0], locale="en-US")
    page = context.new_page()
    sign_in(page, "li.wei", TEACHER_PASSWORD)
    page.wait_for_url("**/teach")
    return context, page


def test_lessons_browser_hand_in_grade_and_feedback(browser, school):
    live, class_id, students, lesson_id, root = school
    context, page = _student(browser, school, "王小明", "2580", locale="en-US")
    assert "The water cycle" in page.locator("main").inner_text() and "30 Jun 2099 23:59" in page.content()
    assert scroll_width(page) <= PHONE_WIDTH_PX
    screenshot(page, "me-due.png")
    page.click("text=The water cycle")
    assert page.locator("h1").inner_text() == "The water cycle"
    assert page.get_attribute("input[name=photos]", "capture") == "environment"
    assert page.get_attribute("input[name=photos]", "accept") == "image/*"
    photo = root / "drawing.png"
    photo.write_bytes(PNG)
    page.fill("textarea[name=body]", "Sun → evaporation → clouds → rain")
    page.set_input_files("input[name=photos]", str(photo))
    screenshot(page, "me-lesson.png")
    page.click("button:has-text('Hand in')")
    page.wait_for_url("**notice=handed_in")
    assert "Handed in. Your teacher will see it." in page.locator(".notice").inner_text()
    assert page.locator("img.photo").count() == 1
    assert page.evaluate("document.querySelector('img.photo').naturalWidth") == 64
    assert scroll_width(page) <= PHONE_WIDTH_PX
    screenshot(page, "me-handed-in.png")
    context.close()

    context, page = _teacher(browser, school)
    page.goto(f"/teach/lessons/{lesson_id}")
    assert "1 of 2 handed in" in page.locator("#handins").inner_text()
    page.click("#handins a:has-text('王小明')")  # each hand-in is graded on its own page
    assert "evaporation" in page.locator("main").inner_text()
    page.locator("input[name=score]").fill("9")
    page.locator("input[name=out_of]").fill("10")
    page.locator("textarea[name=comment]").fill("很好！Add arrows.")
    screenshot(page, "teach-lesson.png")
    page.locator(".actions button[value=grade]").click()
    page.wait_for_url("**notice=saved")
    assert "graded 9/10" in page.locator("main").inner_text()
    page.goto(f"/teach/{class_id}/overview")
    cells = page.locator(".overview tr", has_text="王小明").all_inner_texts()[0]
    assert "graded 9/10" in cells and "not opened" in page.locator(".overview tr", has_text="Anna").inner_text()
    assert scroll_width(page) <= PHONE_WIDTH_PX  # a wide class scrolls inside its box, not the page
    screenshot(page, "teach-overview.png")
    page.click("text=王小明")
    page.wait_for_url("**/summary")
    assert "很好！Add arrows." in page.locator("main").inner_text()
    screenshot(page, "parent-summary.png")
    context.close()

    context, page = _student(browser, school, "王小明", "2580", locale="zh-CN")
    main = page.locator("main").inner_text()
    assert "老师已反馈" in main and "9/10" in main and "很好！Add arrows." in main
    screenshot(page, "me-feedback-zh.png")
    context.close()
