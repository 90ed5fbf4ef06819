"""Editing and deleting lessons and quizzes over real HTTP: only the teacher who made them (or an administrator),
request by request; deleting archives and keeps students' work; a started quiz keeps its answers' meaning."""

from __future__ import annotations

from appliance.services.people import access as people
from appliance.services.people.access import CONSOLE
from tests.web.lesson_data import JPEG, hand_in, make_lesson
from tests.web.people_clients import csrf
from tests.web.quiz_data import HOSTILE, QUESTIONS, answers_form, create_quiz, quiz_form, start


def _lesson_form(client, title: str, **fields) -> dict:
    return {
        "csrf": csrf(client),
        "title": title,
        "instructions": fields.get("instructions", ""),
        "homework": fields.get("homework", "1"),
        "due": fields.get("due", ""),
        "students": [str(s) for s in fields.get("students", ())],
    }


def test_lesson_edit_changes_fields_and_assignees_escaped(kit, roles):
    clients, ids = roles
    teacher, a = clients["teacher_a"], ids["a"]
    lesson_id = make_lesson(teacher, a["class"], "Rivers")
    form = teacher.get(f"/teach/lessons/{lesson_id}/edit")
    assert form.status_code == 200 and 'value="Rivers"' in form.text
    saved = teacher.post(
        f"/teach/lessons/{lesson_id}/edit",
        data=_lesson_form(
            teacher, f"Rivers {HOSTILE}", instructions="Read p. 3", due="2099-02-01", students=[a["students"][1]]
        ),
    )
    assert saved.status_code == 303 and saved.headers["location"] == f"/teach/lessons/{lesson_id}"
    page = teacher.get(f"/teach/lessons/{lesson_id}").text
    assert HOSTILE not in page and "Rivers &lt;script&gt;" in page and "1 Feb 2099 23:59" in page
    assert kit.lessons.assigned_to(lesson_id) == [a["students"][1]]
    # student_a (students[0]) is no longer among those it is for
    assert clients["student_a"].get(f"/me/lessons/{lesson_id}").status_code == 404
    too_long = teacher.post(f"/teach/lessons/{lesson_id}/edit", data=_lesson_form(teacher, "x" * 121))
    assert too_long.status_code == 400 and kit.lessons.lesson(lesson_id)["title"] == f"Rivers {HOSTILE}"
    outsider = teacher.post(
        f"/teach/lessons/{lesson_id}/edit", data=_lesson_form(teacher, "Rivers", students=[ids["b"]["students"][0]])
    )
    assert outsider.status_code == 404


def test_lesson_edit_and_delete_refused_request_by_request(kit, roles):
    clients, ids = roles
    lesson_id = make_lesson(clients["teacher_a"], ids["a"]["class"], "Mine")
    for name, status in (("anonymous", 401), ("student_a", 403), ("student_b", 403), ("teacher_b", 404)):
        http = clients[name]
        assert http.get(f"/teach/lessons/{lesson_id}/edit").status_code == status, name
        assert http.post(f"/teach/lessons/{lesson_id}/edit", data=_lesson_form(http, "Stolen")).status_code == status, (
            name
        )
        assert http.get(f"/teach/lessons/{lesson_id}/delete").status_code == status, name
        assert http.post(f"/teach/lessons/{lesson_id}/delete", data={"csrf": csrf(http)}).status_code == status, name
    stale = clients["teacher_a"].post(f"/teach/lessons/{lesson_id}/delete", data={"csrf": "old"})
    assert stale.status_code == 403
    assert kit.lessons.lesson(lesson_id)["title"] == "Mine" and kit.lessons.lesson(lesson_id)["archived_at"] is None
    admin = clients["admin"]
    assert admin.post(f"/teach/lessons/{lesson_id}/edit", data=_lesson_form(admin, "Fixed")).status_code == 303
    assert kit.lessons.lesson(lesson_id)["title"] == "Fixed"


def test_lesson_colleague_in_shared_class_may_open_but_not_change(kit, roles):
    clients, ids = roles
    shared = people.create_class(kit.people, CONSOLE, "Shared", "", ["t-a", "t-b"])
    lesson_id = make_lesson(clients["teacher_a"], shared, "By A")
    colleague = clients["teacher_b"]
    assert colleague.get(f"/teach/lessons/{lesson_id}").status_code == 200
    assert "/edit" not in colleague.get(f"/teach/lessons/{lesson_id}").text
    refused = colleague.post(f"/teach/lessons/{lesson_id}/edit", data=_lesson_form(colleague, "By B"))
    assert refused.status_code == 403 and "Only the teacher who made this lesson" in refused.text
    zh = colleague.get(f"/teach/lessons/{lesson_id}/delete", headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 403 and "只有创建这个课程的老师或管理员可以修改它" in zh.text


def test_lesson_delete_confirms_archives_and_keeps_handins(kit, roles):
    clients, ids = roles
    teacher, student = clients["teacher_a"], clients["student_a"]
    lesson_id = make_lesson(teacher, ids["a"]["class"], "Old homework")
    assert hand_in(student, lesson_id, "my work", [("p.jpg", JPEG, "image/jpeg")]).status_code == 303
    [handin] = kit.lessons.handins_of(lesson_id, ids["a"]["students"][0])
    [photo] = kit.lessons.handin_files(handin["id"])
    confirm = teacher.get(f"/teach/lessons/{lesson_id}/delete")
    assert confirm.status_code == 200 and "are kept" in confirm.text and 'class="danger"' in confirm.text
    assert kit.lessons.lesson(lesson_id)["archived_at"] is None  # the GET only asks
    done = teacher.post(f"/teach/lessons/{lesson_id}/delete", data={"csrf": csrf(teacher)})
    assert done.status_code == 303 and done.headers["location"] == f"/teach/{ids['a']['class']}?notice=deleted"
    assert "Old homework" not in teacher.get(done.headers["location"]).text
    assert teacher.get(f"/teach/lessons/{lesson_id}").status_code == 404
    assert student.get(f"/me/lessons/{lesson_id}").status_code == 404 and "Old homework" not in student.get("/me").text
    assert "Old homework" not in teacher.get(f"/teach/{ids['a']['class']}/overview").text
    assert kit.lessons.handin(handin["id"])["body"] == "my work"  # the work is kept
    assert student.get(f"/files/handin/{photo['id']}").status_code == 200
    again = teacher.post(f"/teach/lessons/{lesson_id}/delete", data={"csrf": csrf(teacher)})
    assert again.status_code == 404


def test_lesson_remove_item_deletes_upload_file(kit, roles):
    clients, ids = roles
    teacher = clients["teacher_a"]
    lesson_id = make_lesson(teacher, ids["a"]["class"], "Files")
    teacher.post(
        f"/teach/lessons/{lesson_id}/uploads",
        data={"csrf": csrf(teacher), "title": "Sheet"},
        files={"file": ("s.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
    )
    [item] = kit.lessons.items(lesson_id)
    stored = kit.paths.uploads_dir / "lessons" / item["stored_name"]
    assert stored.exists()
    assert (
        clients["teacher_b"]
        .post(f"/teach/lessons/{lesson_id}/items/{item['id']}/remove", data={"csrf": csrf(clients["teacher_b"])})
        .status_code
        == 404
    )
    removed = teacher.post(f"/teach/lessons/{lesson_id}/items/{item['id']}/remove", data={"csrf": csrf(teacher)})
    assert removed.status_code == 303 and kit.lessons.items(lesson_id) == [] and not stored.exists()


def test_quiz_edit_before_attempts_may_change_answers(kit, roles):
    clients, ids = roles
    teacher = clients["teacher_a"]
    quiz_id = create_quiz(teacher, ids["a"]["class"], "Plants", questions=QUESTIONS[:2])
    form = teacher.get(f"/teach/quizzes/{quiz_id}/edit")
    assert form.status_code == 200 and 'value="Carbon dioxide"' in form.text and "checked" in form.text
    assert "Students have started" not in form.text
    changed = [({**QUESTIONS[0][0], "right": ["0"]}, None, None)]
    saved = teacher.post(f"/teach/quizzes/{quiz_id}/edit", data=quiz_form(teacher, "Plants 2", changed))
    assert saved.status_code == 303
    [question] = kit.quizzes.questions(quiz_id)
    assert question["answer"] == 0 and kit.quizzes.quiz(quiz_id)["title"] == "Plants 2"


def test_quiz_edit_after_attempts_keeps_answers_meaningful(kit, roles):
    clients, ids = roles
    teacher, student = clients["teacher_a"], clients["student_a"]
    quiz_id = create_quiz(teacher, ids["a"]["class"], "Plants")
    attempt = start(student, quiz_id)
    student.post(f"/me/quizzes/{quiz_id}/attempts/{attempt}", data=answers_form(student, 1))
    form = teacher.get(f"/teach/quizzes/{quiz_id}/edit")
    assert "Students have started this quiz" in form.text
    regrade = [({**QUESTIONS[0][0], "right": ["0"]}, None, None), *QUESTIONS[1:]]
    refused = teacher.post(f"/teach/quizzes/{quiz_id}/edit", data=quiz_form(teacher, "Plants", regrade))
    assert refused.status_code == 400 and "Students have already answered this question: its answer" in refused.text
    shorter = teacher.post(f"/teach/quizzes/{quiz_id}/edit", data=quiz_form(teacher, "Plants", QUESTIONS[:4]))
    assert shorter.status_code == 400 and "Students have started this quiz: its questions stay" in shorter.text
    assert kit.quizzes.questions(quiz_id)[0]["answer"] == 1
    reworded = [
        ({**QUESTIONS[0][0], "prompt": "Which gas do leaves take in?"}, None, None),
        *QUESTIONS[1:],
        ({"kind": "true_false", "prompt": "Roots drink water.", "tf": "true"}, None, None),
    ]
    saved = teacher.post(f"/teach/quizzes/{quiz_id}/edit", data=quiz_form(teacher, "Plants (v2)", reworded))
    assert saved.status_code == 303, saved.text
    questions = kit.quizzes.questions(quiz_id)
    assert len(questions) == 6 and questions[0]["prompt"] == "Which gas do leaves take in?"
    results = teacher.get(f"/teach/quizzes/{quiz_id}").text
    assert "Edited" in results and "Which gas do leaves take in?" in results
    assert kit.quizzes.handed_in(quiz_id)[0]["score"] == 6  # the attempt keeps its score


def test_quiz_edit_and_delete_refused_request_by_request_then_archived(kit, roles):
    clients, ids = roles
    teacher, student = clients["teacher_a"], clients["student_a"]
    quiz_id = create_quiz(teacher, ids["a"]["class"], "Plants")
    attempt = start(student, quiz_id)
    student.post(f"/me/quizzes/{quiz_id}/attempts/{attempt}", data=answers_form(student, 2))
    for name, status in (("anonymous", 401), ("student_a", 403), ("teacher_b", 404)):
        http = clients[name]
        assert http.get(f"/teach/quizzes/{quiz_id}/edit").status_code == status, name
        assert http.post(f"/teach/quizzes/{quiz_id}/edit", data=quiz_form(http, "X")).status_code == status, name
        assert http.post(f"/teach/quizzes/{quiz_id}/delete", data={"csrf": csrf(http)}).status_code == status, name
    assert teacher.get(f"/teach/quizzes/{quiz_id}/delete").status_code == 200
    done = teacher.post(f"/teach/quizzes/{quiz_id}/delete", data={"csrf": csrf(teacher)})
    assert done.status_code == 303 and "Plants" not in teacher.get(done.headers["location"]).text
    assert teacher.get(f"/teach/quizzes/{quiz_id}").status_code == 404
    assert student.get(f"/me/quizzes/{quiz_id}").status_code == 404 and "Plants" not in student.get("/me").text
    assert len(kit.quizzes.handed_in(quiz_id)) == 1  # the attempt is kept
