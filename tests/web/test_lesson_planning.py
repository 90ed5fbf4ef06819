"""Lessons as a teacher plans them (issue 16): drafts and a publish time in the kit's zone, copies to another class,
quizzes inside a lesson, and the lesson's library search (full text, a redirect listed once). Real kit, uvicorn,
sessions, CSRF; the clock is passed in (no sleeps)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from appliance.content.zimwriter import Entry, write_zim
from appliance.errors import NotVisibleError
from appliance.services.learning import lesson_library, lessons, publishing
from appliance.services.library import demo_books
from appliance.storage.database import Database
from tests.conftest import article
from tests.web.lesson_data import PDF, hand_in, make_lesson
from tests.web.people_clients import csrf, role_clients
from tests.web.quiz_data import create_quiz

UTC = dt.timezone.utc


def _make(teacher, class_id: int, title: str, **publish) -> int:
    """A lesson made through the new-lesson form with the publish choice as given."""
    data = {"csrf": csrf(teacher), "title": title, "instructions": "", "due": "", "homework": "1", **publish}
    response = teacher.post(f"/teach/{class_id}/lessons", data=data)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def test_lesson_planning_a_draft_is_invisible_to_children_until_published(kit, live):
    clients, ids = role_clients(kit, live.url)
    teacher, student = clients["teacher_a"], clients["student_a"]
    class_id = ids["a"]["class"]
    draft = _make(teacher, class_id, "Draft lesson", publish="draft")
    assert "Draft lesson" not in student.get("/me").text
    assert student.get(f"/me/lessons/{draft}").status_code == 404
    assert hand_in(student, draft, "early").status_code == 404
    page = teacher.get(f"/teach/{class_id}").text
    assert re.search(r'Draft lesson</a> <span class="count"><span class="state-draft">Draft</span>', page)
    overview = teacher.get(f"/teach/{class_id}/overview").text
    assert "Draft lesson" not in overview  # a draft asks nothing of children: not in who is behind
    published = teacher.post(f"/teach/lessons/{draft}/publish", data={"csrf": csrf(teacher), "publish": "now"})
    assert published.status_code == 303
    assert "Draft lesson" in student.get("/me").text and student.get(f"/me/lessons/{draft}").status_code == 200
    assert "Published" in teacher.get(f"/teach/lessons/{draft}").text
    back = teacher.post(f"/teach/lessons/{draft}/publish", data={"csrf": csrf(teacher), "publish": "draft"})
    assert back.status_code == 303 and student.get(f"/me/lessons/{draft}").status_code == 404
    for http in clients.values():
        http.close()


def test_lesson_planning_a_scheduled_lesson_appears_at_its_time_in_the_kit_zone(kit, live):
    clients, ids = role_clients(kit, live.url)
    teacher = clients["teacher_a"]
    class_id, student_id = ids["a"]["class"], ids["a"]["students"][0]
    later = {"publish": "later", "publish_day": "2030-01-08", "publish_time": "08:00"}
    lesson_id = _make(teacher, class_id, "Scheduled", **later)
    row = kit.lessons.lesson(lesson_id)
    assert row["publish_at"] == "2030-01-08T00:00:00Z"  # 08:00 in Asia/Shanghai (UTC+8), the default zone
    assert publishing.state(row, dt.datetime(2030, 1, 7, 23, 59, 59, tzinfo=UTC)) == "scheduled"
    assert publishing.state(row, dt.datetime(2030, 1, 8, 0, 0, tzinfo=UTC)) == "published"
    page = teacher.get(f"/teach/lessons/{lesson_id}").text
    assert "Publishes 8 Jan 2030 08:00" in page and 'value="2030-01-08"' in page
    zh = teacher.get(f"/teach/{class_id}", headers={"Accept-Language": "zh-CN"}).text
    assert "定时发布 2030年1月8日 08:00" in zh

    student = kit.people.person(student_id)
    before, after = "2030-01-07T23:59:59Z", "2030-01-08T00:00:00Z"
    assert [r["id"] for r in kit.lessons.for_student(student_id, before)] == []
    assert [r["id"] for r in kit.lessons.for_student(student_id, after)] == [lesson_id]
    with pytest.raises(NotVisibleError):
        lessons.student_lesson(kit.lessons, student, lesson_id, before)
    assert lessons.student_lesson(kit.lessons, student, lesson_id, after)["id"] == lesson_id
    teacher_row = kit.people.person(ids["a"]["teacher"])
    for now, count, behind in ((before, 0, 0), (after, 1, 1)):
        table = lessons.overview(kit, teacher_row, class_id, now=now)
        assert len(table["lessons"]) == count and table["behind"][student_id] == behind
    reading = lessons.create(
        kit.people, kit.lessons, teacher_row, class_id, "Read", "", False, "", [], publish_at="2030-01-08T00:00:00Z"
    )
    at_eight = dt.datetime(2030, 1, 8, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    space = lessons.my_space(kit, student, when=at_eight)
    assert [e["lesson"]["id"] for e in space["due"]] == [lesson_id]
    assert [e["lesson"]["id"] for e in space["new"]] == [reading]  # new from its publish time, not when drafted
    assert clients["student_a"].get(f"/me/lessons/{lesson_id}").status_code == 404  # not yet, today

    refused = teacher.post(
        f"/teach/lessons/{lesson_id}/publish",
        data={"csrf": csrf(teacher), "publish": "later", "publish_day": "2030-01-08", "publish_time": "25:00"},
        headers={"Accept-Language": "zh-CN"},
    )
    assert refused.status_code == 400 and 'id="publish_time-error"' in refused.text
    assert 'value="25:00"' in refused.text and "这不是时间" in refused.text
    for http in clients.values():
        http.close()


def test_lesson_planning_lessons_made_before_drafts_are_published(tmp_path):
    db = Database(tmp_path / "before-0028.sqlite3")
    db.migrate(upto=22)
    with db.write() as conn:  # a kit before 0028: a class, a lesson with an item
        conn.execute("INSERT INTO classes (name) VALUES ('Class 3')")
        conn.execute("INSERT INTO lessons (class_id, title, created_at) VALUES (1, 'Old', '2026-03-01 09:30')")
        conn.execute("INSERT INTO lesson_items (lesson_id, kind, title, book) VALUES (1, 'book', 'A book', 'b')")
    db.migrate()
    lesson = db.read().execute("SELECT publish_at FROM lessons").fetchone()
    assert lesson["publish_at"] is not None and lesson["publish_at"].startswith("2026-03-01")
    item = db.read().execute("SELECT id, kind, quiz_id FROM lesson_items").fetchone()
    assert tuple(item) == (1, "book", None)
    db.close()


def test_lesson_planning_copy_a_lesson_with_its_upload_and_quiz_to_another_class(kit, live):
    clients, ids = role_clients(kit, live.url)
    teacher = clients["teacher_a"]
    a, b = ids["a"]["class"], ids["b"]["class"]
    with kit.people.transaction() as conn:  # teacher A also teaches class B
        kit.people.add_teacher(conn, b, ids["a"]["teacher"])
    lesson_id = make_lesson(teacher, a, "Plants", due="2099-01-31")
    teacher.post(
        f"/teach/lessons/{lesson_id}/items", data={"csrf": csrf(teacher), "book": "test_book", "path": "water"}
    )
    teacher.post(
        f"/teach/lessons/{lesson_id}/uploads",
        data={"csrf": csrf(teacher), "title": "Worksheet"},
        files={"file": ("sheet.pdf", PDF, "application/pdf")},
    )
    quiz_id = create_quiz(teacher, a, "Plant quiz")
    assert (
        teacher.post(f"/teach/lessons/{lesson_id}/quizzes", data={"csrf": csrf(teacher), "quiz": quiz_id}).status_code
        == 303
    )
    form = teacher.get(f"/teach/lessons/{lesson_id}/copy").text
    assert f'name="class" value="{b}"' in form
    copied = teacher.post(f"/teach/lessons/{lesson_id}/copy", data={"csrf": csrf(teacher), "class": str(b)})
    assert copied.status_code == 303 and copied.headers["location"].endswith("?notice=copied_with_quizzes")
    new_id = int(re.search(r"/teach/lessons/(\d+)", copied.headers["location"])[1])
    new = kit.lessons.lesson(new_id)
    assert (new["class_id"], new["title"], new["publish_at"], new["due_at"]) == (b, "Plants", None, "2099-01-31 23:59")
    old_items, new_items = kit.lessons.items(lesson_id), kit.lessons.items(new_id)
    assert [(i["kind"], i["title"]) for i in new_items] == [(i["kind"], i["title"]) for i in old_items]
    old_file, new_file = (next(i for i in items if i["kind"] == "upload") for items in (old_items, new_items))
    assert new_file["stored_name"] != old_file["stored_name"]
    assert (kit.paths.uploads_dir / "lessons" / new_file["stored_name"]).read_bytes() == PDF
    new_quiz = kit.quizzes.quiz(next(i["quiz_id"] for i in new_items if i["kind"] == "quiz"))
    assert new_quiz["class_id"] == b and new_quiz["id"] != quiz_id
    assert kit.quizzes.questions(new_quiz["id"]) == kit.quizzes.questions(quiz_id)
    page = teacher.get(copied.headers["location"]).text
    assert "Copied. The copy is a draft" in page and "Draft" in page
    # removing the copy's file leaves the original's
    teacher.post(f"/teach/lessons/{new_id}/items/{new_file['id']}/remove", data={"csrf": csrf(teacher)})
    assert (kit.paths.uploads_dir / "lessons" / old_file["stored_name"]).read_bytes() == PDF
    # a class the teacher does not teach looks absent; so does copying for a teacher of another class
    assert (
        teacher.post(f"/teach/lessons/{lesson_id}/copy", data={"csrf": csrf(teacher), "class": "999"}).status_code
        == 404
    )
    outsider = clients["teacher_b"]
    assert (
        outsider.post(f"/teach/lessons/{lesson_id}/copy", data={"csrf": csrf(outsider), "class": str(b)}).status_code
        == 404
    )
    for http in clients.values():
        http.close()


def test_lesson_planning_copy_a_quiz_to_another_class(kit, live):
    clients, ids = role_clients(kit, live.url)
    teacher = clients["teacher_a"]
    a, b = ids["a"]["class"], ids["b"]["class"]
    with kit.people.transaction() as conn:
        kit.people.add_teacher(conn, b, ids["a"]["teacher"])
    quiz_id = create_quiz(teacher, a, "Water quiz")
    assert f'href="/teach/quizzes/{quiz_id}/copy"' in teacher.get(f"/teach/quizzes/{quiz_id}").text
    copied = teacher.post(f"/teach/quizzes/{quiz_id}/copy", data={"csrf": csrf(teacher), "class": str(b)})
    assert copied.status_code == 303
    new_id = int(copied.headers["location"].rsplit("/", 1)[1])
    new = kit.quizzes.quiz(new_id)
    assert (new["class_id"], new["title"], new["author_id"]) == (b, "Water quiz", ids["a"]["teacher"])
    assert kit.quizzes.questions(new_id) == kit.quizzes.questions(quiz_id)
    assert "Water quiz" in clients["student_b"].get("/me").text
    for http in clients.values():
        http.close()


def test_lesson_planning_a_quiz_inside_a_lesson(kit, live):
    clients, ids = role_clients(kit, live.url)
    teacher, student = clients["teacher_a"], clients["student_a"]
    a, b = ids["a"]["class"], ids["b"]["class"]
    lesson_id = make_lesson(teacher, a, "Rain")
    quiz_id = create_quiz(teacher, a, "Rain quiz")
    page = teacher.get(f"/teach/lessons/{lesson_id}").text
    assert f'<option value="{quiz_id}">Rain quiz</option>' in page
    added = teacher.post(f"/teach/lessons/{lesson_id}/quizzes", data={"csrf": csrf(teacher), "quiz": quiz_id})
    assert added.status_code == 303
    page = teacher.get(f"/teach/lessons/{lesson_id}").text
    assert f'<a href="/teach/quizzes/{quiz_id}">Rain quiz</a> <span class="count">quiz' in page
    assert (
        f'<option value="{quiz_id}">Rain quiz</option>' not in page
    )  # offered once (the page's other lists have numbers too)
    mine = student.get(f"/me/lessons/{lesson_id}").text
    [item_id] = re.findall(rf'href="/me/lessons/{lesson_id}/items/(\d+)">Rain quiz<', mine)
    opened = student.get(f"/me/lessons/{lesson_id}/items/{item_id}")
    assert opened.status_code == 303 and opened.headers["location"] == f"/me/quizzes/{quiz_id}"
    assert student.get(opened.headers["location"]).status_code == 200
    other = create_quiz(clients["teacher_b"], b, "Other class quiz")
    refused = teacher.post(f"/teach/lessons/{lesson_id}/quizzes", data={"csrf": csrf(teacher), "quiz": other})
    assert refused.status_code == 404 and [i["kind"] for i in kit.lessons.items(lesson_id)] == ["quiz"]
    teacher.post(f"/teach/quizzes/{quiz_id}/delete", data={"csrf": csrf(teacher)})
    assert "Rain quiz" not in student.get(f"/me/lessons/{lesson_id}").text  # a deleted quiz leaves the lesson's page
    assert (
        '<s>Rain quiz</s> <span class="count">deleted: children no longer see it'
        in teacher.get(f"/teach/lessons/{lesson_id}").text
    )
    for http in clients.values():
        http.close()


@pytest.fixture
def zh_library(kit, content_dir):
    """The demo books and a Chinese book with a redirect ("光合" → the article 光合作用), made with libzim's writer."""
    demo_books.build(content_dir)
    body = "<p>叶子利用阳光把二氧化碳和水变成糖，放出氧气。这叫光合作用。</p>" * 3
    write_zim(
        content_dir / "zh_plants.zim",
        metadata={
            "Title": "植物小书",
            "Language": "zho",
            "Name": "zh_plants",
            "Description": "植物",
            "Creator": "t",
            "Publisher": "t",
            "Date": "2026-01-02",
        },
        main_path="guanghe_zuoyong",
        entries=[Entry("guanghe_zuoyong", "光合作用", "text/html", article("光合作用", body, "zh"), front=True)],
        redirects=[("guanghe", "光合作用（植物）", "guanghe_zuoyong")],
        index_language="zho",
    )
    library = kit.load_library()
    library.refresh()
    return library


def test_lesson_planning_library_search_is_full_text_and_lists_a_redirect_once(kit, zh_library):
    books, found = lesson_library.find(zh_library, "光合作用", 10)
    places = [(f.book.name, f.path) for f in found]
    assert ("tpkit_demo_zh", "zhiwu") in places  # "植物和阳光": the word is in its text, not its title
    assert places.count(("zh_plants", "guanghe_zuoyong")) == 1 and ("zh_plants", "guanghe") not in places
    assert len(places) == len(set(places))
    hit = next(f for f in found if f.path == "zhiwu")
    assert hit.title == "植物和阳光" and any(bold and "光合作用" in text for text, bold in hit.snippet)
    assert [b.name for b in lesson_library.find(zh_library, "植物小", 10)[0]] == ["zh_plants"]


def test_lesson_planning_library_search_on_the_lesson_page(kit, zh_library, live):
    clients, ids = role_clients(kit, live.url)
    teacher = clients["teacher_a"]
    lesson_id = make_lesson(teacher, ids["a"]["class"], "光合作用")
    page = teacher.get(f"/teach/lessons/{lesson_id}", params={"q": "光合作用"}).text
    assert 'name="book" value="tpkit_demo_zh"><input type="hidden" name="path" value="zhiwu">' in page
    assert page.count('name="path" value="guanghe_zuoyong"') == 1 and 'value="guanghe"' not in page
    assert "<b>光合作用</b>" in page
    for http in clients.values():
        http.close()


def test_lesson_planning_a_refused_new_lesson_keeps_its_publish_choice(kit, live):
    clients, ids = role_clients(kit, live.url)
    teacher, class_id = clients["teacher_a"], ids["a"]["class"]
    later = {"publish": "later", "publish_day": "2030-02-30", "publish_time": "07:30"}
    data = {"csrf": csrf(teacher), "title": "Bees", "instructions": "Read", "due": "", **later}
    refused = teacher.post(f"/teach/{class_id}/lessons", data=data, headers={"Accept-Language": "zh-CN"})
    assert refused.status_code == 400 and 'id="publish_day-error"' in refused.text and "这不是日期" in refused.text
    assert 'value="later" checked' in refused.text and 'value="2030-02-30"' in refused.text
    assert 'value="07:30"' in refused.text and 'value="Bees"' in refused.text
    assert kit.lessons.of_class(class_id) == []
    fresh = teacher.get(f"/teach/{class_id}/lessons/new").text
    assert 'value="draft" checked' in fresh  # a new lesson starts as a draft
    for http in clients.values():
        http.close()


def test_lesson_planning_only_the_lessons_teacher_publishes_it(kit, live):
    clients, ids = role_clients(kit, live.url)
    teacher, colleague = clients["teacher_a"], clients["teacher_b"]
    with kit.people.transaction() as conn:  # teacher B also teaches class A
        kit.people.add_teacher(conn, ids["a"]["class"], ids["b"]["teacher"])
    lesson_id = _make(teacher, ids["a"]["class"], "Mine", publish="draft")
    refused = colleague.post(f"/teach/lessons/{lesson_id}/publish", data={"csrf": csrf(colleague), "publish": "now"})
    assert refused.status_code == 403 and 'class="error" role="alert"' in refused.text
    assert "teacher who made" in refused.text
    assert kit.lessons.lesson(lesson_id)["publish_at"] is None
    for http in clients.values():
        http.close()
