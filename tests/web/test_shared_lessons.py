"""Lessons shared through the county, the kit's side (issue 17 §4, docs/shared-lessons.md), over real HTTP on a real
kit: a teacher shares a lesson with a PDF and a quiz → signed `lesson` and `lesson_file` reports in the outbox that
pass the protocol's checks and give back the file's bytes; delivered to a loopback hub whose reply returns the lesson
→ the comment on the lesson's page; a lesson over the limits refused, nothing queued; a county lessons book
(tests/county_lessons) → its lesson under its unit → copied into a class (who may, what is copied)."""

from __future__ import annotations

import dataclasses
import hashlib
import re

import pytest

from appliance.content.zimwriter import Entry
from appliance.protocol import report_file, shared_lesson
from appliance.services.reporting import delivery, kit_key
from tests.conftest import make_book
from tests.county_lessons import SHARE_ID, county_lessons_book, lesson_body
from tests.hub_double import HubDouble
from tests.photo_data import phone_jpeg
from tests.web.lesson_data import PDF, make_lesson
from tests.web.people_clients import csrf
from tests.web.quiz_data import quiz_form

UNIT_2 = "/units?edition=rjb&grade=3&volume=1&subject=math&unit=2"
# A worksheet of three parts: 2 × 160 KiB and the rest (real first bytes; the kit checks them).
WORKSHEET = PDF + bytes(range(256)) * 1400
QUESTION = {"kind": "true_false", "prompt": "图上的是一只猫。", "tf": "true"}


@pytest.fixture
def hub():
    with HubDouble() as double:
        yield double


@pytest.fixture
def settings(settings, hub):
    """The kit reports to the loopback hub, as a Chinese kit of 某某小学 (its copies name their source in Chinese)."""
    school = {"school_name": "某某小学", "default_language": "zh"}
    return dataclasses.replace(settings, kit_id="kit-0042", hub_url=hub.url, hub_enrol_token="tok-1", **school)


@pytest.fixture
def book(content_dir):
    """An ordinary book and the county's lessons book: one lesson with a PDF, a quiz whose question has a picture, a
    book this kit has and an article of a book it lacks."""
    make_book(content_dir, "test_book")
    picture = phone_jpeg(640, 480)
    items = [
        {"kind": "file", "title": "练习单", "file": 0},
        {
            "kind": "quiz",
            "title": "小测验",
            "pass_mark": 60,
            "attempts_allowed": 2,
            "questions": [
                {"kind": "single", "prompt": "23 + 45 = ?", "options": ["68", "58"], "answer": 0, "points": 1},
                {"kind": "true_false", "prompt": "图上有三个苹果。", "answer": True, "points": 2, "picture_file": 1},
            ],
        },
        {"kind": "book", "title": "Test book", "book": "test_book", "book_title": "Test book"},
        {"kind": "article", "title": "口算", "book": "rjb-math-3a", "path": "u2/l1.html", "book_title": "数学"},
    ]
    files = [("练习单.pdf", "application/pdf", WORKSHEET), ("苹果.jpg", "image/jpeg", picture)]
    body = lesson_body(files, items=items)
    return county_lessons_book(content_dir, [(body, [WORKSHEET, picture])])


def _lesson_with_pdf_and_quiz(kit, clients, ids) -> int:
    """Teacher A's lesson placed in unit 2, with the worksheet and a quiz whose question has a picture."""
    teacher, class_id = clients["teacher_a"], ids["a"]["class"]
    lesson_id = make_lesson(teacher, class_id, "两位数加两位数", homework=False, instructions="先读课文，再做练习。")
    sent = teacher.post(
        f"/teach/lessons/{lesson_id}/uploads",
        data={"csrf": csrf(teacher), "title": "练习单"},
        files={"file": ("练习单.pdf", WORKSHEET, "application/pdf")},
    )
    assert sent.status_code == 303, sent.text
    fields = quiz_form(teacher, "小测验", [(QUESTION, [], [])], attempts=1, action="add")
    grown = teacher.post(
        f"/teach/{class_id}/quizzes",
        data=fields,
        files={"q0-picture-file": ("猫.jpg", phone_jpeg(800, 600), "image/jpeg")},
    )
    fields = quiz_form(teacher, "小测验", [(QUESTION, [], [])], attempts=1)
    fields["q0-picture"] = grown.text.split('name="q0-picture" value="')[1].split('"')[0]
    quiz_id = int(teacher.post(f"/teach/{class_id}/quizzes", data=fields).headers["location"].rsplit("/", 1)[1])
    added = teacher.post(f"/teach/lessons/{lesson_id}/quizzes", data={"csrf": csrf(teacher), "quiz": quiz_id})
    assert added.status_code == 303
    place = {"pos_edition": "rjb", "pos_grade": "3", "pos_volume": "1", "pos_subject": "math", "pos_unit": "2"}
    assert teacher.post(f"/teach/lessons/{lesson_id}/position", data={"csrf": csrf(teacher), **place}).is_redirect
    return lesson_id


def _queued(kit) -> list[report_file.Report]:
    return [report_file.decode(s.payload, "outbox") for s in kit.outbox.all()]


def test_shared_lessons_share_queues_signed_reports_and_shows_what_the_hub_says(kit, roles, hub):
    clients, ids = roles
    teacher = clients["teacher_a"]
    lesson_id = _lesson_with_pdf_and_quiz(kit, clients, ids)
    page = teacher.get(f"/teach/lessons/{lesson_id}/share?lang=zh").text
    assert "要发送的内容" in page and "练习单.pdf" in page and "某某小学" in page and "1 道题" in page
    assert 'value="CC BY 4.0" checked' in page and "任何人都可以使用和修改，要写明你是作者。" in page
    assert (
        teacher.post(f"/teach/lessons/{lesson_id}/share", data={"csrf": csrf(teacher), "licence": "MIT"}).status_code
        == 400
    )
    assert kit.outbox.depth() == 0

    sent = teacher.post(f"/teach/lessons/{lesson_id}/share", data={"csrf": csrf(teacher), "licence": "CC BY-SA 4.0"})
    assert sent.status_code == 303 and sent.headers["location"] == f"/teach/lessons/{lesson_id}?notice=shared#share"
    reports = _queued(kit)
    assert [r.kind for r in reports] == ["lesson"] + ["lesson_file"] * 4  # the worksheet in 3 parts, the picture in 1
    lesson = shared_lesson.check_lesson(reports[0].body)
    assert lesson.version == 1 and lesson.licence == "CC BY-SA 4.0" and lesson.school == "某某小学"
    assert lesson.author == "Teacher A"  # the lesson's teacher, by the name the school gave her
    assert lesson.position == {"edition": "rjb", "grade": 3, "volume": 1, "subject": "math", "unit": 2}
    kinds = [item["kind"] for item in lesson.body["items"]]
    assert kinds == ["file", "quiz"] and lesson.body["items"][1]["questions"][0]["picture_file"] == 1
    parts = [shared_lesson.check_part(r.body) for r in reports[1:]]
    worksheet = b"".join(p.data for p in parts if p.file == 0)
    assert worksheet == WORKSHEET and hashlib.sha256(worksheet).hexdigest() == lesson.files[0].sha256
    assert [p.part for p in parts if p.file == 0] == [0, 1, 2] and lesson.files[0].parts == 3
    assert "等待发送（还有 5 份在待发箱里）" in teacher.get(f"/teach/lessons/{lesson_id}?lang=zh").text

    hub.shares = [  # newest first, as the hub sends them: the older state must not win
        {"share_id": "not-a-uuid", "version": 1, "state": "accepted", "at": "2026-12-07T09:13:00Z"},
        {
            "share_id": lesson.share_id,
            "version": 1,
            "state": "returned",
            "comment": "请补充练习答案。",
            "reviewer": "李老师",
            "at": "2026-12-07T09:12:00Z",
        },
        {"share_id": lesson.share_id, "version": 1, "state": "submitted", "comment": "", "at": "2026-12-07T09:00:00Z"},
    ]
    result = delivery.deliver(kit, kit_key.ensure(kit.paths), retry_now=True)
    assert result.error is None and result.delivered == 5
    assert [r.kind for r in hub.stored.values()] == ["lesson"] + ["lesson_file"] * 4
    page = teacher.get(f"/teach/lessons/{lesson_id}?lang=zh").text
    assert "已退回（评语：请补充练习答案。）" in page and "李老师" in page

    again = teacher.post(f"/teach/lessons/{lesson_id}/share", data={"csrf": csrf(teacher), "licence": "CC BY 4.0"})
    assert again.status_code == 303
    second = shared_lesson.check_lesson(_queued(kit)[0].body)
    assert (second.share_id, second.version) == (lesson.share_id, 2)
    assert "第 2 版：等待发送" in teacher.get(f"/teach/lessons/{lesson_id}?lang=zh").text


def test_shared_lessons_only_the_lessons_teacher_or_an_administrator_shares(kit, roles):
    clients, ids = roles
    lesson_id = make_lesson(clients["teacher_a"], ids["a"]["class"], "我的课")
    for who, status in (("student_a", 403), ("teacher_b", 404), ("anonymous", 401)):
        http = clients[who]
        answer = http.post(f"/teach/lessons/{lesson_id}/share", data={"csrf": csrf(http), "licence": "CC BY 4.0"})
        assert answer.status_code == status, who
    assert kit.outbox.depth() == 0
    admin = clients["admin"]
    assert admin.post(f"/teach/lessons/{lesson_id}/share", data={"csrf": csrf(admin), "licence": "CC0 1.0"}).is_redirect


def test_shared_lessons_over_the_limits_refused_with_what_is_too_big_and_nothing_queued(kit, roles):
    clients, ids = roles
    teacher = clients["teacher_a"]
    lesson_id = make_lesson(teacher, ids["a"]["class"], "很多练习")
    for n in range(shared_lesson.MAX_FILES + 1):
        sent = teacher.post(
            f"/teach/lessons/{lesson_id}/uploads",
            data={"csrf": csrf(teacher), "title": f"练习{n}"},
            files={"file": (f"练习{n}.pdf", PDF + b"x" * n, "application/pdf")},
        )
        assert sent.status_code == 303, sent.text
    page = teacher.get(f"/teach/lessons/{lesson_id}/share?lang=zh").text
    assert "这节课有 21 个文件" in page and "练习20.pdf" in page and 'action="/teach/lessons' not in page
    refused = teacher.post(
        f"/teach/lessons/{lesson_id}/share?lang=zh", data={"csrf": csrf(teacher), "licence": "CC BY 4.0"}
    )
    assert refused.status_code == 400 and "最多 20 个文件" in refused.text and "练习0.pdf" in refused.text
    assert kit.outbox.depth() == 0 and kit.db.read().execute("SELECT count(*) FROM lesson_shares").fetchone()[0] == 0


def _copy_form(http, class_id) -> dict:
    return {
        "csrf": csrf(http),
        "edition": "rjb",
        "grade": "3",
        "volume": "1",
        "subject": "math",
        "unit": "2",
        "book": "county_lessons_demo",
        "share_id": SHARE_ID,
        "class": str(class_id),
    }


def test_shared_lessons_listed_under_their_unit_and_copied_into_a_class(kit, roles):
    clients, ids = roles
    teacher, class_a = clients["teacher_a"], ids["a"]["class"]
    child_page = clients["student_a"].get(UNIT_2 + "&lang=zh").text
    assert "县里老师分享的课" in child_page and "王老师 · 某某小学 · 署名" in child_page
    assert f'href="/content/county_lessons_demo/lessons/{SHARE_ID}.html"' in child_page
    assert "复制到我的班级" not in child_page and "/teach/shared/copy" not in child_page
    page = teacher.get(UNIT_2 + "&lang=zh").text
    assert "复制到我的班级" in page and f'<option value="{class_a}">' in page
    assert page.count("两位数加两位数") == 1  # its items.json entry is not listed a second time

    for who, class_id, status in (
        ("student_a", class_a, 403),
        ("teacher_b", class_a, 404),
        ("anonymous", class_a, 401),
    ):
        http = clients[who]
        assert http.post("/teach/shared/copy", data=_copy_form(http, class_id)).status_code == status, who
    wrong = teacher.post("/teach/shared/copy", data=_copy_form(teacher, class_a) | {"share_id": "0" * 8 + SHARE_ID[8:]})
    assert wrong.status_code == 404
    assert kit.lessons.of_class(class_a) == []

    copied = teacher.post("/teach/shared/copy", data=_copy_form(teacher, class_a))
    assert copied.status_code == 303, copied.text
    new_id = int(re.search(r"/teach/lessons/(\d+)\?notice=copied$", copied.headers["location"])[1])
    lesson = kit.lessons.lesson(new_id)
    assert lesson["publish_at"] is None and lesson["teacher_id"] == ids["a"]["teacher"]  # a draft of hers
    assert lesson["instructions"] == "先读课文，再做练习。\n\n来自 王老师（某某小学），CC BY 4.0"
    assert (lesson["pos_edition"], lesson["pos_unit"], lesson["pos_lesson"]) == ("rjb", 2, 1)
    items = kit.lessons.items(new_id)
    assert [i["kind"] for i in items] == ["upload", "quiz", "book", "article"]
    assert teacher.get(f"/files/lesson/{items[0]['id']}").content == WORKSHEET
    assert items[2]["title"] == "Test book" and items[3]["title"] == "口算（本机没有这本书）"
    quiz = kit.quizzes.quiz(items[1]["quiz_id"])
    assert quiz["class_id"] == class_a and quiz["pass_mark"] == 0.6 and quiz["attempts_allowed"] == 2
    questions = kit.quizzes.questions(quiz["id"])
    assert [(q["kind"], q["prompt"], q["answer"], q["points"]) for q in questions] == [
        ("single", "23 + 45 = ?", 0, 1.0),
        ("true_false", "图上有三个苹果。", True, 2.0),
    ]
    assert (
        questions[0]["options"] == ["68", "58"] and kit.quizzes.picture(questions[1]["picture"])["class_id"] == class_a
    )
    assert "已复制" in teacher.get(copied.headers["location"] + "&lang=zh").text


def test_shared_lessons_a_damaged_file_or_list_in_a_book_copies_nothing_and_breaks_no_other_book(
    kit, roles, content_dir
):
    clients, ids = roles
    teacher, class_a = clients["teacher_a"], ids["a"]["class"]
    other = "0b5a4c1e-1d2c-4b3a-8f9e-0a1b2c3d4e5f"
    body = lesson_body([("练习单.pdf", "application/pdf", WORKSHEET)], share_id=other, title="被改过的课")
    county_lessons_book(content_dir, [(body, [WORKSHEET[:-1] + b"!"])], county="tampered")  # one byte changed
    extra = [Entry("tpkit/lessons.json", "lessons", "application/json", b'{"format": 1, "lessons": [{"title": 1}]}')]
    make_book(
        content_dir,
        "bad_list",
        title="坏目录",
        tags="_edition:rjb;_grade:3;_volume:1;_subject:math;_unit:2",
        extra=extra,
    )
    kit.load_library().refresh()
    page = teacher.get(UNIT_2 + "&lang=zh").text
    assert "坏目录" in page and "被改过的课" in page and "两位数加两位数" in page  # the bad list costs only its book

    before = sorted(p.name for p in (kit.paths.uploads_dir / "lessons").glob("*"))
    form = _copy_form(teacher, class_a) | {"book": "county_lessons_tampered", "share_id": other}
    refused = teacher.post("/teach/shared/copy?lang=zh", data=form)
    assert refused.status_code == 422 and "课例图书已损坏" in refused.text
    assert kit.lessons.of_class(class_a) == []
    assert sorted(p.name for p in (kit.paths.uploads_dir / "lessons").glob("*")) == before  # no file kept
