"""Pasting a whole quiz over real HTTP (issue 16): GET /teach/<class>/quizzes/paste, POST it, 303 to the new quiz's
edit page (three page loads for ten questions); a refused paste comes back as the same form with the text as sent
and the line at fault, in the page's language; only the class's teachers may paste."""

from __future__ import annotations

from appliance.services.learning import quizzes
from tests.web.chinese_pages import visible_words
from tests.web.people_clients import csrf

TEN = """1. 植物从空气中吸收哪种气体？
A. 氧气
B. 二氧化碳 *
C. 氮气

2．下列哪些是哺乳动物？
A、鲸
B、鲨鱼
C、蝙蝠
答案：A、C

3、太阳是一颗恒星。
答案：对

4. 水从云里落下来叫什么？
答案：降雨|雨
分值：2

5. 7 ÷ 2 = ?
答案：3.5

6. 1 米等于多少厘米？
答案：100

7. 哪个是液体？
A. 冰
B. 水 *

8. 月亮自己会发光。
答案：错

9. 中国的首都是哪里？
答案：北京|北京市

10. 哪些是偶数？
A. 2 *
B. 3
C. 4 *
"""


def _paste(http, class_id: int, text: str, title: str = "植物 第一单元", fmt: str = "plain", lang: str = "zh-CN"):
    return http.post(
        f"/teach/{class_id}/quizzes/paste",
        data={"csrf": csrf(http), "title": title, "text": text, "format": fmt},
        headers={"Accept-Language": lang},
    )


def test_quiz_paste_ten_questions_in_three_page_loads(kit, roles):
    clients, ids = roles
    teacher, class_id = clients["teacher_a"], ids["a"]["class"]
    form = teacher.get(f"/teach/{class_id}/quizzes/paste", headers={"Accept-Language": "zh-CN"})  # load 1
    assert form.status_code == 200 and 'name="text"' in form.text and "粘贴整套题" in form.text
    assert visible_words(form.text, ("Class A",)) == [] and "GIFT" not in form.text  # 魔灯题库格式; the class's
    made = _paste(teacher, class_id, TEN)  # load 2
    assert made.status_code == 303 and made.headers["location"].endswith("/edit")
    quiz_id = int(made.headers["location"].split("/")[3])
    edit = teacher.get(made.headers["location"], headers={"Accept-Language": "zh-CN"})  # load 3
    assert edit.status_code == 200 and edit.text.count('<fieldset class="question') == 10
    stored = kit.quizzes.questions(quiz_id)
    assert [(q["kind"], q["answer"]) for q in stored] == [
        ("single", 1),
        ("multiple", [0, 2]),
        ("true_false", True),
        ("short", ["降雨", "雨"]),
        ("numeric", 3.5),
        ("numeric", 100),
        ("single", 1),
        ("true_false", False),
        ("short", ["北京", "北京市"]),
        ("multiple", [0, 2]),
    ]
    quiz = kit.quizzes.quiz(quiz_id)
    assert (quiz["title"], quiz["class_id"], quiz["author_id"]) == ("植物 第一单元", class_id, ids["a"]["teacher"])
    assert stored[3]["points"] == 2 and quizzes.right_answer(quizzes.as_question(stored[3])) == "降雨 / 雨"


def test_quiz_paste_gift_makes_the_quiz(kit, roles):
    clients, ids = roles
    made = _paste(clients["teacher_a"], ids["a"]["class"], "问题 {=甲 ~乙}\n\n太阳是恒星 {T}", fmt="gift")
    assert made.status_code == 303
    quiz_id = int(made.headers["location"].split("/")[3])
    assert [q["kind"] for q in kit.quizzes.questions(quiz_id)] == ["single", "true_false"]


def test_quiz_paste_refused_comes_back_with_the_text_and_the_line(kit, roles):
    clients, ids = roles
    teacher, class_id = clients["teacher_a"], ids["a"]["class"]
    text = TEN.replace("B. 二氧化碳 *", "B. 二氧化碳")
    refused = _paste(teacher, class_id, text)
    assert refused.status_code == 400
    assert "第 1 行（“1. 植物从空气中吸收哪种气体？”）：这道题没有答案" in refused.text
    assert "B. 二氧化碳\nC. 氮气" in refused.text and 'value="植物 第一单元"' in refused.text  # the text as sent
    assert visible_words(refused.text, ("Class A",)) == [] and "GIFT" not in refused.text
    checked = _paste(teacher, class_id, "1. 重复的选项\nA. 甲 *\nB. 甲")  # read, but check_question refuses it
    assert checked.status_code == 400 and "第 1 题（从第 1 行“1. 重复的选项”开始）还不能保存" in checked.text
    assert "选择题至少要有两个不同的选项" in checked.text
    untitled = _paste(teacher, class_id, TEN, title="", lang="en")
    assert (
        untitled.status_code == 400 and 'id="title-error"' in untitled.text and "Write a short title" in untitled.text
    )
    gift = _paste(teacher, class_id, "一题 {=甲 ~乙}\n\n配对 {=猫 -> 鱼}", fmt="gift")
    assert gift.status_code == 400 and "第 3 行" in gift.text and 'value="gift" checked' in gift.text
    many = _paste(teacher, class_id, "\n\n".join(f"{n}. 题\n答案：对" for n in range(1, 501)))
    assert many.status_code == 400 and "有 500 道题，一个测验最多 50 道" in many.text
    big = _paste(teacher, class_id, "1. 问题 answer\n" * 70_000, lang="en")  # 1 MB of text, 2.4 MB as posted
    assert big.status_code == 400 and "too long for one quiz" in big.text and "1. 问题 answer" in big.text
    huge = _paste(teacher, class_id, "问题" * 300_000)  # 5.4 MB as posted: over the form limit, refused unread
    assert huge.status_code == 400 and "粘贴的内容太长" in huge.text and 'name="text"' in huge.text
    assert kit.db.read().execute("SELECT count(*) FROM quizzes").fetchone()[0] == 0


def test_quiz_paste_only_for_the_class_teachers(kit, roles):
    clients, ids = roles
    class_id = ids["a"]["class"]
    assert clients["teacher_b"].get(f"/teach/{class_id}/quizzes/paste").status_code == 404
    assert _paste(clients["teacher_b"], class_id, TEN).status_code == 404
    assert _paste(clients["student_a"], class_id, TEN).status_code == 403
    assert clients["anonymous"].get(f"/teach/{class_id}/quizzes/paste").status_code == 401
    stale = clients["teacher_a"].post(f"/teach/{class_id}/quizzes/paste", data={"title": "x", "text": TEN})
    assert stale.status_code == 403
    assert kit.db.read().execute("SELECT count(*) FROM quizzes").fetchone()[0] == 0
