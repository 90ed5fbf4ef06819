"""Quizzes in Moodle XML (issue 17 §4): the kit's export read by a parser the kit's authors did not write
(moodle-xml-parser), files written by a library the kit's authors did not write (moodle-questions) read by the kit,
every kind through a round trip, and files the kit must refuse."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
from moodle_questions import MultipleChoiceQuestion, Quiz, ShortAnswerQuestion
from moodle_xml_parser import parser as moodle_parser

from appliance.errors import QuizPasteError
from appliance.services.learning import quiz_drafts, quiz_moodle

QUESTIONS = [
    {
        "kind": "single",
        "prompt": "植物吸收哪种气体？",
        "options": ["氧气", "二氧化碳", "氮气"],
        "answer": 1,
        "points": 2,
    },
    {
        "kind": "multiple",
        "prompt": "哪些是哺乳动物？",
        "options": ["猫", "鸡", "鲸", "蛇"],
        "answer": [0, 2],
        "points": 1,
    },
    {"kind": "true_false", "prompt": "太阳是一颗恒星。", "answer": True, "points": 1},
    {"kind": "short", "prompt": "植物制造养料的过程叫什么？", "answer": ["光合作用", "光合"], "points": 1},
    {"kind": "numeric", "prompt": "3.5 + 1.2 = ?", "answer": 4.7, "tolerance": 0.05, "points": 1},
]


def _stored(draft: quiz_drafts.Draft) -> list[dict]:
    checked = quiz_drafts.check(draft)
    assert checked is not None, [q.error for q in draft.questions]
    lists = (tuple, list)  # what add_quiz stores: tuples become JSON lists
    return [{k: list(v) if isinstance(v, lists) else v for k, v in dict(q).items()} for q in checked["questions"]]


def test_the_kits_export_read_by_an_outside_parser():
    data = quiz_moodle.export("第二单元小测", QUESTIONS)
    found = moodle_parser.parse_bytes(data)
    single, multiple = found["multichoice"]
    assert single.single is True and multiple.single is False
    assert single.text_pre_parse == "植物吸收哪种气体？" and single.default_grade == 2.0
    assert [(o.answer, o.score_fraction) for o in single.options] == [("氧气", 0), ("二氧化碳", 100), ("氮气", 0)]
    assert [(o.answer, o.score_fraction) for o in multiple.options] == [
        ("猫", 50),
        ("鸡", -100),
        ("鲸", 50),
        ("蛇", -100),
    ]
    root = ET.fromstring(data)  # the other kinds, as Moodle's importer reads them: type, answers, fractions
    kinds = [q.get("type") for q in root.findall("question")]
    assert kinds == ["category", "multichoice", "multichoice", "truefalse", "shortanswer", "numerical"]
    numeric = root.findall("question")[-1]
    assert numeric.find("answer/text").text == "4.7" and numeric.find("answer/tolerance").text == "0.05"


def test_every_kind_comes_back_from_the_kits_own_export():
    title, found = quiz_moodle.read(quiz_moodle.export("第二单元小测", QUESTIONS))
    assert title == "第二单元小测"
    back = _stored(quiz_drafts.Draft(title, questions=found))
    for before, after in zip(QUESTIONS, back, strict=True):
        assert after["kind"] == before["kind"] and after["prompt"] == before["prompt"]
        assert after["answer"] == before["answer"] and after["points"] == before["points"]
    assert back[4]["tolerance"] == 0.05 and back[0]["options"] == ["氧气", "二氧化碳", "氮气"]


def _outside_file(*questions) -> bytes:
    quiz = Quiz()
    for question in questions:
        quiz.add_question(question)
    out = io.BytesIO()
    quiz.save(out)
    return out.getvalue()


def test_a_file_written_by_an_outside_library_is_read():
    choice = MultipleChoiceQuestion(name="q1", question_text="<p>水在多少度结冰？</p>", default_mark=2)
    for fraction, text in ((0, "100 度"), (100, "0 度"), (0, "50 度")):
        choice.add_answer(fraction, text)
    short = ShortAnswerQuestion(name="q3", question_text="中国的首都是哪里？", default_mark=1)
    short.add_answer(100, "北京")
    short.add_answer(100, "北京市")
    title, found = quiz_moodle.read(_outside_file(choice, short))
    stored = _stored(quiz_drafts.Draft("导入", questions=found))
    assert stored[0]["prompt"] == "水在多少度结冰？" and stored[0]["options"] == ["100 度", "0 度", "50 度"]
    assert stored[0]["answer"] == 1 and stored[0]["points"] == 2
    assert stored[1]["kind"] == "short" and stored[1]["answer"] == ["北京", "北京市"]
    assert title == ""


@pytest.mark.parametrize(
    "xml, code, number",
    [
        (b"not xml at all", "quiz.moodle_unreadable", 0),
        (b'<?xml version="1.0"?><!DOCTYPE quiz [<!ENTITY a "aaaa">]><quiz>&a;</quiz>', "quiz.moodle_unreadable", 0),
        (b"<questions/>", "quiz.moodle_unreadable", 0),
        (
            b'<quiz><question type="category"><category><text>x</text></category></question></quiz>',
            "quiz.moodle_empty",
            0,
        ),
        (
            b'<quiz><question type="multichoice"><questiontext><text>a</text></questiontext><single>true</single>'
            b'<answer fraction="100"><text>x</text></answer><answer fraction="0"><text>y</text></answer></question>'
            b'<question type="essay"><questiontext><text>write</text></questiontext></question></quiz>',
            "quiz.moodle_kind",
            2,
        ),
        (
            b'<quiz><question type="multichoice"><questiontext><text>a</text></questiontext><single>true</single>'
            b'<answer fraction="50"><text>x</text></answer><answer fraction="50"><text>y</text></answer></question></quiz>',
            "quiz.moodle_single_right",
            1,
        ),
        (
            b'<quiz><question type="shortanswer"><questiontext><text>a</text></questiontext>'
            b'<answer fraction="100"><text>x</text></answer><answer fraction="50"><text>y</text></answer></question></quiz>',
            "quiz.moodle_partial",
            1,
        ),
    ],
)
def test_files_the_kit_cannot_grade_are_refused_with_the_question(xml, code, number):
    with pytest.raises(QuizPasteError) as refused:
        quiz_moodle.read(xml)
    assert refused.value.code == code and refused.value.values["number"] == number


def test_a_question_bank_is_refused_before_it_is_parsed():
    with pytest.raises(QuizPasteError) as refused:
        quiz_moodle.read(b"<quiz>" + b" " * quiz_moodle.MAX_FILE_BYTES + b"</quiz>")
    assert refused.value.code == "quiz.moodle_too_large"
