"""Writing a quiz in headless Chromium, zh-CN at a 360-px phone with JavaScript off (issue 16, "Quizzes in
minutes"): each question shows only its chosen kind's fields (a 10-question form was 11,227 px tall), a whole quiz
pasted in three page loads, a question's picture seen by the child. TPKIT_SCREENSHOTS=1 saves the PNGs in docs;
every run saves its own in /tmp."""

from __future__ import annotations

import pytest

from appliance.services.learning import quiz_drafts, quizzes
from appliance.web.app import create_app
from tests.conftest import LiveServer
from tests.web.browsers import (  # noqa: F401
    PHONE_WIDTH_PX,
    browser,
    images_loaded,
    phone,
    screenshot,
    scroll_width,
    sign_in,
)
from tests.web.chinese_pages import visible_words
from tests.web.people_clients import TEACHER_PASSWORD, classroom
from tests.web.test_quiz_paste import TEN

pytestmark = [pytest.mark.browser]

# Issue 16 (defect 10) measured 11,227 px for a 10-question form when every question showed the fields of all five
# kinds; the 10-question form below measured 11,491 px that way (360 px, zh-CN) and 6,677 px with only the chosen
# kind's fields, one empty option box and the picture folded away (docs/learning-space.md, "Quizzes").
FORM_HEIGHT_BEFORE_PX = 11_491
FORM_HEIGHT_MAX_PX = 7_000


def _ten_questions() -> quiz_drafts.Draft:
    q = quiz_drafts.DraftQuestion
    kinds = [
        q("single", "植物从空气中吸收哪种气体？", ["氧气", "二氧化碳", "氮气", "氢气"], {1}),
        q("multiple", "下列哪些是哺乳动物？", ["鲸", "鲨鱼", "蝙蝠", "金鱼"], {0, 2}),
        q("true_false", "太阳是一颗恒星。", tf="true"),
        q("short", "水从云里落下来叫什么？", accepted="降雨\n雨"),
        q("numeric", "7 ÷ 2 = ?", number="3.5", tolerance="0"),
    ]
    return quiz_drafts.Draft(
        "植物 第一单元", "1", "", "60", kinds + [quiz_drafts.DraftQuestion(**vars(k)) for k in kinds]
    )


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    root = tmp_path_factory.mktemp("quiz-write-kit")
    kit, teacher_id, result = classroom(root, "name,pin\n王芳,2580\n李小明,2587\n", "三年级一班")
    teacher = kit.people.person(teacher_id)
    quiz_id = quizzes.create(kit, teacher, result.class_id, _ten_questions())
    students = {s["display_name"]: s["id"] for s in kit.people.students_of(result.class_id)}
    with LiveServer(create_app(kit, watch_library=False)) as server:
        yield server, result.class_id, students, quiz_id, kit


@pytest.fixture
def teacher_zh(browser, school):
    context = phone(browser, school[0], locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    sign_in(page, "li.wei", TEACHER_PASSWORD)
    yield page
    context.close()


def _height(page) -> int:
    return page.evaluate("document.scrollingElement.scrollHeight")


def test_quiz_form_shows_only_the_chosen_kinds_fields(teacher_zh, school):
    page, quiz_id = teacher_zh, school[3]
    page.goto(f"/teach/quizzes/{quiz_id}/edit")
    assert page.locator("fieldset.question").count() == 10
    height = _height(page)
    print(f"10-question quiz form at 360 px, zh-CN: {height} px (was {FORM_HEIGHT_BEFORE_PX} px)")
    page.screenshot(path="/tmp/quiz-form-10-zh.png", full_page=True)
    assert height <= FORM_HEIGHT_MAX_PX
    assert scroll_width(page) <= PHONE_WIDTH_PX
    assert visible_words(page.content(), ("li.wei",)) == []


def test_quiz_pasted_in_three_page_loads_and_refused_with_its_line(teacher_zh, school):
    page, class_id = teacher_zh, school[1]
    loads: list[str] = []
    page.on("load", lambda p: loads.append(p.url))
    page.goto(f"/teach/{class_id}/quizzes/paste")
    page.fill("input[name=title]", "第二单元")
    page.fill("textarea[name=text]", TEN.replace("B. 二氧化碳 *", "B. 二氧化碳"))
    page.click("form.paste-form button[type=submit]")
    error = page.locator("#text-error").inner_text()
    assert error.startswith("第 1 行（“1. 植物从空气中吸收哪种气体？”）：这道题没有答案")
    assert page.input_value("textarea[name=text]").startswith("1. 植物从空气中吸收哪种气体？\nA. 氧气\nB. 二氧化碳\n")
    assert scroll_width(page) <= PHONE_WIDTH_PX and visible_words(page.content(), ("li.wei",)) == []
    page.screenshot(path="/tmp/quiz-paste-refused-zh.png", full_page=True)
    screenshot(page, "quiz-paste-refused.png")
    loads.clear()
    page.goto(f"/teach/{class_id}/quizzes/paste")
    page.fill("input[name=title]", "第二单元")
    page.fill("textarea[name=text]", TEN)
    page.click("form.paste-form button[type=submit]")
    assert page.url.endswith("/edit") and page.locator("fieldset.question").count() == 10
    assert len(loads) == 2  # the form, then the POST answered by a 303 to the edit page: two loads, three requests
    assert page.locator("input[name=q3-kind][value=short]").is_checked()
    assert page.input_value("textarea[name=q3-accepted]") == "降雨\n雨"


def test_quiz_picture_chosen_by_the_teacher_seen_by_the_child(teacher_zh, browser, school):
    page, (server, class_id, students, quiz_id, _) = teacher_zh, school
    page.goto(f"/teach/quizzes/{quiz_id}/edit")
    page.click("#q2 details.picture summary")
    page.set_input_files("input[name=q2-picture-file]", files=[_sun_picture()])
    page.click("p button[value=save]")
    assert f"/teach/quizzes/{quiz_id}" in page.url and "/edit" not in page.url
    page.goto(f"/teach/quizzes/{quiz_id}/edit")
    assert page.locator("#q2 img.question-picture").count() == 1 and images_loaded(page, "#q2 img.question-picture")[0]
    context = phone(browser, server, locale="zh-CN", java_script_enabled=False)
    child = context.new_page()
    child.goto(f"/learn/{class_id}/{students['王芳']}")
    child.fill("input.pin", "2580")
    child.press("input.pin", "Enter")
    child.goto(f"/me/quizzes/{quiz_id}")
    child.click("form[action$='/start'] button")
    assert child.locator("fieldset.question img.question-picture").count() == 1
    assert images_loaded(child, "#q2 img.question-picture") == [1024]
    assert scroll_width(child) <= PHONE_WIDTH_PX
    child.locator("#q2").screenshot(path="/tmp/quiz-picture-take-zh.png")
    context.close()


def _sun_picture() -> dict:
    from tests.photo_data import phone_jpeg

    return {"name": "太阳.jpg", "mimeType": "image/jpeg", "buffer": phone_jpeg(1600, 1200)}
