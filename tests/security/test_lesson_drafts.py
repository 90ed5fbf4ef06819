"""Who: a pupil of the class, signed in on the classroom Wi-Fi; a teacher of another class. From where: /me's lesson
and item links, /files/lesson/<item>, the hand-in form, the lesson pages' publish, quiz and copy forms. With what:
lesson, item and file ids counted up by hand to read a lesson (and the teacher's worksheet or answer sheet) that is
still a draft or scheduled for later, or to hand in to it early; a quiz id of another class added to a lesson; a
copy of a lesson into a class they do not teach, or publishing a colleague's draft. What stops them: storage's
PUBLISHED filter (storage/lessons.py) under every child's read of a lesson — its page, its items, its files and
hand-ins all go through services/learning/lessons.student_lesson — so a draft is 404 `lesson.not_found`, exactly
like a lesson that does not exist, until its publish_at; a quiz item must be a quiz of the lesson's class; copies
go only into classes the viewer teaches; publishing is the lesson's owner's (or an administrator's).
docs/security.md, "Drafts"."""

from __future__ import annotations

from tests.web.lesson_data import PDF, hand_in, make_lesson
from tests.web.people_clients import csrf, role_clients
from tests.web.quiz_data import create_quiz


def test_security_a_pupil_cannot_open_a_draft_or_its_files_by_guessing_ids(kit, live):
    clients, ids = role_clients(kit, live.url)
    teacher, pupil = clients["teacher_a"], clients["student_a"]
    try:
        made = teacher.post(
            f"/teach/{ids['a']['class']}/lessons",
            data={"csrf": csrf(teacher), "title": "Answers for Friday", "homework": "1", "publish": "draft"},
        )
        lesson_id = int(made.headers["location"].rsplit("/", 1)[1])
        teacher.post(
            f"/teach/lessons/{lesson_id}/uploads",
            data={"csrf": csrf(teacher), "title": "Answer sheet"},
            files={"file": ("answers.pdf", PDF, "application/pdf")},
        )
        [item] = kit.lessons.items(lesson_id)
        for path in (
            f"/me/lessons/{lesson_id}",
            f"/me/lessons/{lesson_id}/items/{item['id']}",
            f"/files/lesson/{item['id']}",
        ):
            response = pupil.get(path)
            assert response.status_code == 404 and PDF not in response.content, path
        assert hand_in(pupil, lesson_id, "early").status_code == 404
        assert "Answers for Friday" not in pupil.get("/me").text
        assert kit.lessons.latest_handins([lesson_id]) == {}
    finally:
        for http in clients.values():
            http.close()


def test_security_other_teachers_cannot_publish_copy_or_add_quizzes_across_classes(kit, live):
    clients, ids = role_clients(kit, live.url)
    teacher_a, teacher_b = clients["teacher_a"], clients["teacher_b"]
    try:
        lesson_id = make_lesson(teacher_a, ids["a"]["class"], "Class A lesson")
        with kit.db.transaction() as conn:
            conn.execute("UPDATE lessons SET publish_at = NULL WHERE id = ?", (lesson_id,))
        outsider = {"csrf": csrf(teacher_b), "publish": "now"}
        assert teacher_b.post(f"/teach/lessons/{lesson_id}/publish", data=outsider).status_code == 404
        assert kit.lessons.lesson(lesson_id)["publish_at"] is None
        copy = {"csrf": csrf(teacher_b), "class": str(ids["b"]["class"])}
        assert teacher_b.post(f"/teach/lessons/{lesson_id}/copy", data=copy).status_code == 404
        into_b = {"csrf": csrf(teacher_a), "class": str(ids["b"]["class"])}  # A does not teach class B
        assert teacher_a.post(f"/teach/lessons/{lesson_id}/copy", data=into_b).status_code == 404
        quiz_b = create_quiz(teacher_b, ids["b"]["class"], "B's quiz")
        assert teacher_a.post(f"/teach/quizzes/{quiz_b}/copy", data=into_b).status_code == 404
        added = teacher_a.post(f"/teach/lessons/{lesson_id}/quizzes", data={"csrf": csrf(teacher_a), "quiz": quiz_b})
        assert added.status_code == 404 and kit.lessons.items(lesson_id) == []
        assert len(kit.lessons.of_class(ids["b"]["class"])) == 0
    finally:
        for http in clients.values():
            http.close()
