"""The sign-in cards over real HTTP (real kit, uvicorn on loopback, sessions and CSRF): a teacher prints them again
and gets the same PINs or picture codes; a new PIN for one child needs a confirmation; a child given a PIN before the
kit kept them gets "not kept" and a button; the QR code on every card is the class's address. Who may open the page
at all is in tests/web/test_people_access.py (only the class's teachers and administrators)."""

from __future__ import annotations

import html
import re

import pytest
import segno

from appliance.config import load_settings
from appliance.services.people import auth, picture_codes
from tests.web.people_clients import csrf, student_client

WIFI = "三年级教室"


@pytest.fixture
def settings(tmp_path, content_dir):
    """The conftest's settings, with the classroom Wi-Fi's name that first boot writes."""
    return load_settings(
        environ={},
        overrides={
            "data_dir": str(tmp_path / "data"),
            "content_dir": str(content_dir),
            "mdns_enabled": False,
            "wifi_name": WIFI,
        },
    )


def cards_of(page: str) -> dict[str, str | None]:
    """{child's name: PIN on the card, or None when the card says it was not kept}."""
    found = {}
    for card in re.findall(r'<section class="card">(.*?)</section>', page, re.S):
        name = html.unescape(re.search(r'<p class="card-name">([^<]+)</p>', card).group(1))
        pin = re.search(r'class="pin">(\d+)<', card)
        found[name] = pin.group(1) if pin else None
    return found


def qr_matrix(svg: str) -> list[list[bool]]:
    """The modules of one of segno's inline SVGs (a path of `h` runs and `m` moves), quiet zone removed."""
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    grid = [[False] * size for _ in range(size)]
    x = y = 0.0
    for op, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", re.search(r' d="([^"]+)"', svg).group(1)):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            for column in range(int(x), int(x + float(a))):
                grid[int(y)][column] = True
            x += float(a)
    border = 2
    return [row[border : size - border] for row in grid[border : size - border]]


def test_cards_print_again_with_the_same_pins(kit, live, roles):
    clients, ids = roles
    teacher, a = clients["teacher_a"], ids["a"]
    names = {s["id"]: s["display_name"] for s in kit.people.students_of(a["class"])}
    expected = {names[sid]: pin for sid, pin in a["pins"].items()}
    first = teacher.get(f"/teach/{a['class']}/cards")
    assert first.status_code == 200 and cards_of(first.text) == expected
    assert "tpkit" not in re.sub(r"<(head|header|footer).*?</\1>", "", first.text, flags=re.S).lower()
    assert WIFI in first.text and f"{live.url}/learn/{a['class']}" in first.text
    assert cards_of(clients["admin"].get(f"/teach/{a['class']}/cards").text) == expected
    # kept beside the hash: sign-in still checks the argon2 hash
    sid = a["students"][0]
    assert auth.is_argon2id_hash(kit.people.credential(sid)) and kit.people.person(sid)["printed_pin"] == a["pins"][sid]
    assert cards_of(teacher.get(f"/teach/{a['class']}/cards").text) == expected  # and again: nothing changed
    student_client(live.url, a["class"], sid, a["pins"][sid]).close()


def test_one_tap_asks_first_and_the_new_pin_is_on_the_cards(kit, live, roles):
    clients, ids = roles
    teacher, a = clients["teacher_a"], ids["a"]
    sid, other = a["students"]
    name = kit.people.person(sid)["display_name"]
    asked = teacher.post(f"/teach/{a['class']}/pins", data={"csrf": csrf(teacher), "student": str(sid)})
    assert asked.status_code == 200 and 'value="yes"' in asked.text and name in asked.text
    assert kit.people.person(sid)["printed_pin"] == a["pins"][sid]  # nothing reset yet
    given = teacher.post(
        f"/teach/{a['class']}/pins", data={"csrf": csrf(teacher), "student": str(sid), "confirm": "yes"}
    )
    new_pin = cards_of(given.text)[name]
    assert list(cards_of(given.text)) == [name] and new_pin != a["pins"][sid]
    again = cards_of(teacher.get(f"/teach/{a['class']}/cards").text)
    assert again[name] == new_pin and again[kit.people.person(other)["display_name"]] == a["pins"][other]
    student_client(live.url, a["class"], sid, new_pin).close()


def test_a_child_whose_pin_was_not_kept_gets_a_button(kit, roles):
    clients, ids = roles
    teacher, a = clients["teacher_a"], ids["a"]
    sid = a["students"][0]
    with kit.people.transaction() as conn:  # as a PIN given before the kit kept them: the hash only
        kit.people.update_person(conn, sid, password_hash=auth.hash_pin("9753"))
    page = teacher.get(f"/teach/{a['class']}/cards").text
    assert cards_of(page)[kit.people.person(sid)["display_name"]] is None
    assert "PIN not kept — print a new one for this child" in page
    assert re.search(rf'name="student" value="{sid}"><button', page)
    zh = teacher.get(f"/teach/{a['class']}/cards", headers={"Accept-Language": "zh-CN"}).text
    assert "没有保存 PIN 码" in zh and "登录卡" in zh


def test_the_qr_code_is_the_class_address(kit, live, roles):
    clients, ids = roles
    page = clients["teacher_a"].get(f"/teach/{ids['a']['class']}/cards").text
    address = f"{live.url}/learn/{ids['a']['class']}"
    svgs = set(re.findall(r"<svg .*?</svg>", page, re.S))
    assert len(svgs) == 1  # the same code on every card
    code = segno.make_qr(address, error="m", boost_error=False)
    assert qr_matrix(svgs.pop()) == [[bool(cell) for cell in row] for row in code.matrix]
    assert code.designator.endswith("-M")  # error correction M: a smudged card still scans


def test_picture_codes_print_again_as_pictures(kit, roles):
    clients, ids = roles
    teacher, a = clients["teacher_a"], ids["a"]
    switched = teacher.post(f"/teach/{a['class']}/signin-kind", data={"csrf": csrf(teacher), "kind": "pictures"})
    assert switched.status_code == 303
    assert set(cards_of(teacher.get(f"/teach/{a['class']}/cards").text).values()) == {None}  # old PINs cleared
    teacher.post(f"/teach/{a['class']}/pins", data={"csrf": csrf(teacher)})
    page = teacher.get(f"/teach/{a['class']}/cards").text
    pictures = re.findall(r'<p class="card-pictures">(.*?)</p>', page)
    assert len(pictures) == 2 and 'class="pin"' not in page
    for student in kit.people.students_of(a["class"]):
        shown = re.findall(
            r'src="/static/pictures/(\w+)\.svg"', pictures[[*cards_of(page)].index(student["display_name"])]
        )
        assert shown == picture_codes.names(student["printed_pin"])
    assert teacher.get(f"/teach/{a['class']}/cards").text == page  # printed again: the same codes


def test_old_pins_are_said_to_stop_working_only_when_one_was_replaced(kit, roles):
    """The cards after a class's first import, and after "give codes" to a class whose codes were cleared, replace
    nothing: no sentence about old PINs; a new PIN for one child who had one says that child's old one is gone."""
    clients, ids = roles
    teacher, a = clients["teacher_a"], ids["a"]
    gone = {"zh": "这个孩子原来的密码已经失效。", "en": "The child's old one no longer works."}
    roster = "姓名\n孙丽\n周强\n".encode()
    for lang in ("zh", "en"):
        sent = {"csrf": csrf(teacher), "class_name": f"三年级三班 {lang}"}
        imported = teacher.post(f"/teach/import?lang={lang}", data=sent, files={"file": ("3c.csv", roster, "text/csv")})
        assert imported.status_code == 200 and len(cards_of(imported.text)) == 2
        assert gone[lang] not in html.unescape(imported.text)
    assert "These cards are for the children just given a PIN or picture code." in imported.text
    switched = teacher.post(f"/teach/{a['class']}/signin-kind", data={"csrf": csrf(teacher), "kind": "pictures"})
    assert switched.status_code == 303  # the old PINs cleared: "give codes" replaces none
    given = teacher.post(f"/teach/{a['class']}/pins?lang=zh", data={"csrf": csrf(teacher)})
    assert "下面是刚生成 PIN 码或图片密码的孩子的卡片。" in given.text and gone["zh"] not in given.text
    for lang in ("zh", "en"):
        one = {"csrf": csrf(teacher), "student": str(a["students"][0]), "confirm": "yes"}
        replaced = teacher.post(f"/teach/{a['class']}/pins?lang={lang}", data=one)
        assert replaced.status_code == 200 and gone[lang] in html.unescape(replaced.text)
