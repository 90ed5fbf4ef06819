"""Marking a quiz again after students answered it (docs/learning-space.md, "Marking again"): a teacher accepts
another answer to a question, or gives or takes one child's credit; every handed-in answer is marked again from
what the child sent, every attempt's score recomputed in the same transaction, and the change logged (who, when).

Must not import web or cli. A question's key itself cannot change once answered (services/learning/lesson_edits):
this is the one path by which marks change afterwards. Only the quiz's author or an administrator changes marks.
Learning records are never changed (an xAPI statement is immutable, and may already be at the county): each attempt
whose score changed gets new "scored" and "passed"/"failed" statements with its new score, which the LRS and the
county's figures take as the latest.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from appliance.errors import BadRequestError, NotVisibleError
from appliance.services.learning import lesson_edits, records, scores, xapi
from appliance.services.learning.quiz_marking import MAX_OPTIONS, MAX_TEXT, Question, answer_key, grade, marked
from appliance.services.learning.quizzes import as_question, may_change, right_answer, staff_quiz

if TYPE_CHECKING:
    from appliance.services.kit import Kit
    from appliance.services.people.access import Viewer

CREDITS = {"1": 1, "0": 0, "": None}  # the credit form's values: full credit, none, as graded again
CHANGES = {1: "credit", 0: "no_credit", None: "as_graded"}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _owned_started(kit: Kit, viewer: Viewer, quiz_id: int) -> None:
    lesson_edits.owned_quiz(kit, viewer, quiz_id)
    if not kit.quizzes.started(quiz_id):
        raise BadRequestError(
            "No student has answered this quiz yet, so there is nothing to mark again.",
            code="quiz.remark_not_started",
            fix="Change the right answer in the quiz itself: Edit the quiz.",
        )


def _question(kit: Kit, quiz_id: int, position: int) -> Question:
    questions = kit.quizzes.questions(quiz_id)
    if not 0 <= position < len(questions):
        raise BadRequestError(f"The quiz has no question {position + 1}.", fix="Use the buttons on the results page.")
    return as_question(questions[position])


def accept(kit: Kit, viewer: Viewer, quiz_id: int, position: int, given: list[str]) -> int:
    """Accept `given` (the values a child's form sends for the question) as right for the question at `position`,
    in every attempt handed in and every later one; how many answers changed mark. BadRequestError beside the form
    (field `accept<position>`) when nothing is given (quiz.accept_empty) or the answer is already right
    (quiz.accept_right)."""
    _owned_started(kit, viewer, quiz_id)
    question = _question(kit, quiz_id, position)
    value: Any = [str(g)[:8] for g in given[:MAX_OPTIONS]] if question.kind == "multiple" else None
    if question.kind != "multiple" and given:
        value = str(given[0])[:MAX_TEXT]
    key, graded = answer_key(question, value), grade(question, value)
    if key is None:
        raise BadRequestError(
            f"Question {position + 1}: no answer to accept was given.",
            code="quiz.accept_empty",
            fix="Type the answer (or choose the option) to count as right, then press Accept.",
            field=f"accept{position}",
        )
    if graded.correct:
        raise BadRequestError(
            f"Question {position + 1}: {graded.understood!r} is already right.",
            code="quiz.accept_right",
            fix="Type another answer to accept.",
            field=f"accept{position}",
        )
    when = _now()
    with kit.quizzes.transaction() as conn:
        if not kit.quizzes.accept(conn, quiz_id, position, key, graded.understood):
            return 0  # accepted already (a second tap): nothing to change
        kit.quizzes.log_change(
            conn, quiz_id, position, "accept", teacher_id=viewer["id"], when=when, answer=graded.understood
        )
        changed = _remark(kit, conn, quiz_id, when)
    return _record_new_scores(kit, quiz_id, changed)


def unaccept(kit: Kit, viewer: Viewer, quiz_id: int, position: int, key: str) -> int:
    """Stop accepting an answer accepted before; how many answers changed mark (0 when it was not accepted)."""
    _owned_started(kit, viewer, quiz_id)
    _question(kit, quiz_id, position)
    when = _now()
    with kit.quizzes.transaction() as conn:
        shown = kit.quizzes.unaccept(conn, quiz_id, position, key)
        if shown is None:
            return 0
        kit.quizzes.log_change(conn, quiz_id, position, "unaccept", teacher_id=viewer["id"], when=when, answer=shown)
        changed = _remark(kit, conn, quiz_id, when)
    return _record_new_scores(kit, quiz_id, changed)


def credit(kit: Kit, viewer: Viewer, quiz_id: int, attempt_id: int, position: int, given_credit: str) -> int:
    """Give one child's answer full credit ("1") or none ("0") whatever grading says, or mark it as graded again
    (""); how many answers changed mark. The attempt must be handed in, at this quiz."""
    _owned_started(kit, viewer, quiz_id)
    _question(kit, quiz_id, position)
    attempt = kit.quizzes.attempt(attempt_id)
    if attempt is None or attempt["quiz_id"] != quiz_id or attempt["handed_in_at"] is None:
        raise NotVisibleError(
            f"There is no handed-in attempt {attempt_id} at quiz {quiz_id}.", fix="Open it from the results page."
        )
    if given_credit not in CREDITS:
        raise BadRequestError(f"The credit {given_credit!r} is not 1, 0 or empty.", fix="Use the page's buttons.")
    when = _now()
    with kit.quizzes.transaction() as conn:
        kit.quizzes.set_credit(conn, attempt_id, position, CREDITS[given_credit])
        kit.quizzes.log_change(
            conn,
            quiz_id,
            position,
            CHANGES[CREDITS[given_credit]],
            teacher_id=viewer["id"],
            when=when,
            attempt_id=attempt_id,
        )
        changed = _remark(kit, conn, quiz_id, when)
    return _record_new_scores(kit, quiz_id, changed)


def _remark(kit: Kit, conn, quiz_id: int, when: str) -> list[tuple[int, int, float, bool]]:
    """Mark every handed-in answer again from what was sent, with the accepted answers and credits given by hand;
    store those whose mark changed and their attempts' scores. Those that changed: (attempt, position, score,
    correct)."""
    questions = [as_question(q) for q in kit.quizzes.questions(quiz_id)]
    accepted, credits = kit.quizzes.accepted_in(conn, quiz_id), kit.quizzes.credits_in(conn, quiz_id)
    changed = []
    for answer in kit.quizzes.handed_in_answers(conn, quiz_id):
        attempt_id, position = answer["attempt_id"], answer["position"]
        if position >= len(questions):
            continue
        now = marked(
            questions[position],
            json.loads(answer["given"]),
            accepted.get(position, {}),
            credits.get((attempt_id, position)),
        )
        if abs(now.score - answer["score"]) > 1e-9 or now.correct != bool(answer["correct"]):
            changed.append((attempt_id, position, now.score, now.correct))
    kit.quizzes.remark(conn, changed, when)
    return changed


def _record_new_scores(kit: Kit, quiz_id: int, changed: list[tuple[int, int, float, bool]]) -> int:
    """New "scored" and "passed"/"failed" statements for each attempt with an answer in `changed`, at its score now;
    how many answers changed."""
    quiz = kit.quizzes.quiz(quiz_id)
    if quiz is None or not changed:
        return len(changed)
    trusted = records.clock_trusted(kit)
    for attempt_id in sorted({c[0] for c in changed}):
        attempt = kit.quizzes.attempt(attempt_id)
        account = kit.people.person(attempt["account_id"]) if attempt is not None else None
        if attempt is None or account is None:  # the child was removed meanwhile: nothing to say of them
            continue
        result = xapi.score_result(attempt["score"], attempt["out_of"], passed_at=quiz["pass_mark"])
        made = [
            records.make(kit, account, verb, "quiz", str(quiz_id), quiz["title"], result, clock_synchronised=trusted)
            for verb in ("scored", "passed" if result["success"] else "failed")
        ]
        records.store(kit, account["id"], made)
    return len(changed)


def attempt_for_staff(kit: Kit, viewer: Viewer, quiz_id: int, attempt_id: int) -> dict[str, Any]:
    """One child's handed-in attempt for a teacher of the class: each question with the answer, its mark, and
    whether a teacher gave or took its credit by hand (`credit` 1/0, None as graded)."""
    quiz, klass = staff_quiz(kit, viewer, quiz_id)
    attempt = kit.quizzes.attempt(attempt_id)
    if attempt is None or attempt["quiz_id"] != quiz_id or attempt["handed_in_at"] is None:
        raise NotVisibleError(
            f"There is no handed-in attempt {attempt_id} at quiz {quiz_id}.", fix="Open it from the results page."
        )
    answers = {a["position"]: a for a in kit.quizzes.answers(attempt_id)}
    credits = kit.quizzes.credits(quiz_id)
    rows = [
        {
            "position": n,
            "question": question,
            "answer": answers[n],
            "right_answer": right_answer(question),
            "mark": scores.mark(answers[n]["score"], question.points),
            "credit": credits.get((attempt_id, n)),
        }
        for n, question in enumerate(as_question(q) for q in kit.quizzes.questions(quiz_id))
        if n in answers
    ]
    return {
        "quiz": quiz,
        "klass": klass,
        "attempt": attempt,
        "student": kit.people.person(attempt["account_id"]),
        "rows": rows,
        "may_edit": may_change(viewer, quiz),
    }
