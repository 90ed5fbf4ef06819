"""Scores people understand (issue 16, defects 2, 5 and 6): a 10-question quiz with partial credit shown as partly
right, scores rounded for people (stored exact), true/false answers in words; quizzes in the class overview, its
CSV (headers and states in the page's language, UTF-8 with BOM, score and out-of in their own columns) and the
parent summary. Real kit, uvicorn, sessions, CSRF."""

from __future__ import annotations

import csv
import io

import pytest

from appliance.services.learning import scores
from tests.web.chinese_pages import visible_words
from tests.web.people_clients import csrf, role_clients
from tests.web.quiz_data import create_quiz, start

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}
# Data the test types (names from tests/roster_data.two_classes): shown as typed, so not "English words".
DATA = ("Wang Fang", "Class A", "Teacher A", "t-a")

# 10 questions, 13 points. (form fields, what the student answers): 2 of 3 right ticks on a 3-point and on a
# 2-point question (partly right: 2 and 1.3333), 3 right, 5 wrong or empty: 6.3333 of 13 stored, "6.3 / 13" shown.
TEN = [
    (
        {
            "kind": "multiple",
            "prompt": "哪些是哺乳动物？",
            "option0": "鲸",
            "option1": "蝙蝠",
            "option2": "狗",
            "option3": "鲨鱼",
            "right": ["0", "1", "2"],
            "points": "3",
        },
        ["0", "1"],
    ),
    (
        {
            "kind": "multiple",
            "prompt": "哪些是质数？",
            "option0": "2",
            "option1": "3",
            "option2": "5",
            "option3": "9",
            "right": ["0", "1", "2"],
            "points": "2",
        },
        ["0", "1"],
    ),
    ({"kind": "true_false", "prompt": "太阳是一颗恒星。", "tf": "true"}, ["true"]),
    ({"kind": "true_false", "prompt": "月亮自己会发光。", "tf": "false"}, ["true"]),
    ({"kind": "numeric", "prompt": "7 ÷ 2 等于多少？", "number": "3.5", "tolerance": "0.01"}, ["3.5"]),
    ({"kind": "short", "prompt": "植物制造养分的过程叫什么？", "accepted": "光合作用"}, ["光合作用"]),
    (
        {"kind": "single", "prompt": "植物吸收哪种气体？", "option0": "氧气", "option1": "二氧化碳", "right": ["1"]},
        ["0"],
    ),
    ({"kind": "single", "prompt": "水在几度结冰？", "option0": "零度", "option1": "十度", "right": ["0"]}, ["1"]),
    ({"kind": "numeric", "prompt": "一周有几天？", "number": "7"}, [""]),
    ({"kind": "short", "prompt": "水变成水蒸气叫什么？", "accepted": "蒸发"}, ["下雨"]),
]


@pytest.fixture
def handed(kit, live):
    """Student A handed in the 10-question quiz (one attempt) and started, not handed in, a second quiz."""
    clients, ids = role_clients(kit, live.url)
    teacher, student = clients["teacher_a"], clients["student_a"]
    questions = [(fields, None, None) for fields, _ in TEN]
    quiz_id = create_quiz(teacher, ids["a"]["class"], "植物测验", questions=questions, attempts=1)
    other_id = create_quiz(teacher, ids["a"]["class"], "天气测验", questions=questions[2:3], attempts=1)
    attempt = start(student, quiz_id)
    answers = {"csrf": csrf(student), "blanks": "ok", **{f"a{n}": given for n, (_, given) in enumerate(TEN)}}
    assert student.post(f"/me/quizzes/{quiz_id}/attempts/{attempt}", data=answers).status_code == 303
    start(student, other_id)
    yield clients, ids, quiz_id, attempt
    for http in clients.values():
        http.close()


def test_scores_rounded_for_people():
    assert [scores.shown(v) for v in (4.66666, 5.0, 0.05, 0, 10, 2 / 3, None)] == [
        "4.7",
        "5",
        "0.1",
        "0",
        "10",
        "0.7",
        "",
    ]
    assert scores.percent(0.4667) == "47" and scores.percent(None) == ""
    assert [scores.mark(s, 3) for s in (3, 2, 0, None)] == ["right", "partly", "wrong", "wrong"]


def test_partial_credit_shown_as_partly_right_and_rounded(kit, handed):
    clients, _, quiz_id, attempt = handed
    row = kit.db.read().execute("SELECT score, out_of FROM quiz_attempts WHERE id = ?", (attempt,)).fetchone()
    assert tuple(row) == (6.3333, 13)  # stored exact
    student = clients["student_a"]
    zh = student.get(f"/me/quizzes/{quiz_id}/attempts/{attempt}", headers=ZH).text
    assert "<b>6.3 / 13</b>" in zh and "6.3333" not in zh
    assert "◐ 部分正确 2/3" in zh and "◐ 部分正确 1.3/2" in zh
    assert zh.count('<li class="partly">') == 2 and zh.count('<li class="right">') == 4 - 1
    assert zh.count('<li class="wrong">') == 5 and "✗ 不正确" in zh
    assert "正确答案：错" in zh  # the true/false question answered "true": its right answer in words
    assert visible_words(zh, DATA) == []
    me = student.get("/me", headers=ZH).text
    assert "最高分 6.3 / 13" in me and visible_words(me, DATA) == []
    en = student.get(f"/me/quizzes/{quiz_id}/attempts/{attempt}", headers=EN).text
    assert "<b>6.3 / 13</b>" in en and "◐ Partly right 2/3" in en and "Right answer: False" in en

    teacher = clients["teacher_a"]
    results = teacher.get(f"/teach/quizzes/{quiz_id}", headers=ZH).text
    assert "正确答案：对" in results and "正确答案：错" in results and ">6.3 / 13<" in results
    seen = visible_words(results)  # the teacher's "count as right" forms send true/false in hidden fields
    assert "部分正确 1" in results and "true" not in seen and "false" not in seen
    assert "允许作答 1 次" in results
    assert visible_words(results, DATA + ("2", "3")) == []
    en_results = teacher.get(f"/teach/quizzes/{quiz_id}", headers=EN).text
    assert "1 attempt allowed" in en_results and "attempt(s)" not in en_results
    assert "Right answer: True" in en_results and "Right answer: False" in en_results


def test_quizzes_in_overview_csv_and_summary(kit, handed):
    clients, ids, quiz_id, _ = handed
    teacher, class_id = clients["teacher_a"], ids["a"]["class"]
    overview = teacher.get(f"/teach/{class_id}/overview", headers=ZH).text
    assert "测验：植物测验" in overview and "已交 6.3/13" in overview
    assert "进行中" in overview and overview.count("未开始") == 2  # 李小明 started neither quiz
    assert visible_words(overview, DATA) == []

    raw = teacher.get(f"/teach/{class_id}/overview.csv", headers=ZH)
    assert raw.content.startswith(b"\xef\xbb\xbf") and raw.headers["content-language"] == "zh"
    rows = list(csv.reader(io.StringIO(raw.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "姓名",
        "学号",
        "未完成",
        "植物测验 状态",
        "植物测验 得分",
        "植物测验 满分",
        "天气测验 状态",
        "天气测验 得分",
        "天气测验 满分",
    ]
    by_name = {r[0]: r[1:] for r in rows[1:]}
    assert by_name["Wang Fang"] == ["", "1", "已交", "6.3", "13", "进行中", "", ""]
    assert by_name["李小明"] == ["", "2", "未开始", "", "", "未开始", "", ""]
    assert not any("/" in cell for row in rows[1:] for cell in row)  # no "4/5" a spreadsheet makes a date
    en_rows = list(
        csv.reader(io.StringIO(teacher.get(f"/teach/{class_id}/overview.csv", headers=EN).text.lstrip("\ufeff")))
    )
    assert en_rows[0][:4] == ["Name", "Student number", "Not done", "植物测验 (state)"]
    assert {r[0]: r[3] for r in en_rows[1:]} == {"Wang Fang": "handed in", "李小明": "not started"}

    student_id = ids["a"]["students"][0]
    summary = teacher.get(f"/teach/{class_id}/students/{student_id}/summary", headers=ZH).text
    assert "测验：植物测验" in summary and "6.3/13" in summary and "进行中" in summary
    # the kit's school name (a setting, "tpkit" unless set) heads the summary as typed
    assert visible_words(summary, (*DATA, kit.settings.school_name)) == []
