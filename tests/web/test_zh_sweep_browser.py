"""The zh-CN sweep (issue 16): every page a child, a teacher or the administrator uses, opened in headless Chromium with
realistic data (a class of Chinese names, a second class that signs in with pictures, a lesson with hand-ins, a quiz
with attempts, a book from a USB stick, a damaged book, sync runs), in Chinese at 360 px (children's phones) and, for
staff pages, at 1280 px (the teacher's laptop): no English word outside book content, names and what was typed
(tests/web/chinese_pages.visible_words); then each page once in English with no Chinese outside the same data.

PAGES is the list: one row per page (name, who opens it, address, whether a teacher's screen). A page added to the
kit is one more row; a page that answers a form (a refused form, a warning) is a row and a function in SENT that
fills and sends the form in the browser; a page answered with another status than 200 (an error page) names it in
STATUS. With TPKIT_SCREENSHOTS=1 the Chinese pages are saved as small PNGs in docs/screenshots/zh/ (docs/pages.md
shows a handful).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import shutil
from pathlib import Path

import httpx
import pytest
from PIL import Image

from appliance.content.zimwriter import Entry, write_zim
from appliance.edges import passwords
from appliance.services.learning import comment_bank
from appliance.services.library import approval
from appliance.services.people.access import CONSOLE
from appliance.services.sync import stick_import
from appliance.storage.sync_runs import RunResult, SyncRuns
from appliance.web import i18n
from appliance.web.app import create_app
from tests.conftest import LiveServer, article, make_book
from tests.textbook_books import curriculum, item, textbook_book
from tests.web.browsers import LAPTOP, PHONE_1X, browser, scroll_width, with_cookies  # noqa: F401
from tests.web.chinese_pages import visible_words
from tests.web.lesson_data import JPEG, hand_in, make_lesson
from tests.web.people_clients import TEACHER_PASSWORD, classroom, csrf, staff_client, student_client
from tests.web.quiz_data import create_quiz, start

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "zh"
ADMIN_PASSWORD = "a long admin sentence"
FIRST_PASSWORD = "first password 1"  # the one-time password of a second administrator and a second teacher
CLASS = "三年级一班"
NAMES = ("王小明", "李华", "张伟", "陈静")
# A second class, imported by the teacher and switched to picture codes (the first class's rows stay as they are),
# and a third the import row sends from the browser.
PICTURE_CLASS, PICTURE_NAMES = "三年级二班", ("赵敏", "刘洋")
IMPORTED_CLASS, IMPORTED_NAMES = "三年级三班", ("孙丽", "周强")
# The teacher's common comments as their bank started (a Chinese teacher's): stored words, in English pages too.
BANK = tuple(i18n.translator("zh")(key) for key in comment_bank.DEFAULT_KEYS)
# What the test itself put there, shown as typed: names, the class, titles, the books' own words, the teacher's
# user name, a typed answer. The sweep fails on any other Latin word in a Chinese page.
DATA = (
    *NAMES,
    CLASS,
    *PICTURE_NAMES,
    PICTURE_CLASS,
    *IMPORTED_NAMES,
    IMPORTED_CLASS,
    "李老师 Ms Li",
    "li.wei",
    "zhao.admin",
    "wang.fang",
    "admin",
    "水的循环",
    "我们的河流",
    "我们的河流（U盘）",
    "Water",
    "Rivers",
    "rivers",
    "water_zh",
    "water_en",
    "our_rivers",
    "broken.zim",
    "for tests",  # the test books' descriptions (book content)
    "植物小测验",
    "植物吸收哪种气体？",
    "氧气",
    "二氧化碳",
    "太阳是一颗恒星。",
    "植物制造养料的过程叫什么？",
    "光合作用",
    "降雨",
    "哪些是哺乳动物？",
    "鲸",
    "鲨鱼",
    "蝙蝠",
    "读一读，再画一画水的旅行。",
    "我画了水的旅行。",
    "画得很好",
    "tpkit",  # the school name setting, unset: the kit's name as typed in settings
    "水的旅行",
    "水",  # the placeholder of a book without a picture: its title's first letter
    "root",  # the owner of the data files on this machine (the security check names it)
    "画面",  # the homework's rubric, as the teacher typed it
    "文字说明",
    "颜色用得真好",  # a comment the teacher keeps in their bank
    "光和作用",  # a child's answer (a slip of the pen) the teacher accepted as right
    "明天带彩笔来上课。",  # the teacher's notices
    "王小明，记得交作业本。",
    "植物的一生",  # a draft lesson, a scheduled one
    "月亮的变化",
    "水的变化",  # the refused paste as typed (PASTED)
    "水在零度会怎样？",
    "结冰",
    "沸腾",
    "三年级数学上册",  # the textbook book (issue 17): its title, items, map's names and file name
    "两位数加两位数",
    "第二单元练习",
    "万以内的加法和减法（一）",
    "口算",
    "math3a",
    "三",  # its card's placeholder: its title's first letter
    *BANK,
)
# Names of things a teacher sees written so on their own screen (a program, a file type, a standard), and PIN, the
# word Chinese uses for a PIN code (PIN码): not words to translate.
NAMES_OF_THINGS = ("OneRoster", "Excel", "WPS", "CSV", "PDF", "PIN")
# The column headings a class list may have, listed on the teacher's page in every language (what the file says).
HEADINGS = ("姓名", "学生姓名", "学号", "学籍号", "性别", "出生日期", "PIN码", "密码", "拼音", "班级")
_NOT_WORDS = re.compile(r"https?://[^\s<\"]+|[\w.-]*\.(?:csv|zip|xlsx|zim|jpg)\b")  # addresses and file names

# (name, who, address, a teacher's screen). Addresses are filled from the school fixture's ids.
PAGES = [
    ("home", "anyone", "/", False),
    ("search", "anyone", "/search?pattern=水&books.name=water_zh", False),  # book content: Chinese in any page
    ("learn-classes", "anyone", "/learn", False),
    ("learn-names", "anyone", "/learn/{class_id}", False),
    ("learn-pin", "anyone", "/learn/{class_id}/{student_id}", False),
    ("learn-pictures", "anyone", "/learn/{picture_class_id}/{picture_student_id}", False),  # the picture grid
    ("me", "student", "/me", False),
    ("me-lesson", "student", "/me/lessons/{lesson_id}", False),
    ("me-item", "student", "/me/lessons/{lesson_id}/items/{item_id}", False),  # the kit bar (the frame is the book's)
    ("me-quiz", "student", "/me/quizzes/{quiz_id}", False),
    ("me-quiz-blanks", "student", "/me/quizzes/{quiz_id}/attempts/{open_attempt_id}", False),  # SENT: the warning
    ("me-attempt", "student", "/me/quizzes/{quiz_id}/attempts/{attempt_id}", False),  # the quiz done page
    ("me-article", "student", "/me/article?book=water_zh&path=index", False),
    ("me-lesson-gone", "student", "/me/lessons/999999", False),
    (
        "me-family",
        "student",
        "/me/family",
        False,
    ),  # 给家长看 (issue 18): the parent's page in the child's sign-in  # 404: the error page a child can meet
    ("signin", "anyone", "/admin/signin", True),
    ("admin-first", "first_admin", "/admin", True),  # the first sign-in: the status page opens with the password form
    ("password-first", "first_teacher", "/teach", True),  # a teacher's first sign-in: only the password form
    ("password-short", "first_admin", "/admin", True),  # SENT: too short a new password, the same form back
    ("password-wrong", "first_teacher", "/teach", True),  # SENT: a wrong current password, the same form back
    ("teach", "teacher", "/teach", True),
    ("teach-class", "teacher", "/teach/{class_id}", True),
    ("teach-cards", "teacher", "/teach/{class_id}/cards", True),
    ("class-imported", "teacher", "/teach", True),  # SENT: a class list imported, its cards with the new PINs
    ("codes-given", "teacher", "/teach/{picture_class_id}", True),  # SENT: "give codes" for the whole class
    ("class-edit", "teacher", "/teach/{class_id}/edit", True),  # name, grade, teachers (housekeeping)
    ("student-edit", "teacher", "/teach/{class_id}/students/{student_id}", True),  # rename, 学号, move
    ("student-remove", "teacher", "/teach/{class_id}/students/{student_id}/remove", True),
    ("class-remove", "teacher", "/teach/{class_id}/remove", True),
    ("pin-confirm", "teacher", "/teach/{class_id}", True),  # SENT: "new PIN" for one child asks first
    ("lesson-new", "teacher", "/teach/{class_id}/lessons/new", True),
    ("lesson", "teacher", "/teach/lessons/{lesson_id}", True),
    ("lesson-missing", "teacher", "/teach/lessons/{lesson_id}?show=missing", True),
    ("lesson-draft", "teacher", "/teach/lessons/{draft_id}", True),
    ("lesson-scheduled", "teacher", "/teach/lessons/{scheduled_id}", True),
    ("lesson-edit", "teacher", "/teach/lessons/{lesson_id}/edit", True),
    ("lesson-delete", "teacher", "/teach/lessons/{lesson_id}/delete", True),
    ("lesson-copy", "teacher", "/teach/lessons/{lesson_id}/copy", True),
    ("handin", "teacher", "/teach/handins/{handin_id}", True),
    ("comments", "teacher", "/teach/comments", True),
    ("quiz-new", "teacher", "/teach/{class_id}/quizzes/new", True),
    ("quiz-paste", "teacher", "/teach/{class_id}/quizzes/paste", True),
    ("quiz-paste-refused", "teacher", "/teach/{class_id}/quizzes/paste", True),  # SENT: the same form back
    ("quiz-results", "teacher", "/teach/quizzes/{quiz_id}", True),
    ("quiz-attempt", "teacher", "/teach/quizzes/{quiz_id}/attempts/{attempt_id}", True),
    ("quiz-edit", "teacher", "/teach/quizzes/{quiz_id}/edit", True),
    ("quiz-copy", "teacher", "/teach/quizzes/{quiz_id}/copy", True),
    ("quiz-delete", "teacher", "/teach/quizzes/{quiz_id}/delete", True),
    ("overview", "teacher", "/teach/{class_id}/overview", True),
    ("summary", "teacher", "/teach/{class_id}/students/{student_id}/summary", True),
    ("family-teach", "teacher", "/teach/{class_id}/students/{student_id}/family", True),  # one child's parents
    ("units", "anyone", "/units", False),  # 按课本找 (issue 17): the editions
    ("units-unit", "student", "/units?edition=rjb&grade=3&volume=1&subject=math&unit=2", False),
    ("units-teacher", "teacher", "/units?edition=rjb&grade=3&volume=1&subject=math&unit=2&lesson={lesson_id}", True),
    ("admin", "admin", "/admin", True),
    ("admin-books", "admin", "/admin/books", True),
    ("books", "teacher", "/books", True),
    ("admin-people", "admin", "/admin/people", True),
    ("admin-security", "admin", "/admin/security", True),
]

QUIZ = [
    {"kind": "single", "prompt": "植物吸收哪种气体？", "option0": "氧气", "option1": "二氧化碳", "right": ["1"]},
    {"kind": "true_false", "prompt": "太阳是一颗恒星。", "tf": "true"},
    {"kind": "short", "prompt": "植物制造养料的过程叫什么？", "accepted": "光合作用"},
    {
        "kind": "multiple",
        "prompt": "哪些是哺乳动物？",
        "option0": "鲸",
        "option1": "鲨鱼",
        "option2": "蝙蝠",
        "right": ["0", "2"],
        "points": "2",
    },
]
ANSWERS = {"a0": ["0"], "a1": ["true"], "a2": ["降雨"], "a3": ["0"]}  # one right, one partly, two wrong
SECOND = {"a0": ["1"], "a1": ["true"], "a2": ["光和作用"], "a3": ["0", "2"]}  # a slip of the pen, then accepted
PASTED_TITLE = "水的变化"
PASTED = "1. 水在零度会怎样？\nA. 结冰\nB. 沸腾\n"  # no option marked right: refused at line 1


def _paste_refused(page) -> None:
    """A pasted quiz with no right answer: the same form back with the text as typed and the line at fault."""
    page.fill("input[name=title]", PASTED_TITLE)
    page.fill("textarea[name=text]", PASTED)
    with page.expect_navigation():
        page.click("form.paste-form button[type=submit]")
    assert page.locator("textarea[name=text]").input_value() == PASTED


def _blanks_warning(page) -> None:
    """The open attempt handed in with nothing answered: the warning and the questions again (nothing handed in)."""
    with page.expect_navigation():
        page.click("form.take > p > button[type=submit]")
    assert page.locator("#blanks").count() == 1


def _class_imported(page) -> None:
    """The teacher's class-list form sent with a small CSV: the import's result above the new class's cards (the
    first time with their new PINs, then as updated with none given)."""
    page.fill("input[name=class_name]", IMPORTED_CLASS)
    roster = "姓名\n" + "\n".join(IMPORTED_NAMES) + "\n"
    page.set_input_files("input[name=file]", {"name": "3c.csv", "mimeType": "text/csv", "buffer": roster.encode()})
    with page.expect_navigation():
        page.click("form[action='/teach/import'] button[type=submit]")
    assert page.locator("p.notice").count() >= 1


def _codes_given(page) -> None:
    """The picture class switched to PINs and back (each switch clears the old codes), then "give codes" for the
    whole class: the sheet of the codes just given, with their pictures (every run the same page)."""
    for _ in range(2):
        with page.expect_navigation():
            page.click("form[action$='/signin-kind'] button[name=kind]")
    with page.expect_navigation():
        page.click("form[action$='/pins']:not(:has(input[name=student])) button[type=submit]")
    assert page.locator(".card-pictures").count() == len(PICTURE_NAMES)


def _new_pin_asked(page) -> None:
    """The "new PIN" button beside one child: the page that asks before the old PIN stops working (nothing changed yet)."""
    with page.expect_navigation():
        page.click("form[action$='/pins']:has(input[name=student]) button[type=submit]>> nth=0")
    assert page.locator("button[name=confirm]").count() == 1


def _password_short(page) -> None:
    """The first-sign-in form sent with a new password of five letters (past the browser's own minlength check, as an
    old browser sends it): the same form back, the message beside the new password."""
    page.fill("input[name=current]", FIRST_PASSWORD)
    page.eval_on_selector("input[name=password]", "field => field.removeAttribute('minlength')")
    page.fill("input[name=password]", "short")
    with page.expect_navigation():
        page.click("form[action='/admin/password'] button[type=submit]")
    assert page.locator("#password-error").count() == 1


def _password_wrong(page) -> None:
    """The first-sign-in form sent with a wrong current password: the same form back, the message beside it."""
    page.fill("input[name=current]", "not the first password")
    page.fill("input[name=password]", "a long new sentence")
    with page.expect_navigation():
        page.click("form[action='/admin/password'] button[type=submit]")
    assert page.locator("#current-error").count() == 1


# What the browser does on a page before it is read: a form sent whose answer is a page (not a redirect).
SENT = {
    "quiz-paste-refused": _paste_refused,
    "me-quiz-blanks": _blanks_warning,
    "pin-confirm": _new_pin_asked,
    "class-imported": _class_imported,
    "codes-given": _codes_given,
    "password-short": _password_short,
    "password-wrong": _password_wrong,
}
# Pages that answer with another status than 200 (an error page).
STATUS = {"me-lesson-gone": 404}


def _chinese_book(folder: Path) -> None:
    """A Chinese book with no illustration (its card shows the placeholder)."""
    pages = {"index": ("水的循环", "<p>水从海洋蒸发，变成云，又落下来成为雨。</p>")}
    write_zim(
        folder / "water_zh.zim",
        metadata={"Title": "水的循环", "Language": "zho", "Name": "water_zh", "Tags": "_category:encyclopedia"},
        main_path="index",
        entries=[Entry(p, t, "text/html", article(t, body, "zh"), front=True) for p, (t, body) in pages.items()],
        index_language="zho",
    )


def _library(root: Path) -> Path:
    """The content folder: a Chinese book, an English one (`en`), a textbook book (issue 17), a damaged file; and a stick with a new book, a copy
    of a served one and a file cut short."""
    content = root / "c"
    content.mkdir()
    _chinese_book(content)
    make_book(content, "water_en", title="Water", language="en", tags="_category:wikipedia")
    units = [
        item("u2/l1.html", "两位数加两位数", 2, 1, kind="video", seconds=312),
        item("u2/sheet.html", "第二单元练习", 2),
    ]
    textbook_book(
        content, "math3a", items=units, curriculum_map=curriculum({2: "万以内的加法和减法（一）"}, {2: {1: "口算"}})
    )
    (content / "broken.zim").write_bytes(b"ZIM\x04" + b"\x00" * 2000)  # damaged: listed, never served
    stick = root / "stick"
    make_book(stick, "our_rivers", title="我们的河流", language="zho", tags="_category:vikidia")
    shutil.copyfile(content / "water_en.zim", stick / "water_en.zim")
    (stick / "cut.zim").write_bytes((stick / "our_rivers.zim").read_bytes()[:3000])
    return stick


def _stick_books(kit, stick: Path) -> None:
    """The stick imported: one book enabled (served, unsigned), the copy recognised, the cut file refused; a sync
    run that stopped and one that ended partial."""
    report = stick_import.import_folder(kit.settings, kit.db, stick, source="/dev/sda1")
    assert {r.file: r.outcome for r in report.local} == {
        "our_rivers.zim": "waiting",
        "water_en.zim": "unchanged",
        "cut.zim": "refused",
    }
    (waiting,) = approval.waiting_books(kit.db, kit.paths)
    approval.enable(kit.settings, kit.db, CONSOLE, waiting.id)
    report = stick_import.import_folder(kit.settings, kit.db, _second_stick(stick), source="/dev/sdb1")
    assert [r.outcome for r in report.local] == ["waiting"]  # stays on the waiting list
    runs = SyncRuns(kit.db)
    run = runs.start("2026-12-05T23:10:00Z")
    runs.finish(run, "2026-12-05T23:12:00Z", RunResult("failed", "sync.transfer_failed", duration_s=120))
    run = runs.start("2026-12-05T23:20:00Z")  # issue 21: one book not updated, the others were
    runs.finish(run, "2026-12-05T23:21:00Z", RunResult("partial", "channel.package_mismatch", updated=2, duration_s=60))


def _second_stick(stick: Path) -> Path:
    other = stick.parent / "stick2"
    make_book(other, "rivers", title="Rivers", language="eng", tags="_category:wikipedia")
    return other


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    """A kit with books, a class of four with PINs, a lesson with an article, a quiz, a rubric and two hand-ins (one
    graded with a level), a draft and a scheduled lesson, two notices (one read), a quiz with two attempts handed in
    (one answer accepted, one credited by hand) and one open; a second class of two with picture codes; signed-in
    cookies for a student, the teacher and the administrator."""
    root = tmp_path_factory.mktemp("zh-sweep")
    stick = _library(root)
    roster = "姓名\n" + "\n".join(NAMES) + "\n"
    kit, _, result = classroom(root, roster, CLASS)
    kit.accounts.provision("admin", "admin", passwords.hash_password(ADMIN_PASSWORD))  # as if chosen already
    for username, role in (("zhao.admin", "admin"), ("wang.fang", "teacher")):  # not yet signed in: must change it
        kit.accounts.create(username, role, passwords.hash_password(FIRST_PASSWORD), must_change_password=True)
    kit.library.refresh()
    _stick_books(kit, stick)
    kit.library.refresh()
    class_id = result.class_id
    given = {name: pin for name, _, pin in result.pins}
    pins = {s["display_name"]: (s["id"], given[s["display_name"]]) for s in kit.people.students_of(class_id)}
    with LiveServer(create_app(kit)) as server:
        ids = _classwork(server.url, class_id, pins)
        yield server, kit, ids
    kit.close()


def _classwork(url: str, class_id: int, pins: dict) -> dict:
    teacher = staff_client(url, "li.wei", TEACHER_PASSWORD)
    admin = staff_client(url, "admin", ADMIN_PASSWORD)
    first_admin, first_teacher = (staff_client(url, name, FIRST_PASSWORD) for name in ("zhao.admin", "wang.fang"))
    lesson_id = make_lesson(teacher, class_id, "水的旅行", due="2026-12-08", instructions="读一读，再画一画水的旅行。")
    add = {"csrf": csrf(teacher), "book": "water_zh", "path": "index"}
    assert teacher.post(f"/teach/lessons/{lesson_id}/items", data=add).status_code in (303, 200)
    students = {name: student_client(url, class_id, *pins[name]) for name in NAMES[:2]}
    for http in students.values():
        assert hand_in(http, lesson_id, "我画了水的旅行。", [("water.jpg", JPEG, "image/jpeg")]).status_code == 303
    lesson_page = teacher.get(f"/teach/lessons/{lesson_id}").text
    first = int(re.findall(r'id="handin-(\d+)"', lesson_page)[0])
    rubric = {"csrf": csrf(teacher), "rubric": "画面\n文字说明"}
    assert teacher.post(f"/teach/lessons/{lesson_id}/rubric", data=rubric).status_code == 303
    grade = {"csrf": csrf(teacher), "action": "grade", "score": "4", "out_of": "5", "comment": "画得很好"}
    grade |= {"level": "good", "rubric_0": "excellent", "rubric_1": "good"}
    teacher.post(f"/teach/handins/{first}/grade", data=grade)
    questions = [(fields, None, None) for fields in QUIZ]
    quiz_id = create_quiz(teacher, class_id, "植物小测验", questions=questions, attempts=2, due="2026-12-10")
    child = students[NAMES[0]]
    attempt_id = start(child, quiz_id)
    answers = {"csrf": csrf(child), **ANSWERS}
    assert child.post(f"/me/quizzes/{quiz_id}/attempts/{attempt_id}", data=answers).status_code == 303
    ids = {
        "class_id": class_id,
        "student_id": pins[NAMES[0]][0],
        "lesson_id": lesson_id,
        "quiz_id": quiz_id,
        "attempt_id": attempt_id,
        "handin_id": first,
        **_more_classwork(teacher, students, class_id, pins[NAMES[0]][0], lesson_id, quiz_id, attempt_id),
        "cookies": {
            who: dict(http.cookies)
            for who, http in (
                ("student", child),
                ("teacher", teacher),
                ("admin", admin),
                ("first_admin", first_admin),
                ("first_teacher", first_teacher),
            )
        },
    }
    for http in (teacher, admin, first_admin, first_teacher, *students.values()):
        http.close()
    return ids


def _more_classwork(
    teacher, students: dict, class_id: int, student_id: int, lesson_id: int, quiz_id: int, attempt_id: int
) -> dict:
    """What this round's pages show: the quiz in the lesson, the teacher's comment bank (started in Chinese), a
    draft and a scheduled lesson, two notices (the child read one), the child's visit to the lesson's article, the
    second child's attempt with an answer accepted, a credit given by hand, and the first child's open attempt."""
    zh = {"Accept-Language": "zh-CN"}
    add = {"csrf": csrf(teacher), "quiz": str(quiz_id)}
    assert teacher.post(f"/teach/lessons/{lesson_id}/quizzes", data=add).status_code == 303
    assert teacher.get("/teach/comments", headers=zh).status_code == 200  # the bank starts in the teacher's language
    kept = {"csrf": csrf(teacher), "action": "add", "text": "颜色用得真好"}
    assert teacher.post("/teach/comments", data=kept).status_code == 303
    later = (dt.date.today() + dt.timedelta(days=7)).isoformat()  # scheduled whatever day the test runs
    made = {}
    for key, title, publish in (("draft_id", "植物的一生", "draft"), ("scheduled_id", "月亮的变化", "later")):
        form = {"csrf": csrf(teacher), "title": title, "instructions": "", "homework": "1", "publish": publish}
        form |= {"publish_day": later, "publish_time": "08:00"}
        response = teacher.post(f"/teach/{class_id}/lessons", data=form)
        assert response.status_code == 303, response.text
        made[key] = int(response.headers["location"].rsplit("/", 1)[1])
    first, second = (students[name] for name in NAMES[:2])
    for body, student in (("明天带彩笔来上课。", ""), ("王小明，记得交作业本。", str(student_id))):
        sent = {"csrf": csrf(teacher), "body": body, "student": student}
        assert teacher.post(f"/teach/{class_id}/notices", data=sent).status_code == 303
    (read, *_) = re.findall(r"/me/notices/(\d+)/read", first.get("/me").text)
    assert first.post(f"/me/notices/{read}/read", data={"csrf": csrf(first)}).status_code == 303
    made["item_id"] = int(
        re.findall(rf"/me/lessons/{lesson_id}/items/(\d+)", first.get(f"/me/lessons/{lesson_id}").text)[0]
    )
    assert first.get(f"/me/lessons/{lesson_id}/items/{made['item_id']}").status_code == 200
    other = start(second, quiz_id)
    answers = {"csrf": csrf(second), **SECOND}
    assert second.post(f"/me/quizzes/{quiz_id}/attempts/{other}", data=answers).status_code == 303
    accept = {"csrf": csrf(teacher), "action": "accept", "position": "2", "accept2": "光和作用"}
    assert teacher.post(f"/teach/quizzes/{quiz_id}/marking", data=accept).status_code == 303
    credit = {"csrf": csrf(teacher), "position": "3", "credit": "1"}
    assert teacher.post(f"/teach/quizzes/{quiz_id}/attempts/{attempt_id}/credit", data=credit).status_code == 303
    made["open_attempt_id"] = start(first, quiz_id)
    return made | _picture_class(teacher)


def _picture_class(teacher) -> dict:
    """A second class: its list imported by the teacher (two names), then switched to picture codes and given them."""
    roster = ("姓名\n" + "\n".join(PICTURE_NAMES) + "\n").encode()
    sent = {"csrf": csrf(teacher), "class_name": PICTURE_CLASS}
    response = teacher.post("/teach/import", data=sent, files={"file": ("3b.csv", roster, "text/csv")})
    assert response.status_code == 200, response.text
    class_id = int(re.findall(r"/teach/(\d+)/cards", response.text)[0])
    kind = {"csrf": csrf(teacher), "kind": "pictures"}
    assert teacher.post(f"/teach/{class_id}/signin-kind", data=kind).status_code == 303
    assert "card-pictures" in teacher.post(f"/teach/{class_id}/pins", data={"csrf": csrf(teacher)}).text  # codes
    student_id = int(re.findall(rf"/teach/{class_id}/students/(\d+)", teacher.get(f"/teach/{class_id}").text)[0])
    return {"picture_class_id": class_id, "picture_student_id": student_id}


def _context(browser, school, who: str, wide: bool, locale: str):  # noqa: F811
    live, _, ids = school
    context = browser.new_context(base_url=live.url, locale=locale, **(LAPTOP if wide else PHONE_1X))
    return with_cookies(context, live.url, ids["cookies"].get(who, {}))


def _open(context, name: str, address: str, ids: dict):
    """The page at `address`, then what SENT does on it (a form sent) when it names the page."""
    page = context.new_page()
    response = page.goto(address.format(**ids))
    expected = STATUS.get(name, 200)
    assert response is not None and response.status == expected, (address, response and response.status)
    if name in SENT:
        SENT[name](page)
    return page


def _shot(page, name: str) -> None:
    """A docs screenshot, only when asked (normal runs must not dirty the tree), in 64 colours to stay small."""
    if os.environ.get("TPKIT_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        picture = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB").quantize(colors=64)
        picture.save(SCREENSHOTS / f"{name}.png", optimize=True)


def _seen(html: str, who: str) -> str:
    """The page as the sweep reads it: addresses and file names left out, the tab's title added; `<code>` and what a
    tooltip, a placeholder, a screen reader or a missing picture shows (title, placeholder, aria-label, alt) read as
    text, except on the administrator's pages, the only ones that show a technician's code (paths, devices, settings'
    names)."""
    html = _NOT_WORDS.sub(" ", html)
    tab = re.findall(r"<title>(.*?)</title>", html, flags=re.DOTALL)  # the browser tab's title, every page's
    if who in ("admin", "first_admin"):
        return html.replace("</main>", " ".join(tab) + " </main>", 1)
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    said = tab + re.findall(r'\s(?:title|placeholder|aria-label|alt)="([^"]*)"', main)
    html = html.replace("</main>", " ".join(said) + " </main>", 1)
    return re.sub(r"</?code>", " ", html)


def _unfolded(html: str) -> str:
    """The page without the error page's technician's details (what error.html's `<details class="detail">` folds
    away in every language but English: the message and fix are written for technicians in English, by design).
    Only what follows its `<summary>` is left out; the error's title, the summary's label and the buttons are read."""
    return re.sub(
        r'(<details class="detail"[^>]*>\s*<summary>.*?</summary>).*?(</details>)', r"\1\2", html, flags=re.DOTALL
    )


def _colons(html: str) -> list[str]:
    """An ASCII colon right after a Chinese character in `<main>`, outside code: a label joined to its value with
    English punctuation ("正确答案: 光合作用"); pages write `punctuation.colon` (docs/translating.md)."""
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    text = re.sub(r"<[^>]+>", "", re.sub(r"<code>.*?</code>", " ", main, flags=re.DOTALL))
    return re.findall(r"\S{0,8}[\u4e00-\u9fff）]:", text)


def _chinese(html: str) -> list[str]:
    """Han characters in `<main>` outside the test's data: a Chinese word in an English page."""
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    for text in sorted(DATA + HEADINGS, key=len, reverse=True):
        main = main.replace(text, " ")
    return re.findall(r"[\u4e00-\u9fff]+", re.sub(r"<[^>]+>", " ", main))


@pytest.mark.parametrize(("name", "who", "address", "wide"), PAGES, ids=[p[0] for p in PAGES])
def test_zh_sweep_page_has_no_english(browser, school, name, who, address, wide):  # noqa: F811
    _, _, ids = school
    found = {}
    for width in (False, True) if wide else (False,):
        context = _context(browser, school, who, width, "zh-CN")
        page = _open(context, name, address, ids)
        html = _unfolded(page.content())
        found[1280 if width else 360] = visible_words(_seen(html, who), DATA + NAMES_OF_THINGS) + _colons(html)
        if not width:
            assert scroll_width(page) <= 360 or wide, f"{name} is wider than a phone"
        _shot(page, f"{name}-{1280 if width else 360}")
        context.close()
    assert found == {width: [] for width in found}, f"English words on the Chinese page {name}: {found}"


@pytest.mark.parametrize(("name", "who", "address", "wide"), PAGES, ids=[p[0] for p in PAGES])
def test_zh_sweep_english_page_has_no_chinese(browser, school, name, who, address, wide):  # noqa: F811
    if name == "search":
        pytest.skip("the results are the Chinese book's own words")
    _, _, ids = school
    context = _context(browser, school, who, wide, "en-US")
    page = _open(context, name, address, ids)
    assert page.evaluate("document.documentElement.lang") == "en"
    assert _chinese(page.content()) == [], f"Chinese words on the English page {name}"
    context.close()


def test_zh_sweep_overview_csv_scores_stay_numbers(school):
    """The graded hand-in (4 of 5) and the quiz (2 of 5) as two number cells each, never "4/5", which a spreadsheet
    reads as a date; headers and states in Chinese."""
    live, _, ids = school
    with httpx.Client(base_url=live.url, cookies=ids["cookies"]["teacher"], timeout=20) as http:
        raw = http.get(f"/teach/{ids['class_id']}/overview.csv", headers={"Accept-Language": "zh-CN"})
    rows = list(csv.reader(io.StringIO(raw.content.decode("utf-8-sig"))))
    assert rows[0][:6] == ["姓名", "学号", "未完成", "水的旅行 状态", "水的旅行 得分", "水的旅行 满分"]
    graded = next(row for row in rows[1:] if row[3] == "已评分")
    assert graded[4:6] == ["4", "5"] and not any("/" in cell for row in rows for cell in row)


def test_zh_sweep_chinese_punctuation_in_answers_and_attempts(school):
    """A multiple-choice answer's options joined with 、 (the stored answer says "鲸, 蝙蝠"), and the attempt on the
    take page as 第 2 次作答（共 2 次）, not "第 2 次作答 / 2" (English: "Attempt 2 of 2")."""
    live, _, ids = school
    zh = {"Accept-Language": "zh-CN"}
    with httpx.Client(base_url=live.url, cookies=ids["cookies"]["teacher"], timeout=20) as http:
        results = http.get(f"/teach/quizzes/{ids['quiz_id']}", headers=zh).text
    assert "正确答案：鲸、蝙蝠" in results and "鲸, 蝙蝠" not in results
    with httpx.Client(base_url=live.url, cookies=ids["cookies"]["student"], timeout=20) as http:
        address = f"/me/quizzes/{ids['quiz_id']}/attempts/{ids['open_attempt_id']}"
        assert "第 2 次作答（共 2 次）" in http.get(address, headers=zh).text
        assert "Attempt 2 of 2" in http.get(address, headers={"Accept-Language": "en"}).text
