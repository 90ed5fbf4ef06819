"""Bookmarks, notes and reading history on My space over real HTTP: plain form posts, each student only ever sees
their own, length limits, escaping, CSRF, and articles opened from the library listed from the learning records."""

from __future__ import annotations

import time

from tests.web.lesson_data import make_lesson
from tests.web.people_clients import csrf
from tests.web.quiz_data import HOSTILE


def _wait_for_records(kit, count: int) -> None:
    deadline = time.monotonic() + 20
    while True:
        kit.open_batch.flush()  # an article's record waits in the worker's batch (services/learning/open_batch.py)
        if kit.db.read().execute("SELECT count(*) FROM learning_records").fetchone()[0] >= count:
            return
        assert time.monotonic() < deadline, "the opened-article records were not written"
        time.sleep(0.05)


def _bookmark(http, book: str, path: str, action: str = "add", **extra):
    return http.post("/me/bookmarks", data={"csrf": csrf(http), "book": book, "path": path, "action": action, **extra})


def test_notebook_bookmark_from_article_page_follows_redirect_and_lists(kit, roles):
    clients, _ = roles
    student = clients["student_a"]
    page = student.get("/me/article", params={"book": "test_book", "path": "water"})
    assert page.status_code == 200 and "Water cycle" in page.text and 'value="add"' in page.text
    done = _bookmark(student, "test_book", "old_water")  # a redirect is kept as the article itself
    assert done.status_code == 303 and "notice=bookmarked" in done.headers["location"]
    assert "path=water" in done.headers["location"]
    again = student.get(done.headers["location"])
    assert "Bookmarked. It is on My space." in again.text and 'value="remove"' in again.text
    assert _bookmark(student, "test_book", "water").status_code == 303  # twice: still one bookmark
    me = student.get("/me").text
    assert me.count('href="/content/test_book/water">Water cycle</a>') >= 1 and "My bookmarks" in me
    assert kit.db.read().execute("SELECT count(*) FROM bookmarks").fetchone()[0] == 1
    removed = _bookmark(student, "test_book", "water", action="remove")
    assert removed.status_code == 303 and "My bookmarks" not in student.get("/me").text


def test_notebook_refuses_missing_articles_other_roles_and_stale_forms(kit, roles):
    clients, _ = roles
    student = clients["student_a"]
    assert _bookmark(student, "test_book", "no_such_page").status_code == 404
    assert _bookmark(student, "no_such_book", "water").status_code == 404
    assert (
        student.post("/me/bookmarks", data={"csrf": "stale", "book": "test_book", "path": "water"}).status_code == 403
    )
    assert _bookmark(clients["anonymous"], "test_book", "water").status_code == 401
    assert _bookmark(clients["teacher_a"], "test_book", "water").status_code == 403
    assert clients["anonymous"].get("/me/article?book=test_book&path=water").status_code == 303
    assert kit.db.read().execute("SELECT count(*) FROM bookmarks").fetchone()[0] == 0


def test_notebook_notes_are_private_limited_and_escaped(kit, roles):
    clients, ids = roles
    mine, other = clients["student_a"], clients["student_b"]
    text = f"Clouds are water {HOSTILE}\nsecond line"
    saved = mine.post("/me/notes", data={"csrf": csrf(mine), "book": "test_book", "path": "water", "body": text})
    assert saved.status_code == 303 and "notice=note_saved" in saved.headers["location"]
    page = mine.get(saved.headers["location"]).text
    assert HOSTILE not in page and "Clouds are water &lt;script&gt;" in page
    me = mine.get("/me").text
    assert "My notes" in me and "Clouds are water &lt;script&gt;" in me and HOSTILE not in me
    _bookmark(mine, "test_book", "water")
    # another student: the same article shows neither the note nor the bookmark, My space lists none
    theirs = other.get("/me/article", params={"book": "test_book", "path": "water"}).text
    assert "Clouds are water" not in theirs and 'value="add"' in theirs
    other_me = other.get("/me").text
    assert "Clouds are water" not in other_me and "My bookmarks" not in other_me and "My notes" not in other_me
    too_long = mine.post(
        "/me/notes", data={"csrf": csrf(mine), "book": "test_book", "path": "water", "body": "x" * 2001}
    )
    assert too_long.status_code == 400 and "at most 2000" in too_long.text
    emptied = mine.post("/me/notes", data={"csrf": csrf(mine), "book": "test_book", "path": "water", "body": " "})
    assert emptied.status_code == 303 and "My notes" not in mine.get("/me").text


def test_notebook_lesson_note_and_bookmark_from_lesson_page(kit, roles):
    clients, ids = roles
    teacher, student = clients["teacher_a"], clients["student_a"]
    lesson_id = make_lesson(teacher, ids["a"]["class"], "Water")
    teacher.post(
        f"/teach/lessons/{lesson_id}/items", data={"csrf": csrf(teacher), "book": "test_book", "path": "water"}
    )
    page = student.get(f"/me/lessons/{lesson_id}").text
    assert 'action="/me/bookmarks"' in page and f'name="back" value="/me/lessons/{lesson_id}"' in page
    done = _bookmark(student, "test_book", "water", back=f"/me/lessons/{lesson_id}")
    assert done.headers["location"] == f"/me/lessons/{lesson_id}?notice=bookmarked"
    assert "Remove bookmark" in student.get(done.headers["location"]).text
    elsewhere = _bookmark(student, "test_book", "water", back="https://evil.example/")
    assert elsewhere.headers["location"].startswith("/me/article?")
    note = student.post("/me/notes", data={"csrf": csrf(student), "lesson": str(lesson_id), "body": "Ask about fog"})
    assert note.status_code == 303 and "Ask about fog" in student.get(f"/me/lessons/{lesson_id}").text
    assert f'href="/me/lessons/{lesson_id}#note">Water</a>' in student.get("/me").text
    # a lesson of another class cannot carry this student's note
    foreign = make_lesson(clients["teacher_b"], ids["b"]["class"], "Not yours")
    refused = student.post("/me/notes", data={"csrf": csrf(student), "lesson": str(foreign), "body": "hi"})
    assert refused.status_code == 404
    assert clients["student_b"].get(f"/me/lessons/{foreign}").text.count("Ask about fog") == 0


def test_notebook_history_lists_articles_opened_from_the_library(kit, roles):
    clients, _ = roles
    student = clients["student_a"]
    assert student.get("/content/test_book/water").status_code == 200
    _wait_for_records(kit, 1)  # so the next open is surely the newer one
    assert student.get("/content/test_book/index").status_code == 200
    assert clients["student_b"].get("/content/test_book/index").status_code == 200
    assert clients["anonymous"].get("/content/test_book/water").status_code == 200
    _wait_for_records(kit, 3)  # each record is written after its page went out (content_routes)
    me = student.get("/me").text
    read = me.split('id="history"')[1].split("</ul>")[0]
    assert 'href="/content/test_book/water">Water cycle</a>' in read and ">Welcome</a>" in read
    assert read.index("Welcome") < read.index("Water cycle")  # newest first
    assert read.count("Water cycle") == 1
    b_read = clients["student_b"].get("/me").text.split('id="history"')[1].split("</ul>")[0]
    assert "Welcome" in b_read and "Water cycle" not in b_read


def test_notebook_one_history_newest_first_each_article_once(kit, roles):
    """My space's one history (issue 16): lessons, their items and library reads in one list, newest first; an article
    opened from a lesson is listed once, with its lesson."""
    clients, ids = roles
    teacher, student = clients["teacher_a"], clients["student_a"]
    lesson_id = make_lesson(teacher, ids["a"]["class"], "Clouds")
    teacher.post(
        f"/teach/lessons/{lesson_id}/items", data={"csrf": csrf(teacher), "book": "test_book", "path": "water"}
    )
    item_id = kit.lessons.items(lesson_id)[0]["id"]
    assert student.get(f"/me/lessons/{lesson_id}/items/{item_id}").status_code == 200
    assert student.get("/content/test_book/water").status_code == 200  # what the kit bar's frame loads
    _wait_for_records(kit, 1)
    time.sleep(0.3)  # any late record of the framed article
    with kit.db.transaction() as conn:  # what was opened so far, years ago: the library read below is surely newer
        conn.execute("UPDATE lesson_opens SET last_at = '2000-01-01 00:00:00'")
        conn.execute("UPDATE learning_records SET created_at = '2000-01-01T00:00:00Z'")
    assert student.get("/content/test_book/index").status_code == 200
    _wait_for_records(kit, 2)
    me = student.get("/me").text
    assert 'id="read"' not in me  # no second list
    history = me.split('id="history"')[1].split("</ul>")[0]
    assert (
        history.count("Water cycle") == 1 and f'href="/me/lessons/{lesson_id}/items/{item_id}">Water cycle' in history
    )
    assert history.index(">Welcome</a>") < history.index("Water cycle")  # newest first
    assert "Clouds" in history.split("Water cycle")[1]  # listed with its lesson


def test_notebook_lesson_cards_show_progress(kit, roles):
    clients, ids = roles
    teacher, student = clients["teacher_a"], clients["student_a"]
    lesson_id = make_lesson(teacher, ids["a"]["class"], "Rain")
    for path in ("water", "index"):
        teacher.post(
            f"/teach/lessons/{lesson_id}/items", data={"csrf": csrf(teacher), "book": "test_book", "path": path}
        )
    card = lambda: student.get("/me?lang=zh").text.split('<li class="lesson-card">')[1].split("</li>")[0]  # noqa: E731
    assert "看了 0/2" in card() and "作业还没交" in card()
    student.get(f"/me/lessons/{lesson_id}/items/{kit.lessons.items(lesson_id)[0]['id']}")
    assert "看了 1/2" in card()
    student.post(f"/me/lessons/{lesson_id}/handin", data={"csrf": csrf(student), "body": "done"})
    assert "看了 1/2" in card() and "作业已交" in card()
