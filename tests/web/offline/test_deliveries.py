"""Hand-ins a phone kept and delivers later (issue 18 part B), over HTTP against a live kit: exactly once per
(child, client_id), never as another child's, made_at clamped and arrived_at kept (the marking page shows both),
lateness judged on made_at, a pass ended → 401, and a photo over the limit refused with a sentence for the page."""

from __future__ import annotations

import dataclasses
import re
import uuid

import pytest

from appliance.services.learning import handin_photos
from tests.photo_data import phone_jpeg
from tests.web.lesson_data import JPEG, make_lesson
from tests.web.offline.test_phone_pass import bearer, take_home
from tests.web.people_clients import csrf
from tests.web.quiz_data import QUESTIONS, create_quiz

PHOTO_MAX_MB = 2  # phone_jpeg() is ~4.7 MB: over it


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, handin_photo_max_mb=PHOTO_MAX_MB)


def deliver(http, token: str, student: int, lesson: int, client_id: str, made_at: str = "", photos=(), body="My plant"):
    data = {"student": str(student), "client_id": client_id, "made_at": made_at, "lesson": str(lesson), "body": body}
    files = [("photos", photo) for photo in photos] or None
    return http.post("/me/deliveries/handin", data=data, files=files, headers=bearer(token))


def rows(kit, student: int):
    return kit.db.read().execute("SELECT * FROM handins WHERE account_id = ? ORDER BY id", (student,)).fetchall()


def test_deliveries_store_a_hand_in_once_per_client_id(kit, roles, plant_lesson):
    clients, ids = roles
    child = ids["a"]["students"][0]
    token, phone, item = take_home(clients["student_a"]), clients["anonymous"], str(uuid.uuid4())
    first = deliver(phone, token, child, plant_lesson.id, item, photos=[("leaf.jpg", JPEG, "image/jpeg")])
    assert first.status_code == 200 and first.json()["repeated"] is False, first.text
    again = deliver(phone, token, child, plant_lesson.id, item, photos=[("leaf.jpg", JPEG, "image/jpeg")])
    assert again.json() == {**first.json(), "repeated": True}
    [row] = rows(kit, child)
    assert row["client_id"] == item and row["arrived_at"] and row["made_at"]
    assert kit.db.read().execute("SELECT count(*) FROM handin_files").fetchone()[0] == 1
    assert handin_photos.wait_idle(30)


def test_deliveries_never_store_one_childs_item_as_anothers(kit, roles, plant_lesson):
    clients, ids = roles
    child_a, child_b = ids["a"]["students"][0], ids["b"]["students"][0]
    token_b = take_home(clients["student_b"])
    refused = deliver(clients["anonymous"], token_b, child_a, plant_lesson.id, str(uuid.uuid4()))
    assert refused.status_code == 403 and refused.json()["code"] == "phone.wrong_child"
    assert rows(kit, child_a) == [] and rows(kit, child_b) == []
    # the cookie of child B with child A's item is refused the same way (a form without a pass carries its CSRF)
    data = {"student": str(child_a), "client_id": str(uuid.uuid4()), "lesson": str(plant_lesson.id), "body": "x"}
    by_cookie = clients["student_b"].post(
        "/me/deliveries/handin",
        data={**data, "csrf": csrf(clients["student_b"])},
        files=[("photos", ("a.jpg", JPEG, "image/jpeg"))],
    )
    assert by_cookie.status_code == 403 and rows(kit, child_a) == []


def test_deliveries_clamp_made_at_and_judge_lateness_by_it(kit, roles):
    clients, ids = roles
    child, teacher = ids["a"]["students"][0], clients["teacher_a"]
    lesson = make_lesson(teacher, ids["a"]["class"], "Due long ago", due="2020-01-01 08:00")
    token = take_home(clients["student_a"])
    ancient = deliver(clients["anonymous"], token, child, lesson, str(uuid.uuid4()), made_at="1999-01-01T00:00:00Z")
    assert ancient.status_code == 200, ancient.text
    [row] = rows(kit, child)
    assert row["made_at"] >= "2020" and row["late"] == 1  # clamped up to the pass's making: still after the due time
    future = deliver(clients["anonymous"], token, child, lesson, str(uuid.uuid4()), made_at="2999-01-01T00:00:00Z")
    assert future.status_code == 200
    assert rows(kit, child)[-1]["made_at"] == rows(kit, child)[-1]["arrived_at"]  # clamped down to the arrival


def test_deliveries_the_marking_page_shows_made_and_arrived_when_they_differ(kit, roles, plant_lesson):
    clients, ids = roles
    child = ids["a"]["students"][0]
    with kit.db.write() as conn:  # the pass was made an hour ago: the work can be an hour old
        conn.execute("UPDATE lessons SET publish_at = '2020-01-01T00:00:00Z'")
    token = take_home(clients["student_a"])
    with kit.db.write() as conn:
        conn.execute("UPDATE phone_passes SET made_at = made_at - 7200")
    made = "2020-01-01T00:00:00Z"
    assert (
        deliver(clients["anonymous"], token, child, plant_lesson.id, str(uuid.uuid4()), made_at=made).status_code == 200
    )
    [row] = rows(kit, child)
    assert row["made_at"] < row["arrived_at"]
    page = clients["teacher_a"].get(f"/teach/handins/{row['id']}").text
    assert re.search(r'class="delivered">\(made .* on the phone, arrived .*\)</span>', page), page


def test_deliveries_refuse_an_ended_pass_and_an_oversize_photo_with_a_sentence(kit, roles, plant_lesson):
    clients, ids = roles
    child, phone = ids["a"]["students"][0], clients["anonymous"]
    token = take_home(clients["student_a"])
    big = deliver(
        phone, token, child, plant_lesson.id, str(uuid.uuid4()), photos=[("big.jpg", phone_jpeg(), "image/jpeg")]
    )
    assert big.status_code in (413, 400) and big.json()["code"].endswith("too_large") and big.json()["text"], big.text
    assert rows(kit, child) == []
    phone.post("/me/phone/sign-out", headers=bearer(token))
    ended = deliver(phone, token, child, plant_lesson.id, str(uuid.uuid4()))
    assert ended.status_code == 401 and ended.json()["code"] == "phone.pass_ended" and rows(kit, child) == []


def test_deliveries_quiz_answers_made_on_the_phone_count_once(kit, roles):
    clients, ids = roles
    child, teacher = ids["a"]["students"][0], clients["teacher_a"]
    quiz_id = create_quiz(teacher, ids["a"]["class"], "Plants quiz", attempts=2)
    token, phone, item = take_home(clients["student_a"]), clients["anonymous"], str(uuid.uuid4())
    page = clients["student_a"].get(f"/me/quizzes/{quiz_id}/offline").text  # what the phone keeps
    assert 'action="/me/deliveries/quiz"' in page and f'name="quiz" value="{quiz_id}"' in page
    answers = {f"a{n}": question[1] for n, question in enumerate(QUESTIONS)}
    data = {"student": str(child), "client_id": item, "made_at": "", "quiz": str(quiz_id), **answers}
    first = phone.post("/me/deliveries/quiz", data=data, headers=bearer(token))
    assert first.status_code == 200 and first.json()["repeated"] is False, first.text
    again = phone.post("/me/deliveries/quiz", data=data, headers=bearer(token))
    assert again.json() == {**first.json(), "repeated": True}
    [attempt] = kit.db.read().execute("SELECT * FROM quiz_attempts WHERE account_id = ?", (child,)).fetchall()
    assert attempt["client_id"] == item and attempt["handed_in_at"] and attempt["score"] == attempt["out_of"]
    other = phone.post(
        "/me/deliveries/quiz", data={**data, "student": str(ids["b"]["students"][0])}, headers=bearer(token)
    )
    assert other.status_code == 403 and other.json()["code"] == "phone.wrong_child"


def test_deliveries_quiz_page_without_a_script_sends_its_answers_once(kit, roles):
    clients, ids = roles
    child, student = ids["a"]["students"][0], clients["student_a"]
    quiz_id = create_quiz(clients["teacher_a"], ids["a"]["class"], "Plants quiz", attempts=2)
    page = student.get(f"/me/quizzes/{quiz_id}/offline").text
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
    answers = {f"a{n}": question[2] for n, question in enumerate(QUESTIONS)}
    for _ in range(2):  # a double tap
        sent = student.post("/me/deliveries/quiz", data={**fields, **answers})
        assert sent.status_code == 303 and "/attempts/" in sent.headers["location"], sent.text
    assert kit.db.read().execute("SELECT count(*) FROM quiz_attempts WHERE account_id = ?", (child,)).fetchone()[0] == 1
