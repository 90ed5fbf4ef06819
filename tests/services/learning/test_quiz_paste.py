"""A whole quiz pasted as text (issue 16, "Quizzes in minutes"): the plain format as teachers type it in Word, WPS
or on a phone (full-width punctuation included) and Moodle's GIFT, each question checked as the quiz form checks
it; every refusal names its line; hostile input (a megabyte, 500 questions) is refused before it is read."""

from __future__ import annotations

import time

import pytest

from appliance.errors import QuizPasteError
from appliance.services.learning import quiz_paste
from appliance.services.learning.quiz_marking import Question, check_question

PLAIN = """1. 植物从空气中吸收哪种气体？
A. 氧气
B. 二氧化碳 *
C. 氮气

2．下列哪些是哺乳动物？
Ａ、鲸
Ｂ、鲨鱼
Ｃ、蝙蝠
答案：A、C

3、太阳是一颗恒星。
答案：对

（4）水从云里落下来叫什么？
答案：降雨|雨
分值：2

第5题 7 ÷ 2 = ?
答案：3.5±0.1
6. 地球是平的。
【答案】错
"""

GIFT = """// 两道题之间空一行
$CATEGORY: 三年级/植物
::Q1:: 植物从空气中吸收哪种气体？{=二氧化碳 ~氧气 ~氮气#不对}

::Q2:: [plain]哪些是哺乳动物？ {
~%50%鲸
~%50%蝙蝠
~%-100%鲨鱼
}

太阳是一颗恒星。{TRUE}

水从云里落下来叫什么？{=降雨 =雨 ####都算对}

7 ÷ 2 = ? {#3.5:0.1}

新中国成立于哪一年？{#1948..1950}

地球 {~是 =不是} 平的。

1 \\+ 1 \\= ? 写 \\{答案\\} {=2 ~3}
"""


def _questions(text: str, fmt: str) -> list[tuple[int, Question]]:
    return [(line, check_question(q.raw(), n)) for n, (line, q) in enumerate(quiz_paste.parse(text, fmt), start=1)]


def _refusal(text: str, fmt: str = "plain") -> QuizPasteError:
    with pytest.raises(QuizPasteError) as caught:
        quiz_paste.parse(text, fmt)
    return caught.value


def test_quiz_paste_plain_reads_every_kind_with_chinese_punctuation():
    found = _questions(PLAIN, "plain")
    assert [line for line, _ in found] == [1, 6, 12, 15, 19, 21]  # the sixth follows the fifth without a blank line
    single, multiple, true, short, numeric, false = (q for _, q in found)
    assert (single.kind, single.prompt, single.options, single.answer) == (
        "single",
        "植物从空气中吸收哪种气体？",
        ("氧气", "二氧化碳", "氮气"),
        1,
    )
    assert (multiple.kind, multiple.options, multiple.answer) == ("multiple", ("鲸", "鲨鱼", "蝙蝠"), (0, 2))
    assert (true.kind, true.answer, false.kind, false.answer) == ("true_false", True, "true_false", False)
    assert (short.kind, short.answer, short.points) == ("short", ("降雨", "雨"), 2.0)
    assert (numeric.kind, numeric.prompt, numeric.answer, numeric.tolerance) == ("numeric", "7 ÷ 2 = ?", 3.5, 0.1)


def test_quiz_paste_plain_marks_and_answer_lines_in_many_hands():
    text = "1) 选一个\n* A) 甲\nB) 乙\n\n(2) 再选\nA：甲\nB：乙 √\n\n3. 两个都对\nA. 甲\nB. 乙\n答案：a b\n\n4. T or F\nAnswer: true"
    kinds = [(q.kind, q.answer) for _, q in _questions(text, "plain")]
    assert kinds == [("single", 0), ("single", 1), ("multiple", (0, 1)), ("true_false", True)]


def test_quiz_paste_plain_options_on_one_line_as_exam_papers_print_them():
    text = "1. 植物吸收哪种气体？\nA. 氧气  B. 二氧化碳 *  C．氮气\n\n2. 选两个\nA、甲 B、乙 *\nC、丙 * D、丁"
    found = [(q.kind, q.options, q.answer) for _, q in _questions(text, "plain")]
    assert found == [("single", ("氧气", "二氧化碳", "氮气"), 1), ("multiple", ("甲", "乙", "丙", "丁"), (1, 2))]


def test_quiz_paste_gift_reads_the_kinds_the_kit_grades():
    found = _questions(GIFT, "gift")
    assert [line for line, _ in found] == [3, 5, 11, 13, 15, 17, 19, 21]
    kinds = [(q.kind, q.prompt, q.options, q.answer, q.tolerance) for _, q in found]
    assert kinds == [
        ("single", "植物从空气中吸收哪种气体？", ("二氧化碳", "氧气", "氮气"), 0, 0.0),
        ("multiple", "哪些是哺乳动物？", ("鲸", "蝙蝠", "鲨鱼"), (0, 1), 0.0),
        ("true_false", "太阳是一颗恒星。", (), True, 0.0),
        ("short", "水从云里落下来叫什么？", (), ("降雨", "雨"), 0.0),
        ("numeric", "7 ÷ 2 = ?", (), 3.5, 0.1),
        ("numeric", "新中国成立于哪一年？", (), 1949.0, 1.0),
        ("single", "地球 ____ 平的。", ("是", "不是"), 1, 0.0),
        ("single", "1 \\+ 1 = ? 写 {答案}", ("2", "3"), 0, 0.0),
    ]


@pytest.mark.parametrize(
    ("text", "code", "line"),
    [
        ("1. 问题\nA. 一\nB. 二\n", "quiz.paste_no_answer", 1),
        ("1. 问题一\n答案：对\n\n2. 问题二", "quiz.paste_no_answer", 4),
        ("1. 问题\nA. 一\nB. 二\n答案：E", "quiz.paste_bad_answer", 4),
        ("1. 问题\nA. 一\nB. 二 *\n多出来的一行", "quiz.paste_stray_line", 4),
        ("答案：对", "quiz.paste_no_prompt", 1),
        ("", "quiz.paste_empty", None),
        ("\n  \n", "quiz.paste_empty", None),
    ],
)
def test_quiz_paste_plain_refusals_name_the_line(text, code, line):
    refused = _refusal(text)
    assert refused.code == code and refused.field == "text" and refused.values.get("line") == line
    if line:
        assert refused.values["quoted"] == text.split("\n")[line - 1].strip()
        assert str(refused).startswith(f"Line {line} ")


@pytest.mark.parametrize(
    ("text", "code", "line"),
    [
        ("一题 {=甲 ~乙}\n\n配对 {=猫 -> 鱼 =狗 -> 骨头}", "quiz.paste_gift_unsupported", 3),
        ("作文 {}", "quiz.paste_gift_unsupported", 1),
        ("// 注释\n\n只是一段说明。", "quiz.paste_gift_unsupported", 3),
        ("两个都全对 {=甲 =乙 ~丙}", "quiz.paste_gift_unsupported", 1),
        ("部分分数 {=%50%甲 =乙}", "quiz.paste_gift_unsupported", 1),
        ("数值多答案 {#=1:0 =%50%2:0}", "quiz.paste_gift_unsupported", 1),
        ("没有结尾 {=甲 ~乙", "quiz.paste_gift_braces", 1),
        ("两个 {=甲} 还有 {=乙}", "quiz.paste_gift_braces", 1),
    ],
)
def test_quiz_paste_gift_unsupported_constructs_refused_with_their_line(text, code, line):
    refused = _refusal(text, "gift")
    assert (refused.code, refused.values["line"]) == (code, line)


def test_quiz_paste_hostile_input_refused_before_it_is_read():
    started = time.monotonic()
    megabyte = _refusal("1. 问题\n" * 150_000)  # ~1 MB
    assert megabyte.code == "quiz.paste_too_long" and megabyte.values == {"max_chars": quiz_paste.MAX_PASTE_CHARS}
    many = _refusal("\n\n".join(f"{n}. 第 {n} 题\n答案：对" for n in range(1, 501)))
    assert many.code == "quiz.paste_too_many" and many.values == {"count": 500, "max": 50}
    gift_many = _refusal("\n\n".join(f"第 {n} 题 {{T}}" for n in range(1, 501)), "gift")
    assert gift_many.code == "quiz.paste_too_many"
    braces = _refusal("{" * 90_000, "gift")
    assert braces.code == "quiz.paste_gift_braces"
    assert time.monotonic() - started < 5  # no quadratic path in either reader


def test_quiz_paste_fifty_questions_read_fifty_one_refused():
    fifty = "\n\n".join(f"{n}. 第 {n} 题\n答案：{n}" for n in range(1, 51))
    assert len(quiz_paste.parse(fifty, "plain")) == 50
    assert _refusal(fifty + "\n\n51. 多一题\n答案：对").values["count"] == 51
