"""A refused form comes back as the same form (issue 16, defect 1): the status says it was refused (4xx), the page is
the form's own page, what was typed is in its inputs, the message is beside the field in the page's language, and
the technicians' English detail ("给技术员的详细信息") is not on it. Real kit, uvicorn, sessions, CSRF; zh and en."""

from __future__ import annotations

import html
import re

import pytest

from tests.web.lesson_data import PDF, hand_in, make_lesson
from tests.web.people_clients import csrf
from tests.web.quiz_data import QUESTIONS, quiz_form

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en-US"}
TECHNICIAN_DETAIL = "给技术员的详细信息"
# names people gave (data, not words), and the language switch naming English in English
DATA = ("Wang Fang", "Zhou Bo", "Class A", "Teacher A", "t-a", "t-b", "admin", "tpkit", "Kiwix", "English", "PDF")


@pytest.fixture
def people_(roles):
    """(clients by role, ids) for two classes (tests/conftest.py's `roles`)."""
    return roles


def english_words(page: str, *data: str) -> list[str]:
    """Latin words of two letters or more in what a zh page shows (its text and its visible attributes), except
    data people typed or named and what a <code> element shows (a user name, an example of one)."""
    body = page.split("<body", 1)[-1].split(">", 1)[-1]  # the body tag's own attributes are not shown
    body = re.sub(r"<(script|style|code)\b.*?</\1>", " ", body, flags=re.S)
    shown = " ".join(re.findall(r'(?:placeholder|aria-label|title|alt)="([^"]*)"', body))
    text = html.unescape(re.sub(r"<[^>]+>", " ", body) + " " + shown)
    for value in (*DATA, *data):
        text = text.replace(value, " ")
    return re.findall(r"[A-Za-z]{2,}", text)


def form_of(page: str, action: str) -> str:
    """The form posting to `action` (the people and class-list pages hold several; their other forms' help names
    file formats and column names, which are not this brief's)."""
    found = re.search(rf'<form [^>]*action="{re.escape(action)}".*?</form>', page, flags=re.S)
    assert found, action
    return "<body>" + re.sub(r"<p>.*?</p>", " ", found[0], flags=re.S)  # its help paragraph aside


def beside(page: str, field: str) -> str:
    """The message shown beside `field` (its id is `<field>-error`), '' when there is none."""
    found = re.search(rf'<p class="error" id="{field}-error" role="alert">([^<]*)</p>', page)
    return html.unescape(found[1]) if found else ""


def assert_refused(response, heading: str, field: str, message: str, *data: str) -> str:
    page = response.text
    assert 400 <= response.status_code < 500, (response.status_code, page[:400])
    assert f"<h1>{heading}</h1>" in page or f">{heading}</h1>" in page, page[:800]
    assert message in beside(page, field), (field, beside(page, field), page)
    assert TECHNICIAN_DETAIL not in page and "error.title" not in page
    return page


def test_refused_hand_in_keeps_the_answer_beside_the_field_zh_and_en(people_):
    clients, ids = people_
    teacher, student = clients["teacher_a"], clients["student_a"]
    lesson_id = make_lesson(teacher, ids["a"]["class"], "水的循环", instructions="读一读。")

    empty = student.post(f"/me/lessons/{lesson_id}/handin", data={"csrf": csrf(student), "body": "  "}, headers=ZH)
    page = assert_refused(empty, "水的循环", "body", "作业是空的", "水的循环")
    assert english_words(page, "水的循环") == []

    typed = "先蒸发，然后下雨。"
    pdf = student.post(
        f"/me/lessons/{lesson_id}/handin",
        data={"csrf": csrf(student), "body": typed},
        files=[("photos", ("page.pdf", PDF, "image/jpeg"))],
        headers=ZH,
    )
    page = assert_refused(pdf, "水的循环", "photos", "重新选择")
    assert f">{typed}</textarea>" in page and english_words(page) == []
    assert "notice" not in pdf.headers.get("location", "")

    en = student.post(f"/me/lessons/{lesson_id}/handin?lang=en", data={"csrf": csrf(student), "body": ""})
    assert en.status_code == 400 and "Your hand-in is empty" in beside(en.text, "body")
    assert student.get(f"/me/lessons/{lesson_id}").text.count('class="error"') == 0  # nothing was saved


def test_refused_grade_keeps_the_score_beside_its_field_the_page_otherwise_unchanged(people_):
    clients, ids = people_
    teacher, student = clients["teacher_a"], clients["student_a"]
    lesson_id = make_lesson(teacher, ids["a"]["class"], "水的循环", instructions="读一读。")
    assert hand_in(student, lesson_id, "下雨了").status_code == 303
    handin_id = int(re.search(r'id="handin-(\d+)"', teacher.get(f"/teach/lessons/{lesson_id}").text)[1])
    for score, out_of, message in (("优", "100", "请点上面的等级按钮"), ("120", "100", "0 和满分之间")):
        data = {"csrf": csrf(teacher), "score": score, "out_of": out_of, "comment": "写得好", "level": "good"}
        refused = teacher.post(f"/teach/handins/{handin_id}/grade", data={**data, "next": "1"}, headers=ZH)
        page = assert_refused(refused, "Wang Fang", "score", message)  # the hand-in's own page, the child's name
        assert f'name="score" inputmode="decimal" size="4" value="{score}"' in page
        assert 'name="level" value="good" checked' in page  # the level chosen stays chosen
        assert ">写得好</textarea>" in page and "下雨了" in page  # the hand-in itself still shown
        assert english_words(page, "水的循环", "Wang Fang", "李小明") == []
    neither = teacher.post(
        f"/teach/handins/{handin_id}/grade", data={"csrf": csrf(teacher), "comment": "再想想"}, headers=ZH
    )
    assert ">再想想</textarea>" in assert_refused(neither, "Wang Fang", "score", "请选一个等级，或者写一个分数")
    en = teacher.post(
        f"/teach/handins/{handin_id}/grade",
        data={"csrf": csrf(teacher), "score": "A+", "out_of": "100", "action": "grade"},
        headers=EN,
    )
    assert en.status_code == 400 and "tap the level buttons" in beside(en.text, "score")
    assert "handed in" in teacher.get(f"/teach/lessons/{lesson_id}", headers=EN).text.lower()  # not graded


def test_refused_new_lesson_and_file_keep_what_was_typed(people_):
    clients, ids = people_
    teacher, class_id = clients["teacher_a"], ids["a"]["class"]
    student_id = ids["a"]["students"][0]
    data = {
        "csrf": csrf(teacher),
        "title": "月亮",
        "instructions": "读一读，画一画。",
        "homework": "1",
        "due": "明天",
        "students": [str(student_id)],
    }
    refused = teacher.post(f"/teach/{class_id}/lessons", data=data, headers=ZH)
    page = assert_refused(refused, "新建课程或作业", "due", "这不是日期")
    assert 'value="月亮"' in page and ">读一读，画一画。</textarea>" in page and 'value="明天"' in page
    assert f'value="{student_id}" checked' in page and 'value="1" checked' in page
    assert english_words(page, "Wang Fang", "李小明") == []
    no_title = teacher.post(f"/teach/{class_id}/lessons", data={**data, "title": " ", "due": ""}, headers=EN)
    assert no_title.status_code == 400 and "Please fill this in" in beside(no_title.text, "title")

    lesson_id = make_lesson(teacher, class_id, "月亮", instructions="读一读。")
    edit = teacher.post(f"/teach/lessons/{lesson_id}/edit", data={**data, "csrf": csrf(teacher)}, headers=ZH)
    page = assert_refused(edit, "编辑课程", "due", "这不是日期")
    assert ">读一读，画一画。</textarea>" in page and f'value="{student_id}" checked' in page
    no_file = teacher.post(
        f"/teach/lessons/{lesson_id}/uploads", data={"csrf": csrf(teacher), "title": "练习纸"}, headers=ZH
    )
    page = assert_refused(no_file, "月亮", "file", "没有选择文件")
    assert 'value="练习纸"' in page


def test_refused_teacher_and_password_keep_what_was_typed_and_state_the_rule(people_):
    clients, _ = people_
    admin = clients["admin"]
    data = {"csrf": csrf(admin), "name": "李丽", "username": "t-a", "password": "a long first password"}
    taken = admin.post("/admin/people/teachers", data=data, headers=ZH)
    page = assert_refused(taken, "人员", "username", "")
    assert beside(page, "username") and 'value="李丽"' in page and 'value="t-a"' in page
    assert "a long first password" not in page  # a password is never sent back
    assert "用户名由 2 到 32 个" in page and english_words(form_of(page, "/admin/people/teachers")) == []
    bad = admin.post("/admin/people/teachers", data={**data, "username": "li li!"}, headers=ZH)
    assert "规则" in beside(bad.text, "username") and 'value="li li!"' in bad.text
    chinese = admin.post("/admin/people/teachers", data={**data, "username": "李丽"}, headers=ZH)
    assert chinese.status_code == 303 and chinese.headers["location"] == "/admin/people?notice=teacher"
    short = admin.post("/admin/people/teachers", data={**data, "username": "li.li", "password": "short"}, headers=EN)
    assert short.status_code == 400 and "at least 10" in beside(short.text, "password")

    made = admin.post("/admin/people/teachers", data={**data, "name": "李丽 Li", "username": "LiLi"})
    assert made.status_code == 303 and "lowercased" in made.headers["location"]
    shown = admin.get(made.headers["location"], headers=ZH).text
    assert "用户名已改成小写" in shown and "<code>lili</code>" in shown

    teacher_id = re.search(r'action="/admin/people/(\d+)/password"', shown)[1]
    reset = admin.post(f"/admin/people/{teacher_id}/password", data={"csrf": csrf(admin), "password": "x"}, headers=ZH)
    assert reset.status_code == 400 and "密码太短" in beside(reset.text, "password")


def test_refused_class_import_keeps_the_class_chosen(people_):
    clients, _ = people_
    teacher = clients["teacher_a"]
    refused = teacher.post("/teach/import", data={"csrf": csrf(teacher), "class_name": "四年级二班"}, headers=ZH)
    page = assert_refused(refused, "我的班级", "file", "没有选择文件")
    assert 'value="四年级二班"' in page and english_words(form_of(page, "/teach/import")) == []


def test_refused_quiz_keeps_every_question_and_says_why_in_chinese(people_):
    clients, ids = people_
    teacher, class_id = clients["teacher_a"], ids["a"]["class"]
    no_tick = dict(QUESTIONS[0][0], right=[])
    data = quiz_form(teacher, "植物", [(no_tick, None, None), QUESTIONS[2]], attempts=0)
    refused = teacher.post(f"/teach/{class_id}/quizzes", data=data, headers=ZH)
    page = refused.text
    assert refused.status_code == 400 and 'value="植物"' in page
    assert "请勾选正确答案" in beside(page, "q0") and "整数" in beside(page, "attempts")
    assert page.count('<fieldset class="question') == 2 and TECHNICIAN_DETAIL not in page
    assert "Question 1" not in page and "not marked" not in page  # no technician English
