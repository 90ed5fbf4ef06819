"""Quizzes without HTTP: many taps at once on Start and Hand in (threads on one kit) keep one open attempt,
one hand-in and the attempts limit; the teacher's draft keeps what was typed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.datastructures import FormData

from appliance.errors import NotVisibleError, QuizError
from appliance.services.learning import quiz_drafts, quizzes
from tests.roster_data import two_classes


def _draft(attempts: str = "2") -> quiz_drafts.Draft:
    q = quiz_drafts.DraftQuestion
    return quiz_drafts.Draft(
        "Sums",
        attempts,
        "",
        "50",
        [q("numeric", "1 + 1", number="2"), q("short", "Capital of France", accepted="Paris\n巴黎")],
    )


def test_quizzes_taps_at_once_keep_one_attempt_one_hand_in_and_the_limit(kit):
    ids = two_classes(kit)
    teacher = kit.people.person(ids["a"]["teacher"])
    student = kit.people.person(ids["a"]["students"][0])
    quiz_id = quizzes.create(kit, teacher, ids["a"]["class"], _draft())
    answers = FormData([("a0", "2"), ("a1", "paris")])
    with ThreadPoolExecutor(8) as pool:
        started = set(pool.map(lambda _: quizzes.start(kit, student, quiz_id), range(8)))
        assert len(started) == 1
        [attempt] = started
        handed = list(pool.map(lambda _: quizzes.hand_in(kit, student, quiz_id, attempt, answers), range(8)))
    assert handed.count(True) == 1
    assert [(a["score"], a["out_of"]) for a in kit.quizzes.attempts_of(quiz_id, student["id"])] == [(2, 2)]
    assert len(kit.quizzes.answers(attempt)) == 2
    second = quizzes.start(kit, student, quiz_id)
    assert second != attempt and quizzes.hand_in(kit, student, quiz_id, second, FormData([("a1", "Lyon")]))
    with pytest.raises(QuizError) as over:
        quizzes.start(kit, student, quiz_id)
    assert over.value.code == "quiz.no_attempts_left" and over.value.status == 409
    verbs = [s["verb"]["display"]["en-US"] for s in kit.learning_records.since()]
    assert verbs.count("attempted") == 2 and verbs.count("passed") == 1 and verbs.count("failed") == 1
    view = quizzes.attempt_view(kit, student, quiz_id, second)
    assert view.reveal and [r["right_answer"] for r in view.rows] == ["2", "Paris / 巴黎"]
    other = kit.people.person(ids["b"]["students"][0])
    with pytest.raises(NotVisibleError):
        quizzes.hand_in(kit, other, quiz_id, second, answers)


def test_quizzes_draft_keeps_what_was_typed_and_names_each_problem():
    form = FormData(
        [
            ("title", "Mixed"),
            ("count", "3"),
            ("attempts", "21"),
            ("due", "1 Dec"),
            ("q0-kind", "multiple"),
            ("q0-prompt", "Even numbers?"),
            ("q0-option0", "2"),
            ("q0-option3", "4"),
            ("q0-right", "0"),
            ("q0-right", "3"),
            ("q1-kind", "true_false"),
            ("q1-prompt", "2 is odd"),
            ("q2-kind", "short"),
            ("q2-prompt", "Say hi"),
            ("q2-accepted", "!!!\n"),
        ]
    )
    draft = quiz_drafts.read(form)
    assert quiz_drafts.check(draft) is None
    assert draft.questions[0].error == "" and draft.questions[0].raw()["answer"] == [0, 1]
    assert "true or false is not chosen" in draft.questions[1].error
    assert "no accepted answer" in draft.questions[2].error
    assert any("Attempts" in e for e in draft.errors) and any("due date" in e for e in draft.errors)
    assert draft.questions[0].options[:4] == ["2", "", "", "4"] and len(draft.questions[0].options) == 6
    quiz_drafts.apply_button(draft, "remove-1")
    quiz_drafts.apply_button(draft, "add")
    assert [q.kind for q in draft.questions] == ["multiple", "short", "single"]
