"""Marking a quiz again after the fact, and quizzes for some students, without HTTP: accepting an answer re-marks
every attempt (and later ones), the overview reads the new scores, one child's credit changes one attempt, every
change is logged; a quiz for some students is out of the others' lists, pages and who-is-behind counts."""

from __future__ import annotations

import pytest
from starlette.datastructures import FormData

from appliance.errors import AccessDeniedError, BadRequestError, NotVisibleError
from appliance.services.learning import (
    lesson_edits,
    lessons,
    quiz_drafts,
    quiz_marking,
    quiz_remarking,
    quizzes,
    records,
)
from tests.roster_data import two_classes

NAMES = ("Wang Fang", "李小明", "张伟")


def _draft() -> quiz_drafts.Draft:
    q = quiz_drafts.DraftQuestion
    return quiz_drafts.Draft(
        "天气",
        "2",
        "",
        "60",
        [
            q("short", "云里的水落下来叫什么？", accepted="下雨"),
            q("single", "哪个是固体？", ["冰", "水蒸气", "雨"], {0}),
            q("numeric", "一周有几天？", number="7", points="2"),
        ],
    )


@pytest.fixture
def quiz(kit):
    """(ids, teacher, students by name, quiz id) of a class of three and a three-question quiz of 4 points."""
    ids = two_classes(kit, names_a=NAMES)
    teacher = kit.people.person(ids["a"]["teacher"])
    students = {s["display_name"]: s for s in kit.people.students_of(ids["a"]["class"])}
    return ids, teacher, students, quizzes.create(kit, teacher, ids["a"]["class"], _draft())


def _take(kit, student, quiz_id: int, *answers: str) -> int:
    attempt = quizzes.start(kit, student, quiz_id)
    form = FormData([(f"a{n}", given) for n, given in enumerate(answers)])
    assert quizzes.hand_in(kit, student, quiz_id, attempt, form)
    return attempt


def _score(kit, attempt_id: int) -> float:
    return kit.quizzes.attempt(attempt_id)["score"]


def test_quiz_marking_answer_key_is_what_grading_understood():
    short = quiz_marking.Question("short", "?", answer=("下雨",))
    multiple = quiz_marking.Question("multiple", "?", ("a", "b", "c"), (0, 2))
    numeric = quiz_marking.Question("numeric", "?", answer=7.0)
    assert quiz_marking.answer_key(short, " 降雨。") == quiz_marking.answer_key(short, "降雨") == "降雨"
    assert quiz_marking.answer_key(multiple, ["2", "1", "9"]) == "1,2"
    assert quiz_marking.answer_key(numeric, "７,0") == quiz_marking.answer_key(numeric, "7") == "7.0"
    assert [quiz_marking.answer_key(short, g) for g in (None, "", "。")] == [None, None, None]
    assert quiz_marking.marked(short, "降雨", {"降雨"}).correct
    assert quiz_marking.marked(short, "下雨", (), credit=0).score == 0
    assert quiz_marking.marked(short, "晴", (), credit=1).score == 1


def test_quiz_remarking_accepting_an_answer_recomputes_every_attempt_and_the_overview(kit, quiz):
    ids, teacher, students, quiz_id = quiz
    wang = _take(kit, students["Wang Fang"], quiz_id, "降雨", "0", "7")
    li = _take(kit, students["李小明"], quiz_id, "降雨。", "1", "7")
    zhang = _take(kit, students["张伟"], quiz_id, "下雨", "0", "6")
    assert [_score(kit, a) for a in (wang, li, zhang)] == [3, 2, 2]

    assert quiz_remarking.accept(kit, teacher, quiz_id, 0, ["降雨"]) == 2  # both spellings, one answer
    assert [_score(kit, a) for a in (wang, li, zhang)] == [4, 3, 2]
    assert quiz_remarking.accept(kit, teacher, quiz_id, 0, ["降雨"]) == 0  # a second tap changes nothing
    table = lessons.overview(kit, teacher, ids["a"]["class"])
    assert table["quiz_cells"][(quiz_id, students["Wang Fang"]["id"])].best == 4
    best = {r["student"]["display_name"]: r["best"] for r in quizzes.class_scores(kit, teacher, quiz_id)}
    assert best == {"Wang Fang": 4, "李小明": 3, "张伟": 2}
    [first, *_] = quizzes.question_results(kit, teacher, quiz_id)
    assert (first.right, first.answered, first.wrong_answers, first.accepted) == (3, 3, [], [("降雨", "降雨")])
    view = quizzes.attempt_view(kit, students["李小明"], quiz_id, li)
    assert view.rows[0]["mark"] == "right" and view.rows[0]["remarked"] and not view.rows[1]["remarked"]

    # a choice marked right too, and an answer accepted before a later attempt counts in it at hand-in
    assert quiz_remarking.accept(kit, teacher, quiz_id, 1, ["1"]) == 1
    later = _take(kit, students["李小明"], quiz_id, "降雨", "1", "7")
    assert _score(kit, later) == 4 and _score(kit, li) == 4
    assert kit.quizzes.answers(later)[0]["remarked_at"] is None  # marked so at hand-in, not changed after

    assert quiz_remarking.unaccept(kit, teacher, quiz_id, 0, "降雨") == 3
    assert [_score(kit, a) for a in (wang, li, zhang, later)] == [3, 3, 2, 3]
    changes = [(c["change"], c["position"], c["answer"], c["teacher_id"]) for c in kit.quizzes.marking_changes(quiz_id)]
    assert changes == [
        ("unaccept", 0, "降雨", teacher["id"]),
        ("accept", 1, "水蒸气", teacher["id"]),
        ("accept", 0, "降雨", teacher["id"]),
    ]


def test_quiz_remarking_one_childs_credit_changes_only_that_attempt(kit, quiz):
    _, teacher, students, quiz_id = quiz
    wang = _take(kit, students["Wang Fang"], quiz_id, "雨", "0", "7")
    zhang = _take(kit, students["张伟"], quiz_id, "雨", "0", "7")
    assert quiz_remarking.credit(kit, teacher, quiz_id, wang, 0, "1") == 1
    assert quiz_remarking.credit(kit, teacher, quiz_id, zhang, 2, "0") == 1
    assert (_score(kit, wang), _score(kit, zhang)) == (4, 1)
    rows = quiz_remarking.attempt_for_staff(kit, teacher, quiz_id, wang)["rows"]
    assert [(r["mark"], r["credit"]) for r in rows] == [("right", 1), ("right", None), ("right", None)]
    assert quiz_remarking.credit(kit, teacher, quiz_id, wang, 0, "") == 1  # as graded again
    assert _score(kit, wang) == 3
    assert [c["change"] for c in kit.quizzes.marking_changes(quiz_id)] == ["as_graded", "no_credit", "credit"]
    assert kit.quizzes.marking_changes(quiz_id)[1]["student_name"] == "张伟"


def test_quiz_remarking_refused_with_the_field_and_for_others(kit, quiz):
    ids, teacher, students, quiz_id = quiz
    with pytest.raises(BadRequestError) as early:
        quiz_remarking.accept(kit, teacher, quiz_id, 0, ["降雨"])
    assert early.value.code == "quiz.remark_not_started"
    _take(kit, students["Wang Fang"], quiz_id, "下雨", "0", "7")
    for given, code in (([" 。"], "quiz.accept_empty"), ([], "quiz.accept_empty"), (["下 雨"], "quiz.accept_right")):
        with pytest.raises(BadRequestError) as refused:
            quiz_remarking.accept(kit, teacher, quiz_id, 0, given)
        assert (refused.value.code, refused.value.field) == (code, "accept0")
    with pytest.raises(BadRequestError):
        quiz_remarking.accept(kit, teacher, quiz_id, 7, ["x"])
    colleague = kit.people.person(ids["b"]["teacher"])
    with pytest.raises(NotVisibleError) as other:
        quiz_remarking.accept(kit, colleague, quiz_id, 0, ["降雨"])
    assert other.value.status == 404
    assert kit.quizzes.accepted(quiz_id) == {}


def test_quiz_for_some_students_leaves_the_others_lists_pages_and_behind_counts(kit, quiz):
    ids, teacher, students, quiz_id = quiz
    chosen, other = students["李小明"], students["Wang Fang"]
    lesson_edits.assign_quiz(kit, teacher, quiz_id, [chosen["id"]])
    assert [q["id"] for q in kit.quizzes.for_student(chosen["id"])] == [quiz_id]
    assert kit.quizzes.for_student(other["id"]) == []
    with pytest.raises(AccessDeniedError) as refused:
        quizzes.start(kit, other, quiz_id)
    assert (refused.value.code, refused.value.status) == ("quiz.not_assigned", 403)
    table = lessons.overview(kit, teacher, ids["a"]["class"])
    assert table["behind"][other["id"]] == 0 and table["behind"][chosen["id"]] == 1
    assert (quiz_id, other["id"]) not in table["quiz_cells"]
    rows = {row[0]: row[3] for row in lessons.overview_rows(table, lambda key, **values: key)[1:]}
    assert rows == {"李小明": "quiz_state.not_started", "Wang Fang": "", "张伟": ""}
    assert lessons.student_summary(kit, teacher, ids["a"]["class"], other["id"])["quiz_rows"] == []
    assert [r["student"]["id"] for r in quizzes.class_scores(kit, teacher, quiz_id)] == [chosen["id"]]
    lesson_edits.assign_quiz(kit, teacher, quiz_id, [])  # the whole class again
    assert [q["id"] for q in kit.quizzes.for_student(other["id"])] == [quiz_id]


def test_quiz_remarking_says_each_new_score_in_the_learning_records(kit, quiz):
    """Statements are never changed (they may be at the county already): an attempt whose score changed gets new
    "scored" and "passed"/"failed" statements with its score now; the others get none."""
    _, teacher, students, quiz_id = quiz
    wang = _take(kit, students["Wang Fang"], quiz_id, "降雨", "0", "7")  # 3 of 4: 75 %, above the pass mark of 60 %
    _take(kit, students["张伟"], quiz_id, "下雨", "2", "6")  # 1 of 4, and accepting 降雨 changes nothing for him

    the_quiz = records.activity(kit.settings, "quiz", str(quiz_id))

    def scored(student) -> list[tuple[str, float]]:
        said = kit.learning_records.since(account_id=student["id"])
        return [
            (s["verb"]["id"].rsplit("/", 1)[-1], s["result"]["score"]["raw"])
            for s in said
            if s["object"]["id"] == the_quiz and s["verb"]["id"].endswith(("scored", "passed", "failed"))
        ]

    before = {name: scored(s) for name, s in students.items()}
    assert quiz_remarking.accept(kit, teacher, quiz_id, 0, ["降雨"]) == 1
    assert scored(students["Wang Fang"]) == [*before["Wang Fang"], ("scored", 4), ("passed", 4)]
    assert scored(students["张伟"]) == before["张伟"] and scored(students["李小明"]) == []
    assert quiz_remarking.credit(kit, teacher, quiz_id, wang, 2, "0") == 1  # 7 given no credit: 2 of 4, 50 %
    assert scored(students["Wang Fang"])[-2:] == [("scored", 2), ("failed", 2)]
