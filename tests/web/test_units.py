""" "按课本找" over HTTP (issue 17 §2): the drill-down with plain links, a unit's books and items, adding them to a
lesson (who may), and a lesson's place in the textbook. Real kit, uvicorn, sessions and CSRF; textbook books written
with libzim's writer (tests/textbook_books)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import make_book
from tests.textbook_books import curriculum, item, textbook_book
from tests.web.lesson_data import make_lesson
from tests.web.people_clients import csrf

UNIT_2 = "/units?edition=rjb&grade=3&volume=1&subject=math&unit=2"
ITEMS = [
    item("u2/l1-video.html", "两位数加两位数（名师课堂）", 2, 1, kind="video", bytes=18874368, seconds=312),
    item("u2/sheet.html", "第二单元练习", 2),
    item("u3/l1.html", "三位数加法", 3, 1),
]


@pytest.fixture
def book(content_dir):
    """The textbook book (with a map naming unit 2) and an ordinary book beside it."""
    make_book(content_dir, "test_book")
    return textbook_book(
        content_dir, "math3a", items=ITEMS, curriculum_map=curriculum({2: "万以内的加法和减法（一）"}, {2: {1: "口算"}})
    )


def _links(html: str) -> list[str]:
    main = html.split("<main", 1)[1]
    return [link.replace("&amp;", "&") for link in re.findall(r'href="(/units\?[^"]+)"', main)]


def test_units_drill_down_with_plain_links_offers_only_what_is_there(client):
    home = client.get("/?lang=zh").text
    assert '<a class="button" href="/units">按课本找</a>' in home
    page = client.get("/units?lang=zh").text
    assert _links(page) == ["/units?edition=rjb"] and "人教版" in page and "北师大版" not in page
    page = client.get("/units?edition=rjb&lang=zh").text
    assert "/units?edition=rjb&grade=3&volume=1" in _links(page) and "三年级上册" in page
    page = client.get("/units?edition=rjb&grade=3&volume=1&lang=zh").text
    assert "/units?edition=rjb&grade=3&volume=1&subject=math" in _links(page) and ">数学</a>" in page
    page = client.get("/units?edition=rjb&grade=3&volume=1&subject=math&lang=zh").text
    assert {UNIT_2, UNIT_2[:-1] + "3"} <= set(_links(page))
    assert "第2单元 万以内的加法和减法（一）" in page and "第3单元</a>" in page
    unit = client.get(UNIT_2 + "&lang=zh").text
    assert '<a href="/content/math3a/">三年级数学上册</a>' in unit  # the book tagged with unit 2
    assert unit.index("整个单元") < unit.index("第二单元练习") < unit.index("第1课 口算") < unit.index("两位数加两位数")
    assert "视频 · 18.0 MB · 6 分钟" in unit and "三位数加法" not in unit
    assert "/teach/units/add" not in unit  # no add form for a visitor
    assert client.get("/content/math3a/u2/l1-video.html").status_code == 200  # the item's link is served
    english = client.get(UNIT_2 + "&lang=en").text
    assert "Unit 2 Unit 2 (map)" in english and "PEP edition · Grade 3, Book 1 · Mathematics" in english


def test_units_unknown_levels_fall_back_to_the_last_one_that_holds_something(client):
    page = client.get("/units?edition=rjb&grade=3&volume=2&subject=math&unit=2&lang=zh").text
    assert "<h1>人教版</h1>" in page and "/units?edition=rjb&grade=3&volume=1" in _links(page)
    assert client.get("/units?edition=../../etc&grade=x").status_code == 200


def test_units_teacher_adds_an_item_and_a_book_to_their_lesson(kit, roles):
    clients, ids = roles
    teacher = clients["teacher_a"]
    lesson_id = make_lesson(teacher, ids["a"]["class"], "Adding two-digit numbers")
    unit = teacher.get(UNIT_2 + "&lang=en").text
    assert f'<option value="{lesson_id}">Adding two-digit numbers</option>' in unit
    form = {"csrf": csrf(teacher), "edition": "rjb", "grade": "3", "volume": "1", "subject": "math", "unit": "2"}
    sent = teacher.post(
        "/teach/units/add", data=form | {"to": str(lesson_id), "book": "math3a", "path": "u2/sheet.html"}
    )
    assert sent.status_code == 303 and sent.headers["location"] == f"{UNIT_2}&added={lesson_id}#added"
    assert teacher.post("/teach/units/add", data=form | {"to": str(lesson_id), "book": "math3a"}).status_code == 303
    assert [(i["kind"], i["title"], i["path"]) for i in kit.lessons.items(lesson_id)] == [
        ("article", "第二单元练习", "u2/sheet.html"),
        ("book", "三年级数学上册", ""),
    ]
    assert "Added to the lesson." in teacher.get(sent.headers["location"]).text


def test_units_a_child_cannot_add_and_a_teacher_only_to_their_own_class(kit, roles):
    clients, ids = roles
    lesson_id = make_lesson(clients["teacher_a"], ids["a"]["class"], "Mine")
    base = {"edition": "rjb", "grade": "3", "volume": "1", "subject": "math", "unit": "2"}
    add = base | {"to": str(lesson_id), "book": "math3a", "path": "u2/sheet.html"}
    assert "/teach/units/add" not in clients["student_a"].get(UNIT_2).text
    for who, status in (("student_a", 403), ("teacher_b", 404), ("anonymous", 401)):
        http = clients[who]
        assert http.post("/teach/units/add", data=add | {"csrf": csrf(http)}).status_code == status, who
    assert clients["teacher_b"].get(f"{UNIT_2}&lesson={lesson_id}").status_code == 404  # not "add to <their lesson>"
    assert kit.lessons.items(lesson_id) == []
    for hostile in ("9" * 40, "²", "-1"):  # not a lesson: the page without "add to", never a server error
        assert clients["teacher_a"].get(f"{UNIT_2}&lesson={hostile}&added={hostile}").status_code == 200
        sent = clients["teacher_a"].post(
            "/teach/units/add", data=add | {"to": hostile, "csrf": csrf(clients["teacher_a"])}
        )
        assert sent.status_code == 400 and "Choose one of your lessons" in sent.text


def test_units_reached_from_the_lesson_page_adds_to_that_lesson_in_one_tap(kit, roles):
    clients, ids = roles
    teacher = clients["teacher_a"]
    lesson_id = make_lesson(teacher, ids["a"]["class"], "口算练习")
    page = teacher.get(f"/teach/lessons/{lesson_id}?lang=zh").text
    assert f'href="/units?lesson={lesson_id}">按课本找</a>' in page
    for link in _links(teacher.get(f"/units?lesson={lesson_id}").text)[1:]:
        assert link.endswith(f"&lesson={lesson_id}")  # every level keeps the lesson
    unit = teacher.get(f"{UNIT_2}&lesson={lesson_id}&lang=zh").text
    assert "正在为《口算练习》这节课找资源。" in unit and "添加到《口算练习》" in unit and "<select" not in unit
    form = re.search(r'<form class="add-to".*?</form>', unit.split("两位数加两位数")[1], re.S).group(0)
    data = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
    sent = teacher.post("/teach/units/add", data=data)
    assert sent.status_code == 303 and f"lesson={lesson_id}" in sent.headers["location"]
    assert [i["path"] for i in kit.lessons.items(lesson_id)] == ["u2/l1-video.html"]


PLACE = {"pos_edition": "rjb", "pos_grade": "3", "pos_volume": "1", "pos_subject": "math", "pos_unit": "2"}


def _place(teacher, lesson_id: int, **chosen: str):
    """The lesson page's place form sent: PLACE with `chosen` instead."""
    return teacher.post(f"/teach/lessons/{lesson_id}/position", data=PLACE | chosen | {"csrf": csrf(teacher)})


def test_units_a_lesson_placed_in_a_unit_is_listed_there_for_its_teacher(kit, roles):
    clients, ids = roles
    teacher = clients["teacher_a"]
    lesson_id = make_lesson(teacher, ids["a"]["class"], "Placed lesson")
    assert _place(teacher, lesson_id, pos_lesson="1").status_code == 303
    page = teacher.get(f"/teach/lessons/{lesson_id}?lang=zh").text
    assert "人教版 · 三年级上册 · 数学 · 第2单元 · 第1课" in page
    assert (
        f'href="/units?edition=rjb&amp;grade=3&amp;volume=1&amp;subject=math&amp;unit=2&amp;lesson={lesson_id}"' in page
    )
    assert f'<a href="/teach/lessons/{lesson_id}">Placed lesson</a>' in teacher.get(UNIT_2).text
    assert "Placed lesson" not in clients["teacher_b"].get(UNIT_2).text
    assert "Placed lesson" not in clients["student_a"].get(UNIT_2).text
    copied = teacher.post(
        f"/teach/lessons/{lesson_id}/copy", data={"csrf": csrf(teacher), "class": str(ids["a"]["class"])}
    )
    assert copied.status_code == 303  # a copy keeps the place
    assert teacher.get(UNIT_2).text.count(">Placed lesson</a>") == 2


def test_units_a_refused_place_comes_back_with_what_was_chosen(kit, roles):
    clients, ids = roles
    teacher = clients["teacher_a"]
    lesson_id = make_lesson(teacher, ids["a"]["class"], "Badly placed")
    sent = _place(teacher, lesson_id, pos_unit="100", pos_lesson="")
    assert sent.status_code == 400
    assert 'name="pos_unit" inputmode="numeric" size="3" maxlength="2" value="100"' in sent.text
    assert "unit and lesson are numbers from 1 to 99" in sent.text
    assert kit.lessons.lesson(lesson_id)["pos_edition"] is None
    other = make_lesson(clients["teacher_b"], ids["b"]["class"], "Theirs")
    assert _place(teacher, other).status_code == 404 and kit.lessons.lesson(other)["pos_edition"] is None
