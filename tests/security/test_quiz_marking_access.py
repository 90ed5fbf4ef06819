"""Who: a pupil of the class on the classroom Wi-Fi (their own session), a pupil or teacher of another class, a
colleague who teaches the same class. From where: the quiz pages under /me/quizzes and the teacher's marking forms
under /teach/quizzes (issue 16: quizzes for some students, marking again). With what: opening, starting or handing
in a quiz the teacher gave to others only (by its URL, or with an attempt started before the choice); posting
"count as right", a credit or the choice of students by hand, for their own answers or someone else's quiz. What
stops them: every student page goes through services/learning/quizzes.student_quiz (403 quiz.not_assigned for a
quiz of their class not for them, 404 for another class's); marking and choosing students go through
lesson_edits.owned_quiz (only the quiz's author or an administrator: 403 quiz.not_owner for a colleague, 404 for a
teacher of another class, 403 for a pupil at any /teach page) and post with CSRF like every form."""

from __future__ import annotations

import pytest

from tests.web.people_clients import csrf, role_clients, student_client
from tests.web.quiz_data import HOSTILE, answers_form, create_quiz, start


@pytest.fixture
def roles(kit, live):
    clients, ids = role_clients(kit, live.url)
    a = ids["a"]
    second = a["students"][1]
    clients["student_a2"] = student_client(live.url, a["class"], second, a["pins"][second])
    yield clients, ids
    for http in clients.values():
        http.close()


def test_a_pupil_not_chosen_cannot_open_start_or_hand_in_a_quiz_for_others(kit, roles):
    clients, ids = roles
    teacher, pupil = clients["teacher_a"], clients["student_a"]
    quiz_id = create_quiz(teacher, ids["a"]["class"], "Plants")
    attempt = start(pupil, quiz_id)  # started while the quiz was for the whole class
    chosen = ids["a"]["students"][1]
    assert (
        teacher.post(
            f"/teach/quizzes/{quiz_id}/students", data={"csrf": csrf(teacher), "students": [str(chosen)]}
        ).status_code
        == 303
    )
    assert f"/me/quizzes/{quiz_id}" not in pupil.get("/me").text
    for path in (f"/me/quizzes/{quiz_id}", f"/me/quizzes/{quiz_id}/attempts/{attempt}"):
        assert pupil.get(path).status_code == 403, path
    assert pupil.post(f"/me/quizzes/{quiz_id}/start", data={"csrf": csrf(pupil)}).status_code == 403
    sent = {**answers_form(pupil, 1), "blanks": "ok"}
    assert pupil.post(f"/me/quizzes/{quiz_id}/attempts/{attempt}", data=sent).status_code == 403
    assert kit.quizzes.attempt(attempt)["handed_in_at"] is None and kit.quizzes.answers(attempt) == []
    assert clients["student_b"].get(f"/me/quizzes/{quiz_id}").status_code == 404  # another class: as if absent
    assert clients["student_a2"].get(f"/me/quizzes/{quiz_id}").status_code == 200


def test_only_the_author_or_an_administrator_changes_marks_or_whom_a_quiz_is_for(kit, roles):
    clients, ids = roles
    teacher, pupil = clients["teacher_a"], clients["student_a"]
    quiz_id = create_quiz(teacher, ids["a"]["class"], "Plants")
    attempt = start(pupil, quiz_id)
    pupil.post(f"/me/quizzes/{quiz_id}/attempts/{attempt}", data=answers_form(pupil, 2))
    score = kit.quizzes.attempt(attempt)["score"]
    with kit.people.transaction() as conn:  # teacher B also teaches class A: a colleague, not the author
        kit.people.add_teacher(conn, ids["a"]["class"], ids["b"]["teacher"])
    colleague = clients["teacher_b"]

    def posts(http) -> list[int]:
        token = csrf(http)
        return (
            [
                http.post(f"/teach/quizzes/{quiz_id}/marking", data=form).status_code
                for form in (
                    {"csrf": token, "position": "3", "action": "accept", "accept3": HOSTILE},
                    {"csrf": token, "position": "3", "action": "unaccept", "key": "x"},
                )
            ]
            + [
                http.post(f"/teach/quizzes/{quiz_id}/attempts/{attempt}/credit", data=form).status_code
                for form in ({"csrf": token, "position": "0", "credit": "1"},)
            ]
            + [http.post(f"/teach/quizzes/{quiz_id}/students", data={"csrf": token, "students": []}).status_code]
        )

    assert posts(pupil) == [403] * 4
    assert posts(colleague) == [403] * 4
    assert posts(clients["anonymous"]) == [401] * 4
    assert kit.quizzes.attempt(attempt)["score"] == score and kit.quizzes.marking_changes(quiz_id) == []
    stale = teacher.post(
        f"/teach/quizzes/{quiz_id}/attempts/{attempt}/credit", data={"csrf": "old", "position": "0", "credit": "1"}
    )
    assert stale.status_code == 403 and kit.quizzes.attempt(attempt)["score"] == score
    assert posts(clients["admin"]) == [303, 303, 303, 303]
    assert (
        kit.quizzes.attempt(attempt)["score"] == score + 2
    )  # the hostile answer accepted (escaped on pages), one credited
    results = teacher.get(f"/teach/quizzes/{quiz_id}").text
    assert HOSTILE not in results and "&lt;script&gt;" in results
    other_quiz = create_quiz(clients["teacher_b"], ids["b"]["class"], "Other")
    assert teacher.get(f"/teach/quizzes/{other_quiz}/attempts/{attempt}").status_code == 404
