"""The students' sign-in over real HTTP: class → name → PIN keypad without JavaScript → My space; escaping,
languages, throttling, and roster upload errors shown with their places."""

from __future__ import annotations

import re
import time

import httpx

from appliance.services.people import access as people, class_roster
from appliance.services.people.access import CONSOLE
from tests.roster_data import two_classes
from tests.web.people_clients import csrf, hidden_values, role_clients

HOSTILE = '<script>alert("x")</script>'


def _typed(html: str) -> str:
    return re.search(r'name="pin" value="([^"]*)"', html).group(1)


def test_learn_keypad_flow_without_javascript(kit, client):
    ids = two_classes(kit)
    class_id, student_id = ids["a"]["class"], ids["a"]["students"][0]
    pin = ids["a"]["pins"][student_id]
    classes = client.get("/learn")
    assert f'href="/learn/{class_id}"' in classes.text and classes.headers["cache-control"] == "no-store"
    names = client.get(f"/learn/{class_id}")
    assert f'href="/learn/{class_id}/{student_id}"' in names.text and "Zhou Bo" not in names.text
    assert client.get(f"/learn/{class_id}/{student_id}").status_code == 200
    typed = ""
    for key in pin[:2] + "9":
        page = client.post(f"/learn/{class_id}/{student_id}", data={"csrf": csrf(client), "pin": typed, "key": key})
        assert page.status_code == 200
        typed = _typed(page.text)
    assert typed == pin[:2] + "9"
    typed = _typed(
        client.post(f"/learn/{class_id}/{student_id}", data={"csrf": csrf(client), "pin": typed, "key": "back"}).text
    )
    for key in pin[2:]:
        typed = _typed(
            client.post(f"/learn/{class_id}/{student_id}", data={"csrf": csrf(client), "pin": typed, "key": key}).text
        )
    signed_in = client.post(f"/learn/{class_id}/{student_id}", data={"csrf": csrf(client), "pin": typed, "key": "go"})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/me"
    cookie = signed_in.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "max-age=7200" in cookie
    me = client.get("/me")
    assert me.status_code == 200 and "Wang Fang" in me.text and "Class A" in me.text


def test_learn_wrong_pin_then_throttled_in_chinese(kit, client):
    ids = two_classes(kit)
    class_id, student_id = ids["a"]["class"], ids["a"]["students"][1]
    headers = {"Accept-Language": "zh-CN,zh;q=0.9"}
    for _ in range(5):
        wrong = client.post(
            f"/learn/{class_id}/{student_id}", headers=headers, data={"csrf": csrf(client), "pin": "0000", "key": "go"}
        )
        assert wrong.status_code == 401 and "PIN 码不对" in wrong.text
    throttled = client.post(
        f"/learn/{class_id}/{student_id}",
        headers=headers,
        data={"csrf": csrf(client), "pin": ids["a"]["pins"][student_id], "key": "go"},
    )
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
    assert "tpkit_session" not in throttled.cookies


def test_learn_a_student_in_another_class_is_not_offered(kit, client):
    ids = two_classes(kit)
    other = ids["b"]["students"][0]
    response = client.post(
        f"/learn/{ids['a']['class']}/{other}", data={"csrf": csrf(client), "pin": ids["b"]["pins"][other], "key": "go"}
    )
    assert response.status_code == 404 and "tpkit_session" not in response.cookies


def test_learn_script_in_names_is_escaped_everywhere(kit, live):
    clients, ids = role_clients(kit, live.url)
    try:
        teacher = kit.people.person(ids["a"]["teacher"])
        csv = f'name,student_number,pin\n"{HOSTILE}",{HOSTILE[:20]},8642\n'.encode()
        result = class_roster.import_file(kit.people, teacher, csv, "x.csv", f"Class {HOSTILE}")
        people.create_teacher(kit.people, CONSOLE, HOSTILE, "t-hostile", "a long password")
        student_id = kit.people.students_of(result.class_id)[0]["id"]
        pages = [
            clients["anonymous"].get("/learn"),
            clients["anonymous"].get(f"/learn/{result.class_id}"),
            clients["anonymous"].get(f"/learn/{result.class_id}/{student_id}"),
            clients["teacher_a"].get("/teach"),
            clients["teacher_a"].get(f"/teach/{result.class_id}"),
            clients["teacher_a"].post(
                f"/teach/{result.class_id}/pins",
                data={"csrf": csrf(clients["teacher_a"]), "student": str(student_id), "confirm": "yes"},
            ),
            clients["admin"].get("/admin/people"),
        ]
        for page in pages:
            assert page.status_code == 200, page.url
            assert "<script>alert" not in page.text, page.url
            assert "&lt;script&gt;" in page.text, page.url
    finally:
        for http in clients.values():
            http.close()


def test_learn_upload_errors_list_file_line_and_column(kit, live):
    clients, _ = role_clients(kit, live.url)
    try:
        teacher = clients["teacher_a"]
        bad = "name,pin\nAnna,12\n".encode("gbk")
        response = teacher.post(
            "/teach/import",
            data={"csrf": csrf(teacher), "class_name": "Class A"},
            files={"file": ("3a.csv", bad, "text/csv")},
        )
        assert response.status_code == 400
        assert "Row 2 · column 2" in response.text and "The PIN 12 must be 4 to 6 digits." in response.text
        assert 'value="Class A"' in response.text  # the form again, with the class typed
        good = "姓名,学号\n张伟,G1\n".encode("gbk")
        sheet = teacher.post(
            "/teach/import",
            data={"csrf": csrf(teacher), "class_name": "Class A"},
            files={"file": ("3a.csv", good, "text/csv")},
        )
        assert sheet.status_code == 200 and "张伟" in sheet.text and re.search(r'class="pin">\d{4}<', sheet.text)
        huge = teacher.post(
            "/teach/import",
            data={"csrf": csrf(teacher), "class_name": "Class A"},
            files={"file": ("big.csv", b"name\n" + b"x" * (21 * 2**20), "text/csv")},
        )
        assert huge.status_code == 413
    finally:
        for http in clients.values():
            http.close()


def test_learn_teacher_must_change_first_password(kit, live):
    people.create_teacher(kit.people, CONSOLE, "New Teacher", "t-new", "first password 1")
    with httpx.Client(base_url=live.url, follow_redirects=False, timeout=20) as http:
        signed = http.post(
            "/admin/signin", data={"csrf": csrf(http), "username": "t-new", "password": "first password 1"}
        )
        assert signed.headers["location"] == "/teach"
        first = http.get("/teach")
        assert "Choose your own password" in first.text and 'action="/admin/password"' in first.text
        assert http.get("/teach/1").status_code == 403
        token = hidden_values(first.text, "csrf")[0]
        data = {"csrf": token, "password": "my own password"}
        assert http.post("/admin/password", data=data | {"current": "nope"}).status_code == 401
        assert http.post("/admin/password", data=data | {"current": "first password 1"}).status_code == 303
        assert "Create a class" in http.get("/teach").text


def test_learn_locked_pin_shows_on_class_page_and_a_new_pin_opens(kit, live):
    clients, ids = role_clients(kit, live.url)
    try:
        class_id, student_id = ids["a"]["class"], ids["a"]["students"][1]
        now = time.time()
        for n in range(10):  # ten wrong PINs this week, as the sign-in page records them
            kit.signin_failures.add([f"pin:{student_id}"], now - 3600 + n, now - 7 * 86400)
        child = clients["anonymous"]
        locked = child.post(
            f"/learn/{class_id}/{student_id}",
            data={"csrf": csrf(child), "pin": ids["a"]["pins"][student_id], "key": "go"},
        )
        assert locked.status_code == 423 and "Ask your teacher for a new one" in locked.text
        teacher = clients["teacher_a"]
        roster = teacher.get(f"/teach/{class_id}").text
        assert roster.count("locked: give a new PIN") == 1
        asked = teacher.post(f"/teach/{class_id}/pins", data={"csrf": csrf(teacher), "student": str(student_id)})
        assert asked.status_code == 200 and 'name="confirm" value="yes"' in asked.text  # one tap resets nothing
        assert not re.search(r'class="pin">\d', asked.text)
        sheet = teacher.post(
            f"/teach/{class_id}/pins", data={"csrf": csrf(teacher), "student": str(student_id), "confirm": "yes"}
        )
        new_pin = re.search(r'class="pin">(\d{4})<', sheet.text).group(1)
        opened = child.post(f"/learn/{class_id}/{student_id}", data={"csrf": csrf(child), "pin": new_pin, "key": "go"})
        assert opened.status_code == 303
    finally:
        for http in clients.values():
            http.close()


def test_learn_roster_errors_as_json_carry_each_place(kit, live):
    clients, _ = role_clients(kit, live.url)
    try:
        admin = clients["admin"]
        response = admin.post(
            "/teach/import",
            headers={"Accept": "application/json"},
            data={"csrf": csrf(admin), "class_name": "X"},
            files={"file": ("x.csv", b"name,pin\nAnna,12\n", "text/csv")},
        )
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "roster.invalid"
        assert body["problems"] == [
            {"file": "x.csv", "line": 2, "column": 2, "message": "the PIN '12' must be 4 to 6 digits"}
        ]
    finally:
        for http in clients.values():
            http.close()
