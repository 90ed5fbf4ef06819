"""Quizzes after the fact over real HTTP (issue 16): a teacher accepts another answer or gives one child's credit
from the results page and every attempt is marked again (a refused change comes back as the same page); a hand-in
with blanks comes back with every answer and the choice to answer or hand in anyway; after a hand-in the pages say
what a second one does; a quiz for some students is invisible and 403 to the others."""

from __future__ import annotations

import re

import pytest

from tests.web.chinese_pages import visible_words
from tests.web.lesson_data import hand_in as hand_in_homework, make_lesson
from tests.web.people_clients import csrf, role_clients, student_client
from tests.web.quiz_data import create_quiz, start

ZH = {"Accept-Language": "zh-CN"}
WEATHER = [
    ({"kind": "short", "prompt": "云里的水落下来叫什么？", "accepted": "下雨"}, None, None),
    ({"kind": "single", "prompt": "哪个是固体？", "option0": "冰", "option1": "水蒸气", "right": ["0"]}, None, None),
    ({"kind": "true_false", "prompt": "冰比水轻。", "tf": "true"}, None, None),
    (
        {
            "kind": "multiple",
            "prompt": "哪些会下？",
            "option0": "雨",
            "option1": "雪",
            "option2": "云",
            "right": ["0", "1"],
        },
        None,
        None,
    ),
    ({"kind": "numeric", "prompt": "一周有几天？", "number": "7"}, None, None),
]
DATA = ("Class A", "Teacher A", "Wang Fang", "李小明", "天气")  # what the test typed (names, titles)


@pytest.fixture
def roles(kit, live):
    """Signed-in clients of every role, plus student_a2 (the second student of class A); the ids."""
    clients, ids = role_clients(kit, live.url)
    a = ids["a"]
    second = a["students"][1]
    clients["student_a2"] = student_client(live.url, a["class"], second, a["pins"][second])
    yield clients, ids
    for http in clients.values():
        http.close()


def _hand_in(http, quiz_id: int, attempt: int, **answers) -> object:
    return http.post(f"/me/quizzes/{quiz_id}/attempts/{attempt}", data={"csrf": csrf(http), **answers})


def test_quiz_marking_accept_an_answer_from_the_results_page(kit, roles):
    clients, ids = roles
    teacher, child, other = clients["teacher_a"], clients["student_a"], clients["student_a2"]
    quiz_id = create_quiz(teacher, ids["a"]["class"], "天气", questions=WEATHER, attempts=2)
    first = start(child, quiz_id)
    assert _hand_in(child, quiz_id, first, a0="降雨", a1="1", a2="true", a3=["0", "1"], a4="7").status_code == 303
    second = start(other, quiz_id)
    assert _hand_in(other, quiz_id, second, a0="降雨。", a1="0", a2="true", a3="0", a4="7").status_code == 303
    results = teacher.get(f"/teach/quizzes/{quiz_id}", headers=ZH).text
    assert ">算对</button>" in results and "重新评分" in results
    assert visible_words(results, DATA) == []

    accepted = teacher.post(
        f"/teach/quizzes/{quiz_id}/marking",
        data={"csrf": csrf(teacher), "position": "0", "action": "accept", "accept0": "降雨"},
    )
    assert accepted.status_code == 303 and accepted.headers["location"].endswith("#mark0")
    scores = [a["score"] for a in kit.quizzes.handed_in(quiz_id)]
    assert scores == [4, 4.5]  # 3 + 1 and 3.5 + 1: both spellings of 降雨 now right
    page = teacher.get(f"/teach/quizzes/{quiz_id}", headers=ZH).text
    assert "也算对：降雨" in page and "第 1 题：“降雨”也算对" in page and "Teacher A" in page
    done = child.get(f"/me/quizzes/{quiz_id}/attempts/{first}", headers=ZH).text
    assert "<b>4 / 5</b>" in done and "老师改过评分" in done and visible_words(done, DATA) == []

    # refused: nothing to accept, or an answer already right — the same page, the message beside the question
    for typed, message in (("。", "请写出（或选出）也算对的答案"), ("下 雨", "这个答案本来就算对")):
        refused = teacher.post(
            f"/teach/quizzes/{quiz_id}/marking",
            data={"csrf": csrf(teacher), "position": "0", "action": "accept", "accept0": typed},
            headers=ZH,
        )
        assert refused.status_code == 400 and 'id="accept0-error"' in refused.text and message in refused.text
        assert f'value="{typed}"' in refused.text and '<details class="remark" id="accept-q0" open>' in refused.text
    # a later attempt gets the accepted answer at hand-in
    again = start(child, quiz_id)
    assert _hand_in(child, quiz_id, again, a0="降雨", a1="0", a2="true", a3=["0", "1"], a4="7").status_code == 303
    assert kit.quizzes.attempt(again)["score"] == 5

    # undo, and who may: another class's teacher sees nothing, a child is refused
    key = re.search(r'name="key" value="([^"]+)"', page)[1]
    undone = teacher.post(
        f"/teach/quizzes/{quiz_id}/marking",
        data={"csrf": csrf(teacher), "position": "0", "action": "unaccept", "key": key},
    )
    assert undone.status_code == 303 and [a["score"] for a in kit.quizzes.handed_in(quiz_id)] == [3, 3.5, 4]
    for name, status in (("teacher_b", 404), ("student_a", 403), ("anonymous", 401)):
        http = clients[name]
        sent = http.post(
            f"/teach/quizzes/{quiz_id}/marking",
            data={"csrf": csrf(http), "position": "0", "action": "accept", "accept0": "落雨"},
        )
        assert sent.status_code == status, name
    assert kit.quizzes.accepted(quiz_id) == {}


def test_quiz_marking_one_childs_credit_from_their_attempt(kit, roles):
    clients, ids = roles
    teacher, child = clients["teacher_a"], clients["student_a"]
    quiz_id = create_quiz(teacher, ids["a"]["class"], "天气", questions=WEATHER, attempts=1)
    attempt = start(child, quiz_id)
    _hand_in(child, quiz_id, attempt, a0="雨", a1="0", a2="true", a3=["0", "1"], a4="7")
    results = teacher.get(f"/teach/quizzes/{quiz_id}").text
    assert f'href="/teach/quizzes/{quiz_id}/attempts/{attempt}"' in results
    view = teacher.get(f"/teach/quizzes/{quiz_id}/attempts/{attempt}", headers=ZH)
    assert view.status_code == 200 and ">给满分</button>" in view.text and visible_words(view.text, DATA) == []
    given = teacher.post(
        f"/teach/quizzes/{quiz_id}/attempts/{attempt}/credit",
        data={"csrf": csrf(teacher), "position": "0", "credit": "1"},
    )
    assert given.status_code == 303 and kit.quizzes.attempt(attempt)["score"] == 5
    assert "老师改的分" in teacher.get(f"/teach/quizzes/{quiz_id}/attempts/{attempt}", headers=ZH).text
    bad = teacher.post(
        f"/teach/quizzes/{quiz_id}/attempts/{attempt}/credit",
        data={"csrf": csrf(teacher), "position": "0", "credit": "9"},
    )
    assert bad.status_code == 400 and 'class="error"' in bad.text and "<h1>Wang Fang</h1>" in bad.text
    assert clients["teacher_b"].get(f"/teach/quizzes/{quiz_id}/attempts/{attempt}").status_code == 404
    assert child.get(f"/teach/quizzes/{quiz_id}/attempts/{attempt}").status_code == 403


def test_quiz_hand_in_with_blanks_comes_back_with_every_answer(kit, roles):
    clients, ids = roles
    child = clients["student_a"]
    quiz_id = create_quiz(clients["teacher_a"], ids["a"]["class"], "天气", questions=WEATHER, attempts=1)
    attempt = start(child, quiz_id)
    warned = child.post(
        f"/me/quizzes/{quiz_id}/attempts/{attempt}",
        data={"csrf": csrf(child), "a0": "下雨", "a2": "false", "a3": ["1", "2"]},
        headers=ZH,
    )
    assert warned.status_code == 200 and "还有 2 题没有答：第 2、5 题" in warned.text
    assert 'value="下雨"' in warned.text and 'name="a2" value="false" checked' in warned.text
    assert 'name="a3" value="1" checked' in warned.text and 'name="a3" value="2" checked' in warned.text
    assert 'name="a3" value="0">' in warned.text and 'href="#q1"' in warned.text and ">仍然提交</button>" in warned.text
    assert visible_words(warned.text, DATA) == []
    assert kit.quizzes.attempt(attempt)["handed_in_at"] is None  # nothing handed in yet
    one = child.post(
        f"/me/quizzes/{quiz_id}/attempts/{attempt}",
        data={"csrf": csrf(child), "a0": "下雨", "a1": "0", "a2": "false", "a3": "1"},
    )
    assert one.status_code == 200 and "Question 5 is not answered yet." in one.text
    anyway = child.post(
        f"/me/quizzes/{quiz_id}/attempts/{attempt}",
        data={"csrf": csrf(child), "a0": "下雨", "a2": "false", "blanks": "ok"},
    )
    assert anyway.status_code == 303 and kit.quizzes.attempt(attempt)["score"] == 1
    done = child.get(f"/me/quizzes/{quiz_id}/attempts/{attempt}", headers=ZH).text
    assert "你的答案和成绩都保存好了" in done and "再做一次" not in done  # one attempt only


def test_after_a_hand_in_pages_say_what_a_second_one_does(kit, roles):
    clients, ids = roles
    teacher, child = clients["teacher_a"], clients["student_a"]
    quiz_id = create_quiz(teacher, ids["a"]["class"], "天气", questions=WEATHER, attempts=2)
    attempt = start(child, quiz_id)
    _hand_in(child, quiz_id, attempt, a0="下雨", a1="0", a2="true", a3="0", a4="7")
    done = child.get(f"/me/quizzes/{quiz_id}/attempts/{attempt}", headers=ZH).text
    assert ">再做一次</button>" in done and "这次的成绩不会删掉" in done and visible_words(done, DATA) == []
    assert ">再做一次</button>" in child.get(f"/me/quizzes/{quiz_id}", headers=ZH).text

    lesson_id = make_lesson(teacher, ids["a"]["class"], "作文", instructions="写一写。")
    before = child.get(f"/me/lessons/{lesson_id}", headers=ZH).text
    assert ">提交作业</h2>" in before and "再交一次" not in before
    assert hand_in_homework(child, lesson_id, "我的作文").status_code == 303
    after = child.get(f"/me/lessons/{lesson_id}?notice=handed_in", headers=ZH).text
    assert "我的作文" in after and "再交一次会替换上次交的" in after and "<summary>再交一次</summary>" in after
    assert ">提交作业</h2>" not in after and '<details class="again" id="hand-in">' in after  # closed, not a blank form
    assert visible_words(after, DATA + ("作文",)) == []


def test_quiz_for_some_students_is_invisible_and_403_to_the_others(kit, roles):
    clients, ids = roles
    teacher, chosen, other = clients["teacher_a"], clients["student_a2"], clients["student_a"]
    quiz_id = create_quiz(teacher, ids["a"]["class"], "天气", questions=WEATHER)
    chosen_id = ids["a"]["students"][1]
    assigned = teacher.post(
        f"/teach/quizzes/{quiz_id}/students", data={"csrf": csrf(teacher), "students": [str(chosen_id)]}
    )
    assert assigned.status_code == 303
    results = teacher.get(f"/teach/quizzes/{quiz_id}", headers=ZH).text
    assert f'name="students" value="{chosen_id}" checked' in results and "布置给：" in results
    assert f"/me/quizzes/{quiz_id}" in chosen.get("/me").text
    assert f"/me/quizzes/{quiz_id}" not in other.get("/me").text
    refused = other.get(f"/me/quizzes/{quiz_id}", headers=ZH)
    assert refused.status_code == 403 and "这份测验老师只布置给了班里的部分同学" in refused.text
    assert other.post(f"/me/quizzes/{quiz_id}/start", data={"csrf": csrf(other)}).status_code == 403
    overview = teacher.get(f"/teach/{ids['a']['class']}/overview").text
    assert overview.count('<td class="state-none">—</td>') == 1
    stranger = ids["b"]["students"][0]
    sneaky = teacher.post(
        f"/teach/quizzes/{quiz_id}/students", data={"csrf": csrf(teacher), "students": [str(stranger)]}
    )
    assert sneaky.status_code == 404 and kit.quizzes.assigned_to(quiz_id) == [chosen_id]
    assert (
        clients["teacher_b"]
        .post(f"/teach/quizzes/{quiz_id}/students", data={"csrf": csrf(clients["teacher_b"]), "students": []})
        .status_code
        == 404
    )
