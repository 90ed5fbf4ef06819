"""A picture in a quiz question over real HTTP (issue 16): chosen on the quiz form (multipart, with any of its
buttons), checked and scaled down like a hand-in photo, kept by its id across the form's buttons and edits, seen by
the class's students on the quiz (and kept by a phone that takes the quiz home) and by nobody else; a refused file is its question's problem, the rest as typed."""

from __future__ import annotations

import datetime as dt
import io

from PIL import Image

from appliance.services.learning import lesson_edits, quiz_pictures
from tests.photo_data import exif_of, phone_jpeg
from tests.web.offline.test_phone_pass import bearer, take_home
from tests.web.people_clients import csrf
from tests.web.quiz_data import quiz_form, start

QUESTION = ({"kind": "true_false", "prompt": "图上的是一只猫。", "tf": "true"}, ["true"], ["false"])


def _post(http, url: str, fields: dict, files: dict):
    return http.post(url, data=fields, files=files)


def test_quiz_picture_uploaded_scaled_shown_to_the_class_only(kit, roles):
    clients, ids = roles
    teacher, class_id = clients["teacher_a"], ids["a"]["class"]
    fields = quiz_form(teacher, "看图", [QUESTION], attempts=1, action="add")
    photo = phone_jpeg(2000, 1500)
    grown = _post(teacher, f"/teach/{class_id}/quizzes", fields, {"q0-picture-file": ("猫.jpg", photo, "image/jpeg")})
    assert grown.status_code == 200 and 'name="count" value="2"' in grown.text  # "add" kept the picture
    picture_id = int(grown.text.split('name="q0-picture" value="')[1].split('"')[0])
    assert f'src="/files/quiz-picture/{picture_id}"' in grown.text
    fields = quiz_form(teacher, "看图", [QUESTION], attempts=1)
    fields["q0-picture"] = str(picture_id)
    saved = teacher.post(f"/teach/{class_id}/quizzes", data=fields)
    assert saved.status_code == 303
    quiz_id = int(saved.headers["location"].rsplit("/", 1)[1])
    assert kit.quizzes.questions(quiz_id)[0]["picture"] == picture_id

    shown = teacher.get(f"/files/quiz-picture/{picture_id}")
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    assert "immutable" in shown.headers["cache-control"] and shown.headers["x-content-type-options"] == "nosniff"
    with Image.open(io.BytesIO(shown.content)) as kept:
        assert max(kept.size) == 1024 and "GPSInfo" not in str(exif_of(shown.content))
    assert len(shown.content) < len(photo) / 4

    student = clients["student_a"]
    attempt = start(student, quiz_id)
    page = student.get(f"/me/quizzes/{quiz_id}/attempts/{attempt}")
    assert f'<img class="question-picture" src="/files/quiz-picture/{picture_id}"' in page.text
    assert student.get(f"/files/quiz-picture/{picture_id}").status_code == 200
    assert clients["student_b"].get(f"/files/quiz-picture/{picture_id}").status_code == 404
    assert clients["teacher_b"].get(f"/files/quiz-picture/{picture_id}").status_code == 404
    assert clients["anonymous"].get(f"/files/quiz-picture/{picture_id}").status_code == 401
    assert clients["admin"].get(f"/files/quiz-picture/{picture_id}").status_code == 200
    # the phone that takes the class's lessons home keeps the question's picture with the quiz (issue 18)
    kept = clients["anonymous"].get("/me/offline.json", headers=bearer(take_home(student))).json()["entries"]
    assert {e["url"]: e["size_bytes"] for e in kept}[f"/files/quiz-picture/{picture_id}"] == len(shown.content)

    edit = teacher.get(f"/teach/quizzes/{quiz_id}/edit")
    assert f'name="q0-picture" value="{picture_id}"' in edit.text  # an edit keeps it
    fields = quiz_form(teacher, "看图", [QUESTION], attempts=1)
    fields.update({"q0-picture": str(picture_id), "q0-picture-remove": "1"})
    assert teacher.post(f"/teach/quizzes/{quiz_id}/edit", data=fields).status_code == 303
    assert "picture" not in kit.quizzes.questions(quiz_id)[0]


def test_quiz_picture_refused_beside_its_question_and_other_class_ids_dropped(kit, roles):
    clients, ids = roles
    teacher_a, teacher_b = clients["teacher_a"], clients["teacher_b"]
    fields = quiz_form(teacher_b, "B", [QUESTION], action="add")
    other = _post(
        teacher_b, f"/teach/{ids['b']['class']}/quizzes", fields, {"q0-picture-file": ("x.png", _png(), "image/png")}
    )
    other_id = other.text.split('name="q0-picture" value="')[1].split('"')[0]
    assert other_id.isdigit()

    class_id = ids["a"]["class"]
    fields = quiz_form(teacher_a, "看图", [QUESTION, QUESTION])
    fields["q0-picture"] = other_id  # a hand-made form naming another class's picture: forgotten
    refused = _post(
        teacher_a,
        f"/teach/{class_id}/quizzes",
        fields,
        {"q1-picture-file": ("作业.jpg", b"%PDF-1.4 not a photo", "image/jpeg")},
    )
    assert refused.status_code == 400
    second = refused.text.split('<fieldset class="question')[2]
    assert 'id="q1-error"' in second and "This picture was not kept" in second and "图上的是一只猫。" in second
    assert 'name="q0-picture" value=""' in refused.text
    assert kit.db.read().execute("SELECT count(*) FROM quizzes").fetchone()[0] == 0
    zh = teacher_a.post(
        f"/teach/{class_id}/quizzes",
        data=quiz_form(teacher_a, "看图", [QUESTION]),
        files={"q0-picture-file": ("作业.jpg", b"%PDF-1.4", "image/jpeg")},
        headers={"Accept-Language": "zh-CN"},
    )
    assert zh.status_code == 400 and "这张图片没有保存" in zh.text


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(out, "PNG")
    return out.getvalue()


def test_quiz_picture_route_refuses_strangers_before_reading(kit, roles):
    clients, ids = roles
    response = clients["student_a"].post(
        f"/teach/{ids['a']['class']}/quizzes",
        data={"csrf": csrf(clients["student_a"])},
        files={"q0-picture-file": ("a.jpg", phone_jpeg(400, 300), "image/jpeg")},
    )
    assert response.status_code == 403
    assert not (kit.paths.uploads_dir / "quiz_pictures").exists()


def test_quiz_picture_copied_with_its_quiz_to_another_class(kit, roles):
    """A quiz copied to another class takes its pictures with it, as that class's own (before: the copy named the
    first class's picture, which the other class's children could not open, and an edit of the copy dropped it)."""
    clients, ids = roles
    teacher, a, b = clients["teacher_a"], ids["a"]["class"], ids["b"]["class"]
    with kit.people.transaction() as conn:
        kit.people.add_teacher(conn, b, ids["a"]["teacher"])
    fields = quiz_form(teacher, "看图", [QUESTION], attempts=1, action="add")
    grown = _post(
        teacher, f"/teach/{a}/quizzes", fields, {"q0-picture-file": ("猫.jpg", phone_jpeg(800, 600), "image/jpeg")}
    )
    picture_id = int(grown.text.split('name="q0-picture" value="')[1].split('"')[0])
    fields = quiz_form(teacher, "看图", [QUESTION], attempts=1)
    fields["q0-picture"] = str(picture_id)
    quiz_id = int(teacher.post(f"/teach/{a}/quizzes", data=fields).headers["location"].rsplit("/", 1)[1])

    copied = teacher.post(f"/teach/quizzes/{quiz_id}/copy", data={"csrf": csrf(teacher), "class": str(b)})
    assert copied.status_code == 303
    new_id = int(copied.headers["location"].rsplit("/", 1)[1])
    new_picture = kit.quizzes.questions(new_id)[0]["picture"]
    assert new_picture != picture_id and kit.quizzes.picture(new_picture)["class_id"] == b
    assert kit.quizzes.questions(quiz_id)[0]["picture"] == picture_id  # the original keeps its own
    student_b = clients["student_b"]
    attempt = start(student_b, new_id)
    page = student_b.get(f"/me/quizzes/{new_id}/attempts/{attempt}")
    assert f'src="/files/quiz-picture/{new_picture}"' in page.text
    theirs = student_b.get(f"/files/quiz-picture/{new_picture}")
    assert theirs.status_code == 200 and theirs.content == teacher.get(f"/files/quiz-picture/{picture_id}").content
    assert f'name="q0-picture" value="{new_picture}"' in teacher.get(f"/teach/quizzes/{new_id}/edit").text


def test_quiz_pictures_no_question_names_are_removed_after_a_day(kit, roles):
    """A picture chosen on a form that was never saved, or taken off its question, is removed (row and file) when the
    class's quiz form is next sent, once a day old; the pictures questions name stay, archived quizzes' too."""
    clients, ids = roles
    teacher, class_id = clients["teacher_a"], ids["a"]["class"]

    def chosen() -> int:
        fields = quiz_form(teacher, "看图", [QUESTION], attempts=1, action="add")
        grown = _post(
            teacher, f"/teach/{class_id}/quizzes", fields, {"q0-picture-file": ("a.jpg", phone_jpeg(), "image/jpeg")}
        )
        return int(grown.text.split('name="q0-picture" value="')[1].split('"')[0])

    abandoned, kept, taken_off = chosen(), chosen(), chosen()
    made = []
    for picture in (kept, taken_off):
        fields = quiz_form(teacher, "看图", [QUESTION], attempts=1)
        fields["q0-picture"] = str(picture)
        saved = teacher.post(f"/teach/{class_id}/quizzes", data=fields)
        assert saved.status_code == 303
        made.append(int(saved.headers["location"].rsplit("/", 1)[1]))
    with_kept, with_taken_off = made
    fields = quiz_form(teacher, "看图", [QUESTION], attempts=1)
    fields.update({"q0-picture": str(taken_off), "q0-picture-remove": "1"})
    assert teacher.post(f"/teach/quizzes/{with_taken_off}/edit", data=fields).status_code == 303
    files = {
        p: kit.paths.uploads_dir / quiz_pictures.FOLDER / kit.quizzes.picture(p)["stored_name"]
        for p in (abandoned, kept, taken_off)
    }

    assert quiz_pictures.forget_unused(kit, class_id) == 0  # the day not over yet: a form may still name them
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=quiz_pictures.UNUSED_KEPT_S + 60)
    lesson_edits.delete_quiz(kit, kit.people.person(ids["a"]["teacher"]), with_kept)  # its attempts still shown
    assert quiz_pictures.forget_unused(kit, class_id, now=later) == 2
    assert kit.quizzes.picture(kept) is not None and files[kept].is_file()
    for gone in (abandoned, taken_off):
        assert kit.quizzes.picture(gone) is None and not files[gone].exists()
