"""Taking and writing a quiz in headless Chromium at phone width with JavaScript off: one page of questions,
hand in, results per question; the teacher's form grows by a button and shows errors by the question.
TPKIT_SCREENSHOTS=1 saves the PNGs."""

from __future__ import annotations

import pytest

from appliance.services.learning import quiz_drafts, quizzes
from appliance.web.app import create_app
from tests.conftest import LiveServer
from tests.web.browsers import PHONE_WIDTH_PX, browser, phone, screenshot, scroll_width, sign_in  # noqa: F401
from tests.web.people_clients import TEACHER_PASSWORD, classroom

pytestmark = [pytest.mark.browser]


def _draft() -> quiz_drafts.Draft:
    q = quiz_drafts.DraftQuestion
    return quiz_drafts.Draft(
        "Plants 植物",
        "2",
        "2026-12-01",
        "60",
        [
            q("single", "Which gas do plants take in?", ["Oxygen", "Carbon dioxide", "Nitrogen"], {1}),
            q("multiple", "Which are parts of a plant?", ["Root", "Wing", "Leaf", "Fin"], {0, 2}),
            q("true_false", "Plants need light to make food.", tf="true"),
            q("short", "Name the process plants use to make food.", accepted="photosynthesis\n光合作用"),
            q("numeric", "A plant grew 3 cm a week for 4 weeks. How many cm?", number="12", points="2"),
        ],
    )


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    root = tmp_path_factory.mktemp("quiz-kit")
    kit, teacher_id, result = classroom(root, "name,pin\nWang Fang,2580\n李小明,2587\n", "Grade 3 A")
    teacher = kit.people.person(teacher_id)
    quiz_id = quizzes.create(kit, teacher, result.class_id, _draft())
    students = {s["display_name"]: s["id"] for s in kit.people.students_of(result.class_id)}
    with LiveServer(create_app(kit, watch_library=False)) as server:
        yield server, result.class_id, students, quiz_id


@pytest.fixture
def page_nojs(browser, school):
    context = phone(browser, school[0], locale="en-US", java_script_enabled=False)
    yield context.new_page()
    context.close()


def test_quiz_browser_student_takes_a_quiz_on_a_phone_without_javascript(page_nojs, school):
    page, (_, class_id, students, quiz_id) = page_nojs, school
    page.goto(f"/learn/{class_id}/{students['Wang Fang']}")
    page.fill("input.pin", "2580")
    page.press("input.pin", "Enter")
    page.click(f"a[href='/me/quizzes/{quiz_id}']")
    page.click("text=Start the quiz")
    assert page.locator("fieldset.question").count() == 5
    page.check("#q0 input[value='1']")
    page.check("#q1 input[value='0']")
    page.check("#q1 input[value='1']")  # a wrong tick: partial credit
    page.check("#q2 input[value='true']")
    page.fill("#q3 input.answer", "Photosynthesis")
    page.fill("#q4 input.answer", "１２")
    assert scroll_width(page) <= PHONE_WIDTH_PX
    screenshot(page, "quiz-take.png")
    page.click("text=Hand in")
    assert page.locator(".score b").inner_text() == "5 / 6"
    assert page.locator(".results li.right").count() == 4 and page.locator(".results li.wrong").count() == 1
    assert "Root, Wing" in page.locator(".results li.wrong").inner_text()
    assert scroll_width(page) <= PHONE_WIDTH_PX
    screenshot(page, "quiz-done.png")


def test_quiz_browser_teacher_writes_a_quiz_without_javascript(page_nojs, school):
    page, (_, class_id, _, _) = page_nojs, school
    sign_in(page, "li.wei", TEACHER_PASSWORD)
    page.goto(f"/teach/{class_id}")
    page.click("text=New quiz")
    page.fill("input[name=title]", "Numbers")
    page.fill("textarea[name=q0-prompt]", "2 + 2 = ?")
    page.fill("input[name=q0-option0]", "3")
    page.fill("input[name=q0-option1]", "4")
    page.click("text=Add a question")
    assert page.locator("fieldset.question").count() == 2
    page.click("label[for=q1-kind-numeric]")  # the kind is a row of radio buttons; only its fields show
    page.fill("textarea[name=q1-prompt]", "Half of 9?")
    page.fill("input[name=q1-number]", "4,5")
    page.click("p button[value=save]")
    assert "Tick the right answer." in page.locator("#q0 .error").inner_text()  # beside it, as a teacher words it
    assert page.locator("#q1 .error").count() == 0
    assert scroll_width(page) <= PHONE_WIDTH_PX
    screenshot(page, "quiz-form-error.png")
    page.check("#q0 input[name=q0-right][value='1']")
    page.click("p button[value=save]")
    assert page.locator("h1").inner_text() == "Numbers" and "/teach/quizzes/" in page.url
    screenshot(page, "quiz-results.png")
