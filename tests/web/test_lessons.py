"""Lessons and homework end to end: a teacher makes a lesson from the library and an upload, a student opens it and
hands in text and a photo, the teacher grades, the student sees the feedback. Real kit, uvicorn, sessions, CSRF."""

from __future__ import annotations

import csv
import io
import re
import time

from appliance.services.learning import handin_photos, lessons
from tests.web.lesson_data import JPEG, PDF, PNG, hand_in, handin_ids, make_lesson
from tests.web.people_clients import csrf, role_clients


def test_lessons_teacher_builds_student_hands_in_teacher_grades(kit, live):
    clients, ids = role_clients(kit, live.url)
    teacher, student = clients["teacher_a"], clients["student_a"]
    a = ids["a"]
    lesson_id = make_lesson(teacher, a["class"], "Water homework", due="2099-01-31")
    page = teacher.get(f"/teach/lessons/{lesson_id}?q=Water")
    # "Water (old)" is a redirect to the water article: listed once, as the article itself (lesson_library)
    assert page.status_code == 200 and page.text.count('name="path" value="water"') == 1
    assert 'value="old_water"' not in page.text
    for data in ({"book": "test_book", "path": "old_water"}, {"book": "test_book"}):
        assert (
            teacher.post(f"/teach/lessons/{lesson_id}/items", data={"csrf": csrf(teacher), **data}).status_code == 303
        )
    upload = teacher.post(
        f"/teach/lessons/{lesson_id}/uploads",
        data={"csrf": csrf(teacher), "title": "Worksheet"},
        files={"file": ("sheet.pdf", PDF, "application/pdf")},
    )
    assert upload.status_code == 303, upload.text
    stored = list((kit.paths.uploads_dir / "lessons").iterdir())
    assert [p.read_bytes() for p in stored] == [PDF]

    me = student.get("/me")
    assert "Water homework" in me.text and "31 Jan 2099 23:59" in me.text and "Opened 0/3" in me.text
    assert "Homework not handed in yet" in me.text
    lesson_page = student.get(f"/me/lessons/{lesson_id}")
    items = re.findall(rf'href="/me/lessons/{lesson_id}/items/(\d+)">([^<]+)<', lesson_page.text)
    assert [title for _, title in items] == ["Water cycle", "Test book", "Worksheet"]
    opened = student.get(f"/me/lessons/{lesson_id}/items/{items[0][0]}")  # under the kit bar (me_read.html)
    assert opened.status_code == 200 and '<iframe class="book" src="/content/test_book/water"' in opened.text
    pdf = student.get(f"/me/lessons/{lesson_id}/items/{items[2][0]}", follow_redirects=True)
    assert pdf.content == PDF and pdf.headers["content-type"] == "application/pdf"
    assert "What I opened" in student.get("/me").text

    done = hand_in(
        student,
        lesson_id,
        "Evaporation <b>then</b> rain",
        [("page1.jpg", JPEG, "image/jpeg"), ("page2.png", PNG, "image/png")],
    )
    assert done.status_code == 303 and done.headers["location"].endswith("notice=handed_in")
    assert handin_photos.wait_idle(30)  # the JPEG made small after the answer (until then: "getting it ready")
    mine = student.get(done.headers["location"]).text
    assert "Evaporation &lt;b&gt;then&lt;/b&gt; rain" in mine and "Handed in" in mine
    photos = re.findall(r'href="(/files/handin/\d+)"', mine)
    served = [student.get(p) for p in photos]  # re-written on the kit without metadata (edges/images)
    assert [r.headers["content-type"] for r in served] == ["image/jpeg", "image/png"]
    assert served[0].content[:3] == JPEG[:3] and served[1].content[:8] == PNG[:8]
    thumbs = [student.get(p) for p in re.findall(r'src="(/files/handin/\d+/thumb)"', mine)]
    assert [r.headers["content-type"] for r in thumbs] == ["image/jpeg", "image/jpeg"]  # the child sees thumbnails

    graded_page = teacher.get(f"/teach/lessons/{lesson_id}").text
    [handin_id] = handin_ids(graded_page)
    response = teacher.post(
        f"/teach/handins/{handin_id}/grade",
        data={"csrf": csrf(teacher), "action": "grade", "score": "8", "out_of": "10", "comment": "Good, add clouds."},
    )
    assert response.status_code == 303
    me = student.get("/me").text
    assert "Came back with feedback" in me and "8/10" in me and "Good, add clouds." in me
    again = hand_in(student, lesson_id, "again")
    assert again.status_code == 400 and "This homework is already graded" in again.text  # beside the form

    overview = teacher.get(f"/teach/{a['class']}/overview").text
    assert "graded 8/10" in overview and "not opened" in overview
    # one of the two students handed in, graded 8/10: the lesson's bars are 50 % and 80 % long, values written
    assert '<rect x="6" y="24" width="132.0" height="10" class="done"/>' in overview
    assert '<rect x="6" y="36" width="211.2" height="10" class="scores"/>' in overview
    assert ">50%</text>" in overview and ">80%</text>" in overview and ">Water homework</text>" in overview
    rows = list(csv.reader(io.StringIO(teacher.get(f"/teach/{a['class']}/overview.csv").text.lstrip("\ufeff"))))
    assert rows[0] == [
        "Name",
        "Student number",
        "Not done",
        "Water homework (state)",
        "Water homework (score)",
        "Water homework (out of)",
        "Water homework (level)",
    ]
    assert sorted(r[2:] for r in rows[1:]) == [["0", "graded", "8", "10", ""], ["1", "not opened", "", "", ""]]
    summary = teacher.get(f"/teach/{a['class']}/students/{a['students'][0]}/summary").text
    assert "Water homework" in summary and "Good, add clouds." in summary
    for http in clients.values():
        http.close()


def test_lessons_return_for_redo_then_late_hand_in(kit, live):
    clients, ids = role_clients(kit, live.url)
    teacher, student = clients["teacher_a"], clients["student_a"]
    lesson_id = make_lesson(teacher, ids["a"]["class"], "Past due", due="2020-01-01")
    assert hand_in(student, lesson_id, "first try").status_code == 303
    [handin_id] = handin_ids(teacher.get(f"/teach/lessons/{lesson_id}").text)
    teacher.post(
        f"/teach/handins/{handin_id}/grade",
        data={"csrf": csrf(teacher), "action": "return", "comment": "Show your working."},
    )
    me = student.get("/me").text
    assert "Homework returned: hand it in again" in me and "Show your working." in me
    assert hand_in(student, lesson_id, "second try").status_code == 303
    page = student.get(f"/me/lessons/{lesson_id}").text
    assert page.index("second try") < page.index("first try") and "late" in page
    overview = teacher.get(f"/teach/{ids['a']['class']}/overview").text
    assert ">late<" in overview
    for http in clients.values():
        http.close()


def test_lessons_opening_records_xapi_statements(kit, live):
    clients, ids = role_clients(kit, live.url)
    teacher, student = clients["teacher_a"], clients["student_a"]
    lesson_id = make_lesson(teacher, ids["a"]["class"], "Records", homework=True)
    before = len(kit.learning_records.since(None))
    student.get(f"/me/lessons/{lesson_id}")
    student.get(f"/me/lessons/{lesson_id}")  # a second open is history, not a second statement
    hand_in(student, lesson_id, "done")
    made = kit.learning_records.since(None)[before:]  # the records store; `tpkit report` hands them to the outbox
    pseudonym = kit.people.person(ids["a"]["students"][0])["pseudonym"]
    assert [s["verb"]["id"].rsplit("/", 1)[1] for s in made] == ["experienced", "submit"]
    assert {s["actor"]["account"]["name"] for s in made} == {pseudonym}
    kinds = [s["object"]["id"].split("/xapi/activities/")[1].split("/")[0] for s in made]
    assert kinds == ["lesson", "homework"] and all(s["object"]["id"].endswith(f"/{lesson_id}") for s in made)
    history = kit.lessons.history(ids["a"]["students"][0])
    assert [h["lesson_title"] for h in history] == ["Records"] and pseudonym
    for http in clients.values():
        http.close()


def test_lessons_progress_chart_coordinates():
    from appliance.web.lesson_routes import chart

    long_name = "植物的光合作用与呼吸作用的比较实验报告（第二课时）"
    drawn = chart([{"title": "a", "done": 0.0, "score": None}, {"title": long_name, "done": 1.0, "score": 0.5}])
    assert [(r["y"], r["done"], r["done_w"], r["score"], r["score_w"]) for r in drawn["rows"]] == [
        (8, 0, 0.0, None, 0.0),
        (50, 100, 264.0, 50, 132.0),
    ]
    assert drawn["rows"][1]["name"] == long_name[:21] + "…" and drawn["rows"][1]["title"] == long_name
    assert drawn["height"] == 8 + 2 * 42 + 22 and [t for _, t in drawn["ticks"]] == [0, 25, 50, 75, 100]
    assert drawn["ticks"][0][0] == 6 and drawn["ticks"][-1][0] == 270
    assert chart([]) is None


def test_lessons_due_dates_parse_or_are_refused():
    assert lessons.parse_due("2026-12-01") == "2026-12-01 23:59"
    assert lessons.parse_due("2026-12-01T08:30") == "2026-12-01 08:30"
    assert lessons.parse_due("") is None
    for bad in ("2026-13-01", "tomorrow", "2026-02-30"):
        try:
            lessons.parse_due(bad)
        except lessons.LessonError as exc:
            assert exc.code == "lesson.due_not_date"
        else:
            raise AssertionError(bad)


def test_lessons_an_article_opened_through_its_item_and_reloaded_is_one_record(kit, live):
    clients, ids = role_clients(kit, live.url)
    teacher, student = clients["teacher_a"], clients["student_a"]
    lesson_id = make_lesson(teacher, ids["a"]["class"], "Read this", homework=False)
    assert (
        teacher.post(
            f"/teach/lessons/{lesson_id}/items", data={"csrf": csrf(teacher), "book": "test_book", "path": "water"}
        ).status_code
        == 303
    )
    [item] = re.findall(rf"/me/lessons/{lesson_id}/items/(\d+)", student.get(f"/me/lessons/{lesson_id}").text)
    for _ in range(2):  # the item's page (recorded), the article it frames (recorded after the page), a reload
        hop = student.get(f"/me/lessons/{lesson_id}/items/{item}")
        framed = re.search(r'<iframe class="book" src="([^"]+)"', hop.text).group(1)  # type: ignore[union-attr]
        assert student.get(framed).status_code == 200
    assert clients["student_b"].get("/content/test_book/water").status_code == 200  # another student: recorded
    article = "/xapi/activities/article/test_book/water"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # /content records after the page was sent: wait for student_b's record
        kit.open_batch.flush()  # an article's record waits in the worker's batch (services/learning/open_batch.py)
        found = [s for s in kit.learning_records.since(None) if s["object"]["id"].endswith(article)]
        if len(found) >= 2:
            break
        time.sleep(0.05)
    time.sleep(0.3)  # and a moment for any late duplicate of student_a's
    kit.open_batch.flush()
    found = [s for s in kit.learning_records.since(None) if s["object"]["id"].endswith(article)]
    names = sorted(s["actor"]["account"]["name"] for s in found)
    assert names == sorted(kit.people.person(ids[c]["students"][0])["pseudonym"] for c in ("a", "b"))
    opened = "SELECT count(*) FROM learning_records WHERE opened_key IS NOT NULL"
    assert kit.db.read().execute(opened).fetchone()[0] == 3  # lesson + article ×2
    for http in clients.values():
        http.close()
