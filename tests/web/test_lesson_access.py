"""Who sees what in lessons and homework, request by request (every lesson route × every role, with class A's
ids), and bad input: mislabelled, empty and oversized files refused with nothing stored, markup escaped
everywhere, stale forms refused. Real kit, real uvicorn on loopback, real sessions and CSRF."""

from __future__ import annotations

import re

import pytest

from appliance.config import load_settings
from tests.web.lesson_data import ELF, JPEG, PDF, PNG, hand_in, handin_ids, make_lesson
from tests.web.people_clients import csrf, role_clients
from tests.web.quiz_data import create_quiz

ROLES = ("anonymous", "student_a", "student_b", "teacher_a", "teacher_b", "admin")
STUDENT_PAGE = (401, 200, 404, 403, 403, 403)
STAFF_PAGE = (401, 403, 403, 200, 404, 200)
STAFF_POST = (401, 403, 403, 303, 404, 303)


@pytest.fixture
def settings(tmp_path, content_dir):
    """Small upload limits (1 MB) so "too large" needs no large files."""
    return load_settings(
        environ={},
        overrides={
            "data_dir": str(tmp_path / "data"),
            "content_dir": str(content_dir),
            "library_scan_interval_s": 0.2,
            "mdns_enabled": False,
            "lesson_upload_max_mb": 1,
            "handin_photo_max_mb": 1,
        },
    )


def _expected():
    """(method, path template, statuses in ROLES order). {L} homework of class A for everyone, {LS} one for the
    other student of A only, {I} its uploaded file, {H} student_a's hand-in, {F} its photo; {A} the class, {Q} a quiz
    of it."""
    return [
        ("GET", "/me/lessons/{L}", STUDENT_PAGE),
        ("GET", "/me/lessons/{LS}", (401, 404, 404, 403, 403, 403)),
        ("GET", "/me/lessons/{L}/items/{I}", (401, 303, 404, 403, 403, 403)),
        ("GET", "/me/lessons/{LS}/items/{I}", (401, 404, 404, 403, 403, 403)),
        ("POST", "/me/lessons/{L}/handin", (401, 303, 404, 403, 403, 403)),
        ("GET", "/files/lesson/{I}", (401, 200, 404, 200, 404, 200)),
        ("GET", "/files/handin/{F}", (401, 200, 404, 200, 404, 200)),
        ("GET", "/teach/{A}/lessons/new", STAFF_PAGE),
        ("POST", "/teach/{A}/lessons", STAFF_POST),
        ("GET", "/teach/lessons/{L}", STAFF_PAGE),
        ("POST", "/teach/lessons/{L}/items", STAFF_POST),
        ("POST", "/teach/lessons/{L}/uploads", STAFF_POST),
        ("GET", "/teach/{A}/overview", STAFF_PAGE),
        ("GET", "/teach/{A}/overview.csv", STAFF_PAGE),
        ("GET", "/teach/{A}/students/{sA}/summary", STAFF_PAGE),
        ("POST", "/teach/handins/{H}/grade", STAFF_POST),
        ("POST", "/teach/lessons/{L}/publish", STAFF_POST),
        ("POST", "/teach/lessons/{L}/quizzes", STAFF_POST),
        ("GET", "/teach/lessons/{L}/copy", STAFF_PAGE),
        ("POST", "/teach/lessons/{L}/copy", STAFF_POST),
        ("GET", "/teach/quizzes/{Q}/copy", STAFF_PAGE),
        ("POST", "/teach/quizzes/{Q}/copy", STAFF_POST),
        ("GET", "/teach/handins/{H}", STAFF_PAGE),
        ("POST", "/teach/lessons/{L}/rubric", STAFF_POST),
        ("GET", "/files/handin/{F}/thumb", (401, 200, 404, 200, 404, 200)),
        ("GET", "/teach/comments", (401, 403, 403, 200, 200, 200)),  # each teacher's own bank
        ("POST", "/teach/comments", (401, 403, 403, 303, 303, 303)),
    ]


def _request(http, method: str, path: str, n: int, names: dict | None = None):
    if method == "GET":
        return http.get(path)
    data, files = {"csrf": csrf(http)}, None
    if path.endswith("/handin"):
        data["body"] = f"answer {n}"
    elif path.endswith("/lessons"):
        data["title"] = f"Lesson {n}"
    elif path.endswith("/items"):
        data |= {"book": "test_book", "path": "moon"}
    elif path.endswith("/uploads"):
        files = {"file": ("sheet.pdf", PDF, "application/pdf")}
    elif path.endswith("/grade"):
        data |= {"action": "grade", "score": "5", "out_of": "10"}
    elif path.endswith("/publish"):
        data["publish"] = "now"
    elif path.endswith("/quizzes") and names:
        data["quiz"] = str(names["Q"])
    elif path.endswith("/copy") and names:
        data["class"] = str(names["A"])  # a copy into the same class
    elif path.endswith("/rubric"):
        data["rubric"] = f"Criterion {n}"
    elif path.endswith("/comments"):
        data |= {"action": "add", "text": f"Comment {n}"}
    return http.post(path, data=data, files=files)


def _setup(kit, live):
    clients, ids = role_clients(kit, live.url)
    a = ids["a"]
    teacher = clients["teacher_a"]
    lesson = make_lesson(teacher, a["class"], "For all")
    only_other = make_lesson(teacher, a["class"], "For the other", students=(a["students"][1],))
    teacher.post(
        f"/teach/lessons/{only_other}/uploads",
        data={"csrf": csrf(teacher)},
        files={"file": ("sheet.pdf", PDF, "application/pdf")},
    )
    item = kit.lessons.items(only_other)[0]["id"]
    with kit.db.transaction() as conn:  # the same file in the lesson for all, so {I} is visible to student_a
        conn.execute("UPDATE lesson_items SET lesson_id = ? WHERE id = ?", (lesson, item))
    # so "/me/lessons/{LS}/items/{I}" asks, through a lesson not assigned to student_a, for an item of another one
    assert hand_in(clients["student_a"], lesson, "mine", [("p.png", PNG, "image/png")]).status_code == 303
    [handin] = handin_ids(teacher.get(f"/teach/lessons/{lesson}").text)
    photo = kit.lessons.handin_files(handin)[0]["id"]
    quiz = create_quiz(teacher, a["class"], "Quiz of A")
    names = {"A": a["class"], "L": lesson, "LS": only_other, "I": item, "H": handin, "F": photo, "sA": a["students"][0]}
    names["Q"] = quiz
    return clients, ids, names


@pytest.mark.slow
def test_lesson_access_matrix_every_route_every_role(kit, live):
    clients, _, names = _setup(kit, live)
    wrong = {}
    try:
        for n, (method, template, statuses) in enumerate(_expected()):
            path = template.format(**names)
            for role, status in zip(ROLES, statuses):
                response = _request(clients[role], method, path, n, names)
                if response.status_code != status:
                    wrong[(method, template, role)] = (response.status_code, status)
                if response.status_code == 200:  # a photo or its thumbnail kept by its viewer's browser only
                    private = "private, max-age=86400" if path.startswith("/files/handin/") else "no-store"
                    assert response.headers["cache-control"] == private, (method, path, role)
    finally:
        for http in clients.values():
            http.close()
    assert wrong == {}, "(method, route, role): (got, expected)"


def test_lesson_access_student_never_sees_another_students_work(kit, live):
    clients, ids, names = _setup(kit, live)
    other = clients["student_b"]
    assert "mine" not in other.get("/me").text
    teacher_b = clients["teacher_b"]
    assert "For all" not in teacher_b.get("/teach").text
    assert teacher_b.get(f"/teach/{names['A']}/overview.csv").status_code == 404
    for http in clients.values():
        http.close()


def _files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_lesson_bad_uploads_refused_with_nothing_stored(kit, live):
    clients, ids = role_clients(kit, live.url)
    teacher, student = clients["teacher_a"], clients["student_a"]
    lesson = make_lesson(teacher, ids["a"]["class"], "Bad files")
    handins, lesson_files = kit.paths.uploads_dir / "handins", kit.paths.uploads_dir / "lessons"
    big = b"\xff\xd8\xff\xe0" + b"\x00" * (1024 * 1024 + 10)
    for photos, code in (
        ([("photo.jpg", ELF, "image/jpeg")], "upload.type_not_allowed"),
        ([("photo.jpg", b"", "image/jpeg")], "upload.empty"),
        ([("photo.jpg", big, "image/jpeg")], "upload.too_large"),
        ([("photo.png", JPEG, "image/png")], "upload.type_mismatch"),
        ([("ok.jpg", JPEG, "image/jpeg"), ("second.jpg", ELF, "image/jpeg")], "upload.type_not_allowed"),
    ):
        response = hand_in(student, lesson, "with a bad photo", photos)
        assert response.status_code == 400, (code, response.text)
        assert 'id="photos-error"' in response.text, code  # the lesson page again, the answer kept (issue 16)
        assert ">with a bad photo</textarea>" in response.text, code
        json = student.post(
            f"/me/lessons/{lesson}/handin",
            data={"csrf": csrf(student), "body": "x"},
            files=[("photos", p) for p in photos],
            headers={"Accept": "application/json"},
        )
        assert json.json()["code"] == code
    assert _files(handins) == [] and kit.lessons.handins_of(lesson, ids["a"]["students"][0]) == []
    for name, data, code in (
        ("sheet.pdf", ELF, "upload.type_not_allowed"),
        ("sheet.pdf", PNG, "upload.type_mismatch"),
        ("film.mp4", b"", "upload.empty"),
        ("big.pdf", b"%PDF-" + b"0" * (1024 * 1024), "upload.too_large"),
    ):
        response = teacher.post(
            f"/teach/lessons/{lesson}/uploads",
            data={"csrf": csrf(teacher)},
            files={"file": (name, data, "application/octet-stream")},
            headers={"Accept": "application/json"},
        )
        assert (response.status_code, response.json()["code"]) == (400, code)
    assert _files(lesson_files) == [] and kit.lessons.items(lesson) == []
    for http in clients.values():
        http.close()


def test_lesson_text_fields_escaped_everywhere(kit, live):
    clients, ids = role_clients(kit, live.url)
    teacher, student = clients["teacher_a"], clients["student_a"]
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    a = ids["a"]
    lesson = make_lesson(teacher, a["class"], evil, instructions=evil)
    teacher.post(
        f"/teach/lessons/{lesson}/uploads",
        data={"csrf": csrf(teacher), "title": evil},
        files={"file": ("sheet.pdf", PDF, "application/pdf")},
    )
    hand_in(student, lesson, evil)
    [handin] = handin_ids(teacher.get(f"/teach/lessons/{lesson}").text)
    teacher.post(
        f"/teach/handins/{handin}/grade",
        data={"csrf": csrf(teacher), "action": "grade", "score": "1", "out_of": "2", "comment": evil},
    )
    pages = [
        teacher.get(f"/teach/lessons/{lesson}"),
        teacher.get(f"/teach/{a['class']}"),
        teacher.get(f"/teach/{a['class']}/overview"),
        teacher.get(f"/teach/{a['class']}/students/{a['students'][0]}/summary"),
        student.get("/me"),
        student.get(f"/me/lessons/{lesson}"),
    ]
    for page in pages:
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "<img src=x" not in page.text, page.url
        assert "&lt;script&gt;" in page.text, page.url
    assert kit.lessons.lesson(lesson)["title"] == evil  # stored as typed, escaped when shown
    for http in clients.values():
        http.close()


def test_lesson_stale_forms_refused(kit, live):
    clients, ids = role_clients(kit, live.url)
    teacher, student = clients["teacher_a"], clients["student_a"]
    lesson = make_lesson(teacher, ids["a"]["class"], "Stale")
    refused = [
        student.post(
            f"/me/lessons/{lesson}/handin",
            data={"csrf": "old-token", "body": "x"},
            files=[("photos", ("p.jpg", JPEG, "image/jpeg"))],
        ),
        student.post(f"/me/lessons/{lesson}/handin", data={"body": "x"}),
        teacher.post(f"/teach/{ids['a']['class']}/lessons", data={"csrf": "", "title": "x"}),
        teacher.post(f"/teach/lessons/{lesson}/items", data={"csrf": "nope", "book": "test_book"}),
    ]
    assert [r.status_code for r in refused] == [403] * 4
    assert _files(kit.paths.uploads_dir / "handins") == [] and kit.lessons.items(lesson) == []
    assert kit.lessons.handins_of(lesson, ids["a"]["students"][0]) == []
    assert [lesson_row["title"] for lesson_row in kit.lessons.of_class(ids["a"]["class"])] == ["Stale"]
    for http in clients.values():
        http.close()


def test_lesson_choosing_a_student_of_another_class_is_refused(kit, live):
    clients, ids = role_clients(kit, live.url)
    teacher = clients["teacher_a"]
    response = teacher.post(
        f"/teach/{ids['a']['class']}/lessons",
        data={"csrf": csrf(teacher), "title": "x", "students": [str(ids["b"]["students"][0])]},
    )
    assert response.status_code == 404 and kit.lessons.of_class(ids["a"]["class"]) == []
    assert re.search("not in this class", response.text)
    for http in clients.values():
        http.close()
