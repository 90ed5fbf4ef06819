"""Children's names in the order a Chinese teacher expects on every page and file that lists them (issue 16,
defect 4): by pinyin in a class without 学号, by 学号 (2 before 10) in a class with them; the children's name page
with a letter bar that works without JavaScript at 360 px in Chinese. TPKIT_SCREENSHOTS=1 saves the docs' PNG."""

from __future__ import annotations

import csv
import io
import re

import httpx
import pytest

from appliance.services.people import class_roster
from appliance.services.people.access import CONSOLE
from appliance.web.app import create_app
from tests.conftest import LiveServer
from tests.web.browsers import PHONE_WIDTH_PX, browser, phone, screenshot, scroll_width  # noqa: F401
from tests.web.people_clients import TEACHER_PASSWORD, classroom, staff_client

# A real class as its list came: in code-point order these are 于娜, 何强, 冯刚, 单丽, 吕明, 张伟, 曾晓…
ROSTER = [
    "于娜",
    "何强",
    "冯刚",
    "张伟",
    "曾晓",
    "单丽",
    "吕明",
    "Li Lei",
    "王芳",
    "陈静",
    "安琪",
    "欧阳娜娜",
    "黎明",
    "孙悦",
]
BY_PINYIN = [
    "安琪",
    "陈静",
    "冯刚",
    "何强",
    "Li Lei",
    "黎明",
    "吕明",
    "欧阳娜娜",
    "单丽",
    "孙悦",
    "王芳",
    "于娜",
    "曾晓",
    "张伟",
]
NUMBERED = [("于娜", "10"), ("何强", "2"), ("冯刚", "1"), ("曾晓", "21"), ("单丽", "3")]
BY_NUMBER = ["冯刚", "何强", "单丽", "于娜", "曾晓"]


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    """A kit with a class of 14 without 学号 (三年级一班) and one of 5 with (三年级二班), both li.wei's."""
    root = tmp_path_factory.mktemp("names-kit")
    kit, _, by_name = classroom(root, "name\n" + "".join(f"{name}\n" for name in ROSTER), "三年级一班")
    numbered = "学号,姓名\n" + "".join(f"{number},{name}\n" for name, number in NUMBERED)
    by_number = class_roster.import_file(kit.people, CONSOLE, numbered.encode(), "3b.csv", "三年级二班", "li.wei")
    with LiveServer(create_app(kit, watch_library=False)) as server:
        yield server, by_name.class_id, by_number.class_id


@pytest.fixture(scope="module")
def teacher(school):
    http = staff_client(school[0].url, "li.wei", TEACHER_PASSWORD)
    yield http
    http.close()


def _links(html: str, class_id: int) -> list[str]:
    return re.findall(rf'href="/learn/{class_id}/\d+">([^<]+)</a>', html)


def test_the_childrens_name_page_by_pinyin_and_by_student_number(school):
    server, by_name, by_number = school
    with httpx.Client(base_url=server.url) as http:
        assert _links(http.get(f"/learn/{by_name}").text, by_name) == BY_PINYIN
        numbered = http.get(f"/learn/{by_number}").text
        assert _links(numbered, by_number) == BY_NUMBER
        assert 'class="letters"' not in numbered and ">2<" not in numbered  # the numbers stay private there


def test_the_teachers_pages_and_the_overview_csv_in_class_order(school, teacher):
    _, by_name, by_number = school
    page = teacher.get(f"/teach/{by_name}").text
    assert re.findall(r'<td><a href="/teach/\d+/students/\d+"[^>]*>([^<]+)</a>', page) == BY_PINYIN  # the roster
    assert re.findall(r'<tr class="(?:present|absent)"><td>([^<]+)</td>', page) == BY_PINYIN  # who came today
    overview = teacher.get(f"/teach/{by_name}/overview").text
    assert re.findall(r'/summary">([^<]+)</a>', overview) == BY_PINYIN
    new_lesson = teacher.get(f"/teach/{by_number}/lessons/new").text
    assert re.findall(r'name="students" value="\d+"> ([^<]+)</label>', new_lesson) == BY_NUMBER
    for class_id, expected in ((by_name, BY_PINYIN), (by_number, BY_NUMBER)):
        rows = list(csv.reader(io.StringIO(teacher.get(f"/teach/{class_id}/overview.csv").text.lstrip("\ufeff"))))
        assert [row[0] for row in rows[1:]] == expected


@pytest.fixture
def phone_zh(browser, school):  # noqa: F811
    """A phone at 360 px in Chinese with JavaScript off, as an old phone in a classroom."""
    context = phone(browser, school[0], locale="zh-CN", java_script_enabled=False)
    yield context.new_page()
    context.close()


@pytest.mark.browser
def test_the_letter_bar_jumps_without_javascript_at_phone_width_in_chinese(phone_zh, school):
    page, by_name = phone_zh, school[1]
    page.goto(f"/learn/{by_name}")
    letters = page.locator(".letters a")
    assert letters.all_inner_texts() == ["A", "C", "F", "H", "L", "O", "S", "W", "Y", "Z"]
    assert page.locator(".names a").all_inner_texts() == BY_PINYIN
    box = letters.first.bounding_box()
    assert box and box["width"] >= 40 and box["height"] >= 40  # a child's finger, not a 13-px link
    assert scroll_width(page) <= PHONE_WIDTH_PX
    screenshot(page, "learn-names-letters-zh.png")
    page.screenshot(path="/tmp/names-order-letters-zh.png", full_page=True)
    letters.filter(has_text="Z").click()
    assert page.url.endswith(f"#{page.locator('.names li', has_text='曾晓').get_attribute('id')}")
    zeng = page.locator(".names a", has_text="曾晓").bounding_box()
    assert zeng and 0 <= zeng["y"] < 740  # on screen after the jump
    page.screenshot(path="/tmp/names-order-letters-zh-jumped.png")
