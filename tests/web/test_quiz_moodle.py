"""Moodle XML quiz files over real HTTP (issue 17 §4): a teacher downloads a quiz as Moodle XML and imports one into
a class (the new quiz's edit page next); a refused file comes back on the same page with the question at fault, in
the page's language; pupils and other classes' teachers cannot."""

from __future__ import annotations

import re

from appliance.services.learning import quiz_moodle
from tests.services.learning.test_quiz_moodle import QUESTIONS
from tests.web.chinese_pages import visible_words
from tests.web.people_clients import csrf

ZH = {"Accept-Language": "zh-CN"}


def _import(http, class_id: int, data: bytes, title: str = "", name: str = "第二单元.xml", lang: str = "zh-CN"):
    return http.post(
        f"/teach/{class_id}/quizzes/import",
        data={"csrf": csrf(http), "title": title},
        files={"file": (name, data, "application/xml")},
        headers={"Accept-Language": lang},
    )


def test_a_quiz_goes_out_as_moodle_xml_and_comes_back_in_another_class(kit, roles):
    clients, ids = roles
    teacher, class_id = clients["teacher_a"], ids["a"]["class"]
    made = _import(teacher, class_id, quiz_moodle.export("第二单元小测", QUESTIONS))
    assert made.status_code == 303 and made.headers["location"].endswith("/edit")
    quiz_id = int(made.headers["location"].split("/")[3])
    quiz = kit.quizzes.quiz(quiz_id)
    assert (quiz["title"], quiz["class_id"]) == ("第二单元小测", class_id)  # the file's category names it
    assert [q["kind"] for q in kit.quizzes.questions(quiz_id)] == [q["kind"] for q in QUESTIONS]
    page = teacher.get(f"/teach/quizzes/{quiz_id}", headers=ZH)
    link = re.search(r'<a href="/teach/quizzes/\d+/moodle.xml" download>([^<]*)</a>', page.text)
    assert link is not None and link[1].startswith("下载这个测验（魔灯格式") and not re.search("[A-Za-z]", link[1])
    download = teacher.get(f"/teach/quizzes/{quiz_id}/moodle.xml")
    assert download.status_code == 200 and download.headers["content-type"].startswith("application/xml")
    assert download.headers["content-disposition"] == f'attachment; filename="quiz-{quiz_id}.xml"'
    assert quiz_moodle.read(download.content)[1][0].prompt == "植物吸收哪种气体？"
    titled = _import(teacher, class_id, download.content, title="复习")
    assert kit.quizzes.quiz(int(titled.headers["location"].split("/")[3]))["title"] == "复习"


def test_a_refused_file_comes_back_on_the_page_with_the_question(kit, roles):
    clients, ids = roles
    teacher, class_id = clients["teacher_a"], ids["a"]["class"]
    essay = (
        b'<quiz><question type="truefalse"><questiontext><text>a</text></questiontext>'
        b'<answer fraction="100"><text>true</text></answer><answer fraction="0"><text>false</text></answer></question>'
        b'<question type="essay"><questiontext><text>write</text></questiontext></question></quiz>'
    )
    refused = _import(teacher, class_id, essay, title="作文")
    assert refused.status_code == 400 and "第 2 题的题型本机不能批改" in refused.text
    assert 'id="file-error"' in refused.text and 'value="作文"' in refused.text  # beside the file; the title as typed
    assert visible_words(refused.text, ("Class A",)) == []
    broken = _import(teacher, class_id, b"<quiz><question", lang="en")
    assert broken.status_code == 400 and "not a Moodle quiz file" in broken.text


def test_pupils_and_other_classes_teachers_cannot_import_or_download(kit, roles):
    clients, ids = roles
    data = quiz_moodle.export("小测", QUESTIONS)
    assert _import(clients["student_a"], ids["a"]["class"], data).status_code == 403
    assert _import(clients["teacher_b"], ids["a"]["class"], data).status_code in (403, 404)
    made = _import(clients["teacher_a"], ids["a"]["class"], data)
    quiz_id = int(made.headers["location"].split("/")[3])
    assert clients["student_a"].get(f"/teach/quizzes/{quiz_id}/moodle.xml").status_code == 403
    assert clients["teacher_b"].get(f"/teach/quizzes/{quiz_id}/moodle.xml").status_code == 404
