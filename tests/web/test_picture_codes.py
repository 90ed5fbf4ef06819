"""Picture codes over real HTTP: a teacher switches a class to pictures (roles checked request by request), prints
the codes, a child signs in by tapping three pictures with plain form posts; hashed with argon2id; the PIN
throttle applies per account, device and class."""

from __future__ import annotations

import re

import httpx

from appliance.services.people import auth, picture_codes
from tests.web.people_clients import csrf


def _switch(http, class_id: int, kind: str):
    return http.post(f"/teach/{class_id}/signin-kind", data={"csrf": csrf(http), "kind": kind})


def _codes_from_sheet(html: str) -> dict[str, list[int]]:
    """{student name: picture numbers} from the sign-in cards."""
    found = {}
    for name, cell in re.findall(r'<p class="card-name">([^<]+)</p>\n<p class="card-pictures">(.*?)</p>', html):
        pictures = re.findall(r'src="/static/pictures/(\w+)\.svg"', cell)
        found[name] = [picture_codes.PICTURES.index(p) for p in pictures]
    return found


def _tap(http, class_id: int, student_id: int, numbers: list[int]) -> httpx.Response:
    """Tap pictures one by one as a browser without JavaScript does: each tap posts what was picked so far."""
    typed, response = "", None
    for n in numbers:
        response = http.post(
            f"/learn/{class_id}/{student_id}", data={"csrf": csrf(http), "pin": typed, "key": f"pic-{n}"}
        )
        found = re.search(r'name="pin" value="([^"]*)"', response.text) if response.status_code == 200 else None
        typed = found[1] if found else ""
    return response


def test_picture_codes_switch_print_and_sign_in(kit, roles, live):
    clients, ids = roles
    teacher, a = clients["teacher_a"], ids["a"]
    for name, status in (("anonymous", 401), ("student_a", 403), ("teacher_b", 404)):
        assert _switch(clients[name], a["class"], "pictures").status_code == status, name
    assert teacher.post(f"/teach/{a['class']}/signin-kind", data={"csrf": "old", "kind": "pictures"}).status_code == 403
    assert _switch(teacher, a["class"], "drawings").status_code == 400
    assert kit.people.class_by_id(a["class"])["signin_kind"] == "pin"
    assert _switch(teacher, a["class"], "pictures").status_code == 303
    roster = teacher.get(f"/teach/{a['class']}").text
    assert "three pictures" in roster and "Give picture codes" in roster
    assert all(not s["has_credential"] for s in kit.people.students_of(a["class"]))  # old PINs no longer work
    sheet = teacher.post(f"/teach/{a['class']}/pins", data={"csrf": csrf(teacher)})
    codes = _codes_from_sheet(sheet.text)
    assert sheet.status_code == 200 and len(codes) == 2 and all(len(set(c)) == 3 for c in codes.values())
    student = kit.people.students_of(a["class"])[0]
    assert auth.is_argon2id_hash(kit.people.credential(student["id"]))
    child = httpx.Client(base_url=live.url, follow_redirects=False, timeout=20)
    grid = child.get(f"/learn/{a['class']}/{student['id']}")
    assert grid.status_code == 200 and grid.text.count('name="key" value="pic-') == 12
    assert 'alt="sun"' in grid.text and 'class="pin"' not in grid.text
    code = codes[student["display_name"]]
    halfway = _tap(child, a["class"], student["id"], code[:2])
    assert halfway.status_code == 200 and halfway.text.count('class="dot on"') == 2
    back = child.post(
        f"/learn/{a['class']}/{student['id']}",
        data={"csrf": csrf(child), "pin": picture_codes.joined(code[:2]), "key": "back"},
    )
    assert back.text.count('class="dot on"') == 1
    signed_in = _tap(child, a["class"], student["id"], code)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/me"
    assert student["display_name"] in child.get("/me").text
    zh = httpx.get(f"{live.url}/learn/{a['class']}/{student['id']}", headers={"Accept-Language": "zh-CN"})
    assert "按顺序点你的 3 张图片" in zh.text and 'alt="太阳"' in zh.text
    child.close()


def test_picture_codes_wrong_taps_throttled_like_pins(kit, roles, live):
    clients, ids = roles
    teacher, a = clients["teacher_a"], ids["a"]
    _switch(teacher, a["class"], "pictures")
    student = kit.people.students_of(a["class"])[0]
    codes = _codes_from_sheet(teacher.post(f"/teach/{a['class']}/pins", data={"csrf": csrf(teacher)}).text)
    code = codes[student["display_name"]]
    wrong = [n for n in range(12) if n not in code][:3]
    child = httpx.Client(base_url=live.url, follow_redirects=False, timeout=20)
    digits = child.post(f"/learn/{a['class']}/{student['id']}", data={"csrf": csrf(child), "pin": "2468", "key": "go"})
    assert digits.status_code == 200 and 'class="dot on"' not in digits.text  # a PIN is no code here
    for _ in range(auth.PIN_THROTTLE.free):
        missed = _tap(child, a["class"], student["id"], wrong)
        assert missed.status_code == 401 and "Those pictures are not right" in missed.text
    throttled = _tap(child, a["class"], student["id"], code)
    assert throttled.status_code == 429 and "Retry-After" in throttled.headers
    # the class's other student (same loopback client: 5 misses stay under its free 10) is not slowed by it
    other = kit.people.students_of(a["class"])[1]
    fresh = httpx.Client(base_url=live.url, follow_redirects=False, timeout=20)
    assert _tap(fresh, a["class"], other["id"], codes[other["display_name"]]).status_code == 303
    child.close()
    fresh.close()


def test_picture_codes_switch_back_to_pins(kit, roles):
    clients, ids = roles
    teacher, a = clients["teacher_a"], ids["a"]
    _switch(teacher, a["class"], "pictures")
    assert _switch(teacher, a["class"], "pictures").status_code == 303  # no change: nothing cleared again
    _switch(teacher, a["class"], "pin")
    sheet = teacher.post(f"/teach/{a['class']}/pins", data={"csrf": csrf(teacher)}).text
    assert re.findall(r'class="pin">(\d{4,6})<', sheet) and "/static/pictures/" not in sheet
