"""Quiz questions as teachers write them, and grading as children answer (full-width digits, commas, 中文)."""

from __future__ import annotations

import pytest

from appliance.errors import BadRequestError
from appliance.services.learning.quiz_marking import check_question, grade, grade_attempt, normalise
from appliance.typed_numbers import parse_number

QUIZ = [
    {"kind": "single", "prompt": "水在多少度沸腾?", "options": ["50", "100", "150"], "answer": 1},
    {
        "kind": "multiple",
        "prompt": "Which are mammals?",
        "options": ["cat", "trout", "whale", "owl"],
        "answer": [0, 2],
        "points": 2,
    },
    {"kind": "true_false", "prompt": "The sun is a star.", "answer": True},
    {"kind": "short", "prompt": "Plants make food by …", "answer": ["photosynthesis", "光合作用"]},
    {"kind": "numeric", "prompt": "π to two decimals", "answer": "3.14", "tolerance": 0.005},
]


def _questions():
    return [check_question(raw, n + 1) for n, raw in enumerate(QUIZ)]


def test_quiz_grading_a_whole_attempt_with_partial_credit():
    graded, score, out_of = grade_attempt(
        _questions(), {0: "1", 1: ["0", "2"], 2: "true", 3: "光合作用。", 4: "３,１４"}
    )
    assert [g.correct for g in graded] == [True] * 5 and (score, out_of) == (6.0, 6.0)
    graded, score, _ = grade_attempt(_questions(), {1: ["0", "1"], 3: "Photo-Synthesis!", 4: "3.2"})
    assert [g.score for g in graded] == [0.0, 0.0, 0.0, 1.0, 0.0]  # cat right, trout wrong: 1 - 1 = 0 of 2
    graded, _, _ = grade_attempt(_questions(), {1: ["2"]})
    assert graded[1].score == 1.0 and not graded[1].correct  # half the right ticks, nothing wrong: half the points


@pytest.mark.parametrize(
    "given, expected",
    [
        ("3", 3.0),
        ("-0,5", -0.5),
        ("＋１２", 12.0),
        (" 1 000 ", 1000.0),
        ("1e9", None),
        ("nan", None),
        ("", None),
        ("3.1.4", None),
        (".5", 0.5),
    ],
)
def test_quiz_grading_reads_numbers_as_children_type_them(given, expected):
    assert parse_number(given) == expected


def test_quiz_grading_short_answers_ignore_case_width_and_punctuation_but_not_words():
    assert normalise("ＣＯ２") == normalise("co2") and normalise("“水循环”") == normalise("水循环")
    question = check_question({"kind": "short", "prompt": "?", "answer": ["water cycle"]}, 1)
    assert grade(question, "Water-Cycle.").correct
    assert not grade(question, "water").correct and not grade(question, "").correct
    assert not grade(question, "!!!").correct


def test_quiz_grading_hostile_answers_score_nothing_and_never_raise():
    for question in _questions():
        for given in (None, "", "99", "-1", ["7", "x"], "<script>alert(1)</script>", "1" * 5000, {"a": 1}):
            assert grade(question, given).score == 0


@pytest.mark.parametrize(
    "raw, problem",
    [
        ({"kind": "essay", "prompt": "x"}, "kind"),
        ({"kind": "single", "prompt": " ", "options": ["a", "b"], "answer": 0}, "empty"),
        ({"kind": "single", "prompt": "x", "options": ["a"], "answer": 0}, "options"),
        ({"kind": "single", "prompt": "x", "options": ["a", "a"], "answer": 0}, "options"),
        ({"kind": "single", "prompt": "x", "options": ["a", "b"], "answer": 2}, "not marked"),
        ({"kind": "multiple", "prompt": "x", "options": ["a", "b"], "answer": []}, "not marked"),
        ({"kind": "true_false", "prompt": "x", "answer": "yes"}, "true or false"),
        ({"kind": "short", "prompt": "x", "answer": ["  ", "?!"]}, "accepted answer"),
        ({"kind": "numeric", "prompt": "x", "answer": "pi"}, "not a number"),
        ({"kind": "numeric", "prompt": "x", "answer": "3", "tolerance": -1}, "tolerance"),
        ({"kind": "true_false", "prompt": "x", "answer": True, "points": 0}, "points"),
    ],
)
def test_quiz_grading_refuses_broken_questions_naming_the_number_and_problem(raw, problem):
    with pytest.raises(BadRequestError, match=problem) as caught:
        check_question(raw, 4)
    assert caught.value.code == "quiz.invalid" and "Question 4" in caught.value.message and caught.value.fix
