"""Quizzes in a class: teachers author them, students take them, teachers read the results. No HTTP here.

Must not import web or cli. Every function takes the signed-in `viewer` and checks it (services/people):
a student sees only the quizzes of their classes and only their own attempts, a teacher only their classes.
Grading is services/quiz_grading; each attempt and answer becomes a learning record (services/records).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from appliance.errors import AccessDeniedError, NotVisibleError, QuizError, QuizPasteError
from appliance.services.learning import clock, quiz_drafts, quiz_moodle, quiz_paste, records, scores, xapi
from appliance.services.learning.quiz_marking import (
    MAX_OPTIONS,
    MAX_TEXT,
    Question,
    answer_key,
    grade_attempt,
    unanswered,
)
from appliance.services.people import access as people, name_order

if TYPE_CHECKING:
    from appliance.services.kit import Kit
    from appliance.services.people.access import Viewer


def as_question(stored: dict[str, Any]) -> Question:
    """A Question from its stored form (JSON turned tuples into lists)."""
    answer = stored["answer"]
    if stored["kind"] in ("multiple", "short"):
        answer = tuple(answer)
    return Question(
        stored["kind"],
        stored["prompt"],
        tuple(stored["options"]),
        answer,
        float(stored["tolerance"]),
        float(stored["points"]),
    )


def right_answer(question: Question) -> str:
    """The right answer as a student reads it on the results page."""
    if question.kind == "single":
        return question.options[question.answer]
    if question.kind == "multiple":
        return ", ".join(question.options[i] for i in question.answer)
    if question.kind == "true_false":
        return str(question.answer).lower()
    if question.kind == "short":
        return " / ".join(question.answer)
    return f"{question.answer:g}" + (f" ± {question.tolerance:g}" if question.tolerance else "")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- teachers -----------------------------------------------------------------------------------------


def create(kit: Kit, viewer: Viewer, class_id: int, draft: quiz_drafts.Draft) -> int | None:
    """Save the draft as a quiz of the class; None (with the problems in the draft) when it has any."""
    people.staff_class(kit.people, viewer, class_id)
    checked = quiz_drafts.check(draft)
    if checked is None:
        return None
    with kit.quizzes.transaction() as conn:
        return kit.quizzes.add_quiz(conn, class_id=class_id, author_id=viewer["id"], **checked)


def paste(kit: Kit, viewer: Viewer, class_id: int, title: str, text: str, fmt: str) -> int:
    """Save a quiz of the class from pasted text (`fmt` "plain" or "gift", services/learning/quiz_paste), one attempt
    and a 60 % pass mark (changed on its edit page); its id. QuizPasteError names the first line at fault."""
    people.staff_class(kit.people, viewer, class_id)
    found = quiz_paste.parse(text, fmt)
    draft = quiz_drafts.Draft(title.strip(), questions=[question for _, question in found])
    checked = quiz_drafts.check(draft)
    if checked is None:
        raise _paste_problem(draft, found, text)
    with kit.quizzes.transaction() as conn:
        return kit.quizzes.add_quiz(conn, class_id=class_id, author_id=viewer["id"], **checked)


def import_moodle(kit: Kit, viewer: Viewer, class_id: int, title: str, data: bytes, file_name: str = "") -> int:
    """Save a quiz of the class from a Moodle XML file (services/learning/quiz_moodle), titled `title`, else after the
    file's category, else its name; its id. QuizPasteError (quiz.moodle_*) names the question at fault."""
    people.staff_class(kit.people, viewer, class_id)
    category, found = quiz_moodle.read(data)
    named = title.strip() or category or file_name.rsplit(".", 1)[0]
    draft = quiz_drafts.Draft(named[: quiz_drafts.MAX_TITLE_CHARS], questions=found)
    checked = quiz_drafts.check(draft)
    if checked is None:
        if draft.fields:
            raise QuizPasteError(draft.errors[0], fix="Write a short title.", code="quiz.paste_title", field="title")
        number, question = next((n, q) for n, q in enumerate(found, start=1) if q.error)
        raise QuizPasteError(
            f"Question {number}: {question.error}",
            fix=question.fix,
            code="quiz.moodle_question",
            values={"number": number, "problem": question.field or "question"},
            field="file",
        )
    with kit.quizzes.transaction() as conn:
        return kit.quizzes.add_quiz(conn, class_id=class_id, author_id=viewer["id"], **checked)


def moodle_file(kit: Kit, viewer: Viewer, quiz_id: int) -> tuple[str, bytes]:
    """(a file name, the quiz as Moodle XML) for one of the viewer's quizzes."""
    quiz, _ = staff_quiz(kit, viewer, quiz_id)
    return f"quiz-{quiz_id}.xml", quiz_moodle.export(quiz["title"], kit.quizzes.questions(quiz_id))


def _paste_problem(draft: quiz_drafts.Draft, found: list[quiz_paste.Pasted], text: str) -> QuizPasteError:
    """The first problem quiz_drafts.check found: the title, or a question, at the line it starts on."""
    if draft.fields:
        return QuizPasteError(draft.errors[0], fix="Write a short title.", code="quiz.paste_title", field="title")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    number, (line, question) = next((n, p) for n, p in enumerate(found, start=1) if p[1].error)
    return QuizPasteError.at(
        line,
        lines[line - 1],
        question.error,
        fix=question.fix,
        code="quiz.paste_question",
        number=number,
        problem=question.field or "question",
    )


def staff_quiz(kit: Kit, viewer: Viewer, quiz_id: int):
    """(quiz, class) for one of the viewer's classes; NotVisibleError as if absent otherwise."""
    quiz = kit.quizzes.quiz(quiz_id)
    if quiz is None or quiz["archived_at"]:  # a deleted quiz is archived: gone from every page
        raise NotVisibleError(f"There is no quiz {quiz_id}.", fix="Open the quiz from its class page.")
    return quiz, people.staff_class(kit.people, viewer, quiz["class_id"])


@dataclasses.dataclass(frozen=True)
class WrongAnswer:
    """A wrong answer several students gave: as grading understood it, how many, and what the form sent (`given`,
    the values a teacher's "accept" button posts again; [] for no answer, which cannot be accepted)."""

    understood: str
    count: int
    given: list[str]


@dataclasses.dataclass(frozen=True)
class QuestionResult:
    """How a class did on one question: right and answered counts (students' latest attempts), common wrong answers,
    and the answers the teacher accepted besides the key after the fact ([(answer key, as people read it)])."""

    question: Question
    right_answer: str
    right: int
    partly: int  # partial credit: more than 0, less than the question's points
    answered: int
    wrong_answers: list[WrongAnswer]
    accepted: list[tuple[str, str]]


def question_results(kit: Kit, viewer: Viewer, quiz_id: int) -> list[QuestionResult]:
    """Per question, over each student's latest handed-in attempt."""
    quiz, _ = staff_quiz(kit, viewer, quiz_id)
    questions = [as_question(q) for q in kit.quizzes.questions(quiz_id)]
    answers = kit.quizzes.latest_answers(quiz_id)
    accepted = kit.quizzes.accepted(quiz_id)
    found = []
    for position, question in enumerate(questions):
        mine = [a for a in answers if a["position"] == position]
        found.append(
            QuestionResult(
                question,
                right_answer(question),
                sum(1 for a in mine if a["correct"]),
                sum(1 for a in mine if scores.mark(a["score"], question.points) == "partly"),
                len(mine),
                _common_wrong(question, [a for a in mine if not a["correct"]]),
                list(accepted.get(position, {}).items()),
            )
        )
    return found


def _common_wrong(question: Question, wrong: list[Any]) -> list[WrongAnswer]:
    """The three wrong answers given most, the same answer counted once however it was written ("降雨。", "降雨")."""
    counts: Counter[str | None] = Counter()
    first: dict[str | None, Any] = {}
    for answer in wrong:
        given = json.loads(answer["given"])
        key = answer_key(question, given)
        counts[key] += 1
        first.setdefault(key, (answer["understood"], given))
    return [
        WrongAnswer(first[key][0], count, [] if key is None else [str(g) for g in _listed(first[key][1])])
        for key, count in counts.most_common(3)
    ]


def _listed(given: Any) -> list[Any]:
    return list(given) if isinstance(given, list) else [] if given is None else [given]


def class_scores(kit: Kit, viewer: Viewer, quiz_id: int) -> list[dict[str, Any]]:
    """One row per student the quiz is for: attempts used (and the handed-in ones), best and latest score, when,
    and whether late."""
    quiz, klass = staff_quiz(kit, viewer, quiz_id)
    attempts = kit.quizzes.handed_in(quiz_id)
    chosen = set(kit.quizzes.assigned_to(quiz_id))
    rows = []
    for student in name_order.students_of(kit.people, klass["id"]):
        if chosen and student["id"] not in chosen:
            continue
        own = [a for a in attempts if a["account_id"] == student["id"]]
        last = own[-1] if own else None
        rows.append(
            {
                "student": student,
                "attempts": len(own),
                "handed": own,
                "out_of": last["out_of"] if last else None,
                "best": max(a["score"] for a in own) if own else None,
                "latest": last["score"] if last else None,
                "handed_in_at": last["handed_in_at"] if last else None,
                # handed in (UTC) after the due day ended in the kit's zone
                "late": bool(
                    last
                    and quiz["due_at"]
                    and clock.wall_of_utc(kit.settings, last["handed_in_at"])[:10] > quiz["due_at"]
                ),
            }
        )
    return rows


def may_change(viewer: Viewer, quiz) -> bool:
    """Whether the viewer may edit the quiz, mark it again and choose whom it is for: its author or an admin."""
    return viewer["role"] == "admin" or viewer["id"] == quiz["author_id"]


def results(kit: Kit, viewer: Viewer, quiz_id: int) -> dict[str, Any]:
    """Everything the quiz's results page shows: per question and per student, the class's students and those the
    quiz is for (an empty set: the whole class), whether students started it, and its marking changes."""
    quiz, klass = staff_quiz(kit, viewer, quiz_id)
    return {
        "quiz": quiz,
        "klass": klass,
        "questions": question_results(kit, viewer, quiz_id),
        "scores": class_scores(kit, viewer, quiz_id),
        "students": name_order.students_of(kit.people, klass["id"]),
        "assigned": set(kit.quizzes.assigned_to(quiz_id)),
        "started": kit.quizzes.started(quiz_id),
        "changes": kit.quizzes.marking_changes(quiz_id),
        "may_edit": may_change(viewer, quiz),
    }


# --- students -----------------------------------------------------------------------------------------


def student_quiz(kit: Kit, viewer: Viewer, quiz_id: int):
    """A quiz of one of the student's classes that is for them; NotVisibleError otherwise (another class's quiz
    looks absent), AccessDeniedError (quiz.not_assigned) for one of their class the teacher gave to others only."""
    viewer = people.require(viewer, "student")
    quiz = kit.quizzes.quiz(quiz_id)
    if quiz is None or quiz["archived_at"] or not kit.people.enrolled(viewer["id"], quiz["class_id"]):
        raise NotVisibleError(f"There is no quiz {quiz_id} in your classes.", fix="Open your quizzes from My space.")
    chosen = kit.quizzes.assigned_to(quiz_id)
    if chosen and viewer["id"] not in chosen:
        raise AccessDeniedError(
            f"The quiz {quiz['title']!r} is for some students of the class only.",
            code="quiz.not_assigned",
            fix="Do the quizzes listed in My space; ask your teacher if you think this one is for you.",
        )
    return quiz


def start_page(kit: Kit, viewer: Viewer, quiz_id: int) -> dict[str, Any]:
    """A quiz of the student's classes before an attempt: the quiz, their attempts, how many questions it has,
    and whether an attempt is still open."""
    quiz = student_quiz(kit, viewer, quiz_id)
    attempts = kit.quizzes.attempts_of(quiz_id, viewer["id"])
    return {
        "quiz": quiz,
        "attempts": attempts,
        "questions": len(kit.quizzes.questions(quiz_id)),
        "open_attempt": any(a["handed_in_at"] is None for a in attempts),
    }


def questions_to_answer(kit: Kit, viewer: Viewer, quiz_id: int) -> list[Question]:
    """The questions of a quiz of the student's classes, in order, to answer in an attempt."""
    student_quiz(kit, viewer, quiz_id)
    return [as_question(q) for q in kit.quizzes.questions(quiz_id)]


def start(kit: Kit, viewer: Viewer, quiz_id: int) -> int:
    """The student's open attempt at the quiz, or a new one while attempts are left (QuizError otherwise)."""
    quiz = student_quiz(kit, viewer, quiz_id)
    with kit.quizzes.transaction() as conn:
        attempt_id, new = kit.quizzes.start_attempt(conn, quiz_id, viewer["id"], _now(), quiz["attempts_allowed"])
    if attempt_id is None:
        raise QuizError(
            f"All {quiz['attempts_allowed']} attempts at the quiz {quiz['title']!r} are used.",
            fix="Look at your results on the quiz page; ask your teacher if you need another try.",
        )
    if new:
        records.record(kit, viewer["id"], "attempted", "quiz", str(quiz_id), quiz["title"])
    return attempt_id


def own_attempt(kit: Kit, viewer: Viewer, quiz_id: int, attempt_id: int):
    """(quiz, attempt) when the attempt is the student's own at that quiz; NotVisibleError otherwise."""
    quiz = student_quiz(kit, viewer, quiz_id)
    attempt = kit.quizzes.attempt(attempt_id)
    if attempt is None or attempt["account_id"] != viewer["id"] or attempt["quiz_id"] != quiz_id:
        raise NotVisibleError(
            f"There is no attempt {attempt_id} of yours at quiz {quiz_id}.", fix="Open the quiz from My space."
        )
    return quiz, attempt


def hand_in(kit: Kit, viewer: Viewer, quiz_id: int, attempt_id: int, form) -> bool:
    """Grade and store the answers of an open attempt (`form.getlist("a<N>")`) and record them; False when the
    attempt was already handed in (a double submit stores nothing more)."""
    quiz, attempt = own_attempt(kit, viewer, quiz_id, attempt_id)
    questions = [as_question(q) for q in kit.quizzes.questions(quiz_id)]
    given = {n: _given(q, form.getlist(f"a{n}")) for n, q in enumerate(questions)}
    with kit.quizzes.transaction() as conn:
        # graded in the transaction that stores it, so an answer a teacher accepts meanwhile is not missed
        graded, score, out_of = grade_attempt(questions, given, kit.quizzes.accepted_in(conn, quiz_id))
        answers = [(n, given[n], g.understood, g.score, g.correct) for n, g in enumerate(graded)]
        if not kit.quizzes.hand_in(conn, attempt_id, _now(), score, out_of, answers):
            return False
    _record_hand_in(kit, viewer, quiz, questions, graded, score, out_of)
    return True


def blanks(kit: Kit, viewer: Viewer, quiz_id: int, attempt_id: int, form) -> list[int]:
    """The numbers (from 1) of the questions the form leaves unanswered, for an open attempt of the student's; []
    once it is handed in (a second post then stores nothing, as `hand_in` says)."""
    _, attempt = own_attempt(kit, viewer, quiz_id, attempt_id)
    if attempt["handed_in_at"] is not None:
        return []
    questions = kit.quizzes.questions(quiz_id)
    return [n + 1 for n in range(len(questions)) if unanswered(form.getlist(f"a{n}"))]


def _given(question: Question, values: list[str]) -> Any:
    """What the form sent for one question, bounded (a hostile post cannot store megabytes per answer)."""
    if question.kind == "multiple":
        return [str(v)[:8] for v in values[:MAX_OPTIONS]]
    return str(values[0])[:MAX_TEXT] if values else None


def _record_hand_in(kit: Kit, viewer: Viewer, quiz, questions, graded, score: float, out_of: float) -> None:
    account = kit.people.person(viewer["id"])
    clock = records.clock_trusted(kit)
    made = [
        records.make(
            kit,
            account,
            "answered",
            "question",
            f"{quiz['id']}/{n}",
            q.prompt[:200],
            {
                "success": g.correct,
                "response": g.understood[:500],
                "score": {"raw": g.score, "min": 0, "max": q.points},
            },
            clock_synchronised=clock,
        )
        for n, (q, g) in enumerate(zip(questions, graded))
    ]
    result = xapi.score_result(score, out_of, passed_at=quiz["pass_mark"])
    made.append(
        records.make(kit, account, "scored", "quiz", str(quiz["id"]), quiz["title"], result, clock_synchronised=clock)
    )
    made.append(
        records.make(
            kit,
            account,
            "passed" if result["success"] else "failed",
            "quiz",
            str(quiz["id"]),
            quiz["title"],
            result,
            clock_synchronised=clock,
        )
    )
    records.store(kit, viewer["id"], made)


@dataclasses.dataclass(frozen=True)
class AttemptView:
    """An attempt as the student sees it after handing in."""

    attempt: Any
    rows: list[dict[str, Any]]
    attempts_left: int
    reveal: bool  # right answers are shown once no attempts are left (else the next try is a copy)


def attempt_view(kit: Kit, viewer: Viewer, quiz_id: int, attempt_id: int) -> AttemptView:
    quiz, attempt = own_attempt(kit, viewer, quiz_id, attempt_id)
    questions = [as_question(q) for q in kit.quizzes.questions(quiz_id)]
    answers = {a["position"]: a for a in kit.quizzes.answers(attempt_id)}
    left = quiz["attempts_allowed"] - len(kit.quizzes.attempts_of(quiz_id, viewer["id"]))
    rows = [
        {
            "question": q,
            "answer": answers.get(n),
            "right_answer": right_answer(q),
            "mark": scores.mark(answers[n]["score"] if n in answers else None, q.points),
            "remarked": bool(n in answers and answers[n]["remarked_at"]),
        }
        for n, q in enumerate(questions)
    ]
    return AttemptView(attempt, rows, max(0, left), left <= 0)
